"""Serve the static front end (``web/``) locally, as the site's CDN does on AWS.

Two things are not plain files: ``/config.js``, generated from the catalog and the settings by
``chalicelib.site_config`` (it tells the page where the API is and every product fact it shows; the deploy writes
the same file next to the site), and the security headers of ``chalicelib.site_headers`` on every response (the
CloudFront response-headers policy sends the same ones on AWS). ``/docs`` is ``docs.html`` (the API reference), and
``/vendor/swagger-ui/`` serves the Swagger UI files that ``make web-vendor`` installs from npm into
``web-vendor/node_modules`` (never committed); the deploy uploads the same files under the same paths.

    python scripts/webserver.py --port 8080 --api http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from chalicelib import site_config, site_headers  # noqa: E402
from chalicelib.settings import get_settings  # noqa: E402

WEB_ROOT = ROOT / "web"
SWAGGER_UI = ROOT / "web-vendor" / "node_modules" / "swagger-ui-dist"
# Only what the docs page loads; nothing else from node_modules is served.
VENDOR_FILES = {
    "/vendor/swagger-ui/swagger-ui-bundle.js": (SWAGGER_UI / "swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "/vendor/swagger-ui/swagger-ui.css": (SWAGGER_UI / "swagger-ui.css", "text/css; charset=utf-8"),
}


class SiteHandler(SimpleHTTPRequestHandler):
    api_base = ""
    https = False

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path in {"/docs", "/docs/"}:
            self.path = "/docs.html"
        elif path in VENDOR_FILES:
            self._send_file(*VENDOR_FILES[path])
            return
        if path == "/config.js":
            body = site_config.config_js(get_settings(), api_base=self.api_base).encode()
            self.send_response(200)
            self.send_header("Content-Type", site_config.CONTENT_TYPE)
            self.send_header("Cache-Control", site_config.CACHE_CONTROL)
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
        for name, value in site_headers.security_headers(https=self.https).items():
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        print(f"web {self.address_string()} {format % args}", flush=True)


def make_server(host: str, port: int, api_base: str) -> ThreadingHTTPServer:
    handler = type("Handler", (SiteHandler,), {"api_base": api_base})
    return ThreadingHTTPServer((host, port), partial(handler, directory=str(WEB_ROOT)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    args = parser.parse_args()
    server = make_server(args.host, args.port, args.api)
    print(f"web front end on http://{args.host}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
