"""The local edge: one origin in front of the site, the API and the emulated bucket, as CloudFront is on AWS.

A stand-in, like the worker is for the SQS event source. It applies the distribution's path rules from the same
table (``chalicelib.delivery.BEHAVIOURS``), so a path that reaches the API here reaches it there:

- ``/api/*``       proxied to the API, uncached, method, headers, query and body as sent;
- ``/i/*``         the record decides (``chalicelib/edge_resolver.py``, as the CDN's origin-request function
                   does): short id -> record -> ready and public/unlisted -> the key of that rendition, read from
                   the bucket, never through the API; the object's own Content-Type, Cache-Control,
                   Content-Disposition and ETag pass through, plus ``nosniff`` and ``Cross-Origin-Resource-Policy``
                   (the images response headers policy); ``Last-Modified`` never (a shared object's date would
                   tell when someone else first uploaded the same bytes); ``If-None-Match`` answers 304; anything
                   else is a bare 404;
- ``/{short_id}``  proxied to the API's share page;
- anything else    proxied to the site's origin (``scripts/webserver.py``, the site bucket's stand-in).
Site pages and share pages get the site's security headers (the site headers policy). Nothing is cached here,
so an invalidation is a no-op locally.

    python scripts/edge.py --port 8000 --api http://127.0.0.1:8001 --site http://127.0.0.1:8002
"""

from __future__ import annotations

import argparse
import http.client
import logging
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import delivery, edge_resolver, site_headers
from chalicelib.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger("edge")

# Hop-by-hop headers (RFC 9110 7.6.1) are the connection's, not the message's: never forwarded either way.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding"}
    | {"upgrade", "proxy-connection"}
)
IMAGE_PATH = edge_resolver.IMAGE_PATH  # the one path shape (dot segments etc. never become keys)
PROXY_TIMEOUT_SECONDS = 60


class Edge:
    """Where each target lives."""

    def __init__(
        self,
        api: str,
        site: str,
        bucket: str,
        s3: S3Client | None = None,
        *,
        table: str = "",
        lookup: edge_resolver.Lookup | None = None,
    ) -> None:
        self.api = urlsplit(api)
        self.site = urlsplit(site)
        self.bucket = bucket
        self.table = table
        self._s3 = s3
        self._lookup = lookup

    @property
    def lookup(self) -> edge_resolver.Lookup:
        if self._lookup is None:
            self._lookup = edge_resolver.DynamoLookup(
                self.table, boto3.client("dynamodb", config=Config(retries={"max_attempts": 2}))
            )
        return self._lookup

    @property
    def s3(self) -> S3Client:
        if self._s3 is None:
            self._s3 = boto3.client("s3", config=Config(retries={"max_attempts": 2}, signature_version="s3v4"))
        return self._s3


class EdgeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "chitram-edge"
    edge: Edge

    # --- dispatch -------------------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        path = urlsplit(self.path).path
        target = delivery.route(path)
        if target == "images":
            self._image(path)
        elif target in ("api", "share"):
            self._proxy(self.edge.api, security_headers=target == "share", any_method=target == "api")
        else:
            self._proxy(self.edge.site, security_headers=True, any_method=False)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    # --- /i/*: the bucket's public prefix ---------------------------------------------------------------------

    def _image(self, path: str) -> None:
        if self.command not in ("GET", "HEAD"):
            self._plain(405, "Method not allowed\n", {"Allow": "GET, HEAD"})
            return
        try:
            key = edge_resolver.resolve(path, self.edge.lookup)
        except (BotoCoreError, ClientError):
            log.warning("metadata unreachable for %s", path)
            self._plain(502, "Bad gateway\n")
            return
        if key is None:
            self._plain(404, "Not found\n")
            return
        try:
            obj = self.edge.s3.get_object(Bucket=self.edge.bucket, Key=key)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in {"NoSuchKey", "404", "NotFound", "AccessDenied", "403"}:
                self._plain(404, "Not found\n")
            else:
                log.warning("bucket error %s for %s", code, key)
                self._plain(502, "Bad gateway\n")
            return
        except BotoCoreError:
            log.warning("bucket unreachable for %s", key)
            self._plain(502, "Bad gateway\n")
            return
        passed = {
            "Content-Type": obj.get("ContentType"),
            "Cache-Control": obj.get("CacheControl"),
            "Content-Disposition": obj.get("ContentDisposition"),
            "ETag": obj.get("ETag"),
        }
        headers = {name: str(value) for name, value in passed.items() if value}
        headers["Content-Disposition"] = edge_resolver.content_disposition(path) or headers.get(
            "Content-Disposition", ""
        )
        headers["X-Content-Type-Options"] = "nosniff"
        headers.update(delivery.IMAGE_EXTRA_HEADERS)
        headers["Access-Control-Allow-Origin"] = "*"
        body = obj["Body"]
        try:
            etag = headers.get("ETag")
            if etag and etag in {tag.strip() for tag in self.headers.get("If-None-Match", "").split(",")}:
                self._send(304, {k: v for k, v in headers.items() if k != "Content-Type"}, b"")
                return
            data = body.read()
        finally:
            body.close()
        headers["Content-Type"] = headers.get("Content-Type", "application/octet-stream")
        self._send(200, headers, data)

    # --- proxying -----------------------------------------------------------------------------------------------

    def _proxy(self, origin: Any, *, security_headers: bool, any_method: bool) -> None:
        if not any_method and self.command not in ("GET", "HEAD"):
            # CloudFront answers 403 for a method the behaviour does not allow.
            self._plain(403, "Method not allowed here\n")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "host"}
        headers["Host"] = origin.netloc
        headers["X-Forwarded-Host"] = self.headers.get("Host", "")
        headers["X-Forwarded-Proto"] = "http"
        connection = http.client.HTTPConnection(origin.hostname, origin.port, timeout=PROXY_TIMEOUT_SECONDS)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            answer = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP | {"content-length"}}
            status = response.status
        except OSError:
            log.warning("origin %s unreachable for %s %s", origin.netloc, self.command, self.path)
            self._plain(502, "Bad gateway: the origin is not answering\n")
            return
        finally:
            connection.close()
        if security_headers:
            answer = {k: v for k, v in answer.items() if k.lower() not in {h.lower() for h in SITE_HEADERS}}
            answer.update(SITE_HEADERS)
        self._send(status, answer, data)

    # --- writing ----------------------------------------------------------------------------------------------

    def _plain(self, status: int, text: str, extra: dict[str, str] | None = None) -> None:
        headers = {"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"}
        headers["Cache-Control"] = "no-store"
        self._send(status, {**headers, **(extra or {})}, text.encode())

    def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        target = delivery.route(urlsplit(self.path).path)
        print(f"edge {target} {format % args}", flush=True)


# The site headers policy's headers (HSTS only over HTTPS, which the local edge is not).
SITE_HEADERS = site_headers.security_headers(https=False)


def serve(host: str, port: int, edge: Edge) -> ThreadingHTTPServer:
    handler = type("Handler", (EdgeHandler,), {"edge": edge})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--api", required=True, help="the API's origin (chalice local)")
    parser.add_argument("--site", required=True, help="the site's origin (scripts/webserver.py)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s %(message)s")
    settings = Settings.from_env()
    edge = Edge(args.api, args.site, settings.bucket_name, table=settings.images_table)
    server = serve(args.host, args.port, edge)
    print(f"edge on http://{args.host}:{args.port} (api {args.api}, site {args.site})", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
