"""Run one fuzz target under atheris (coverage-guided, libFuzzer), seeded from the hostile corpus and fixtures.

    .venv/bin/python -m tests.fuzz.run TARGET [--seconds N] [--runs N]      # e.g. process, multipart
    make fuzz                                                               # every target, FUZZ_SECONDS each

The working corpus grows in ``build/fuzz/<target>/``; a crash is written to ``build/fuzz/crashes/<target>/``
and the run exits non-zero. Copy a crash into ``tests/fuzz/regressions/<target>/`` once fixed: the test suite
replays every file there.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "fuzz"


def seeds(target: str) -> list[bytes]:
    """Small valid and hostile inputs to start from (the fast, small files of the hostile corpus)."""
    if target in ("process", "scrubbers"):
        from scripts import hostile_corpus

        out = [f.data for f in hostile_corpus.corpus() if f.fast and len(f.data) <= 64 * 1024]
        out += [(ROOT / "tests" / "fixtures" / n).read_bytes() for n in ("Canon_40D.jpg", "BlueSquare.jpg")]
        return out
    if target == "multipart":
        body = (
            b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n\xff\xd8\xff\xd9\r\n--XyZ\r\n"
            b'Content-Disposition: form-data; name="visibility"\r\n\r\npublic\r\n--XyZ--\r\n'
        )
        return [b"multipart/form-data; boundary=XyZ\n" + body]
    from scripts import hostile_corpus

    names = list(hostile_corpus.filenames().values())
    return [
        b'{"filename": "a.jpg", "content_type": "image/jpeg", "size": 10, "visibility": "public"}',
        b'{"email": "a@b.co", "password": "x"}',
        *[json.dumps({"filename": n, "size": 10**30}).encode() for n in names],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--runs", type=int, default=-1, help="stop after this many executions (-1: no limit)")
    args, rest = parser.parse_known_args()

    import logging

    import atheris

    logging.disable(logging.CRITICAL)  # python-multipart logs every malformed boundary

    with atheris.instrument_imports(include=["chalicelib", "python_multipart", "PIL"]):
        from tests.fuzz.targets import TARGETS
    fn = TARGETS[args.target]

    corpus = BUILD / args.target
    corpus.mkdir(parents=True, exist_ok=True)
    if not any(corpus.iterdir()):  # first run: seed it (later runs start from what earlier ones found)
        for i, seed in enumerate(seeds(args.target)):
            (corpus / f"seed-{i:03d}").write_bytes(seed)
    crashes = BUILD / "crashes" / args.target
    crashes.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.argv[0],
        str(corpus),
        f"-max_total_time={args.seconds}",
        f"-runs={args.runs}",
        f"-artifact_prefix={crashes}/",
        "-max_len=262144",
        "-rss_limit_mb=2048",
        "-timeout=20",
        "-print_final_stats=1",
        *rest,
    ]
    atheris.Setup(argv, fn)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
