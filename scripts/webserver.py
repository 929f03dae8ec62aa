"""Serve the static front end (``web/``) locally, as the bucket's website does on AWS.

The one dynamic file is ``/config.js``: it tells the page where the API is (on AWS the deploy writes the same
file next to the site). ``/docs`` is ``docs.html`` (the API reference), and ``/vendor/swagger-ui/`` serves the
Swagger UI files that ``make web-vendor`` installs from npm into ``web-vendor/node_modules`` (never committed); the
deploy uploads the same files under the same paths.

    python scripts/webserver.py --port 8080 --api http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import json
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

WEB_ROOT = Path(__file__).resolve().parent.parent / "web"
SWAGGER_UI = Path(__file__).resolve().parent.parent / "web-vendor" / "node_modules" / "swagger-ui-dist"
# Only what the docs page loads; nothing else from node_modules is served.
VENDOR_FILES = {
    "/vendor/swagger-ui/swagger-ui-bundle.js": (SWAGGER_UI / "swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "/vendor/swagger-ui/swagger-ui.css": (SWAGGER_UI / "swagger-ui.css", "text/css; charset=utf-8"),
}


class SiteHandler(SimpleHTTPRequestHandler):
    api_base = ""

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path in {"/docs", "/docs/"}:
            self.path = "/docs.html"
        elif path in VENDOR_FILES:
            self._send_file(*VENDOR_FILES[path])
            return
        if path == "/config.js":
            body = f"export const API_BASE = {json.dumps(self.api_base)};\n".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def _send_file(self, file: Path, content_type: str) -> None:
        try:
            body = file.read_bytes()
        except OSError:
            self.send_error(404, "Not installed: run 'make web-vendor'")
            return
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "public, max-age=3600")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "same-origin")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        print(f"web {self.address_string()} {format % args}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    args = parser.parse_args()
    handler = type("Handler", (SiteHandler,), {"api_base": args.api})
    server = ThreadingHTTPServer((args.host, args.port), partial(handler, directory=str(WEB_ROOT)))
    print(f"web front end on http://{args.host}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
