"""Write the web front end's ``config.js`` for a deployment (the local web server generates it per request).

    python scripts/site_config.py --api-base https://abc.execute-api.us-east-1.amazonaws.com/api \\
        --out build/site/config.js

The facts come from the catalog and the settings (``chalicelib/site_config.py``): run it with the same upload
and page-size variables (``MAX_UPLOAD_BYTES``, ...) as the stage, or with none for the defaults the stage uses.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from chalicelib.settings import get_settings  # noqa: E402
from chalicelib.site_config import config_js  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--api-base", required=True, help="the API's base URL, as the browser reaches it")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site" / "config.js")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(config_js(get_settings(), api_base=args.api_base))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
