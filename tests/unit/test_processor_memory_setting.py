"""The processor's Lambda memory covers its measured worst case (docs/benchmarks.md, processor peak memory)."""

from __future__ import annotations

import json

from chalicelib.settings import Settings
from tests.conftest import ROOT

# docs/benchmarks.md: ~30 MiB runtime + the file (MAX_UPLOAD_BYTES) + ~11 MiB per megapixel of a full decode
# (HEIC, the costliest measured) at MAX_IMAGE_PIXELS.
RUNTIME_MIB = 30
DECODE_MIB_PER_MEGAPIXEL = 11


def worst_case_mib(settings: Settings) -> float:
    return RUNTIME_MIB + settings.max_upload_bytes / 2**20 + DECODE_MIB_PER_MEGAPIXEL * settings.max_image_pixels / 1e6


def test_processor_memory_setting_covers_the_largest_allowed_image_with_headroom() -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    defaults = Settings()
    assert round(worst_case_mib(defaults)) == 630
    for stage in ("dev", "prod"):
        memory = config["stages"][stage]["lambda_functions"]["handle_sqs"]["lambda_memory_size"]
        assert memory >= 1.5 * worst_case_mib(defaults), stage
