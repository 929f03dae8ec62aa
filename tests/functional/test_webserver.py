"""The local web server: the site's security headers on every response, and the generated config.js."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.client import HTTPMessage
from pathlib import Path

import pytest

from chalicelib import site_headers
from chalicelib.settings import get_settings
from chalicelib.site_config import CACHE_CONTROL, config_js
from scripts.webserver import make_server

API = "http://127.0.0.1:9999"


@pytest.fixture
def site() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, API)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def fetch(url: str) -> tuple[int, HTTPMessage, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.mark.parametrize("path", ["/", "/index.html", "/gallery.html", "/js/api.js", "/config.js", "/no-such-page"])
def test_every_response_carries_the_site_security_headers(site: str, path: str) -> None:
    _, headers, _ = fetch(site + path)
    for name, value in site_headers.security_headers(https=False).items():
        assert headers[name] == value, name
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Strict-Transport-Security"] is None  # plain HTTP: browsers would ignore it


def test_config_js_is_generated_from_the_catalog_and_settings(site: str) -> None:
    status, headers, body = fetch(site + "/config.js?v=1")
    assert status == 200
    assert headers["Content-Type"].startswith("text/javascript")
    assert headers["Cache-Control"] == CACHE_CONTROL
    assert body.decode() == config_js(get_settings(), api_base=API)


def test_hsts_only_over_https() -> None:
    assert "Strict-Transport-Security" not in site_headers.security_headers(https=False)
    hsts = site_headers.security_headers(https=True)["Strict-Transport-Security"]
    assert hsts == f"max-age={site_headers.HSTS_MAX_AGE_SECONDS}; includeSubDomains"


def test_the_cdn_policy_sends_the_same_headers() -> None:
    headers = site_headers.security_headers(https=True)
    config = site_headers.cloudfront_security_headers_config()
    assert config["ContentSecurityPolicy"]["ContentSecurityPolicy"] == headers["Content-Security-Policy"]
    assert config["FrameOptions"]["FrameOption"] == headers["X-Frame-Options"]
    assert config["ReferrerPolicy"]["ReferrerPolicy"] == headers["Referrer-Policy"]
    assert config["StrictTransportSecurity"]["AccessControlMaxAgeSec"] == site_headers.HSTS_MAX_AGE_SECONDS
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert config["ContentTypeOptions"] == {"Override": True}


def test_the_template_s_site_distribution_uses_that_policy() -> None:
    from infra.template import build

    resources = build()["Resources"]
    policy = resources["SiteSecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]
    assert policy["SecurityHeadersConfig"] == site_headers.cloudfront_security_headers_config()
    behaviour = resources["SiteDistribution"]["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "SiteSecurityHeaders"}


def test_the_deploy_writes_the_same_config_js(tmp_path: Path) -> None:
    from scripts.site_config import main

    out = tmp_path / "site" / "config.js"
    assert main(["--api-base", "https://api.example.com/api/", "--out", str(out)]) == 0
    assert out.read_text() == config_js(get_settings(), api_base="https://api.example.com/api")
