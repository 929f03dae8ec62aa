"""Acceptance: how a view reaches an image on ``make run``'s stack (the local edge, as CloudFront on AWS).

- A public image's direct URL and thumbnails are served from the bucket's public prefix with the immutable caching
  headers while the API receives no request for them (its access log is counted), and still after the API stops.
- Private: its /i/ URLs answer 404 with a bare body; public -> private stops serving, private -> public starts,
  delete stops; each is idempotent when repeated.
- A crawler's plain fetch of a share page finds OpenGraph/Twitter tags whose absolute image URL loads; oEmbed is
  valid JSON.
"""

from __future__ import annotations

import html.parser
import json
import time
from typing import Any

import pytest
import requests

from chalicelib import catalog, delivery
from chalicelib.imaging import SNIFF_BYTES, sniff
from scripts.stack import Stack, StackConfig
from tests.conftest import make_jpeg
from tests.integration.test_edge_http import CRAWLER, settle_api_log

pytestmark = pytest.mark.integration


class _Sniffed(dict[bytes, str]):
    """The format the magic bytes of a response name (the imaging package's sniffer)."""

    def __missing__(self, head: bytes) -> str:
        found = sniff(head)
        assert found, head
        return found


SNIFFED = _Sniffed()


class Meta(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "meta" and ("property" in values or "name" in values):
            self.tags[values.get("property") or values["name"]] = values.get("content", "")


def upload(base: str, token: str | None = None, **fields: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.post(
        f"{base}/api/v1/images/upload",
        files={"file": ("harbour.jpg", make_jpeg(800, 500), "image/jpeg")},
        data=fields,
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def sign_up(base: str) -> str:
    email = f"delivery-{time.monotonic_ns()}@example.com"
    response = requests.post(
        f"{base}/api/v1/auth/register", json={"email": email, "password": "correct horse battery"}, timeout=30
    )
    assert response.status_code == 201, response.text
    return str(response.json()["access_token"])


def image_urls(image: dict[str, Any]) -> list[str]:
    """The direct link, the thumbnails and every other encoding of each (``links.thumbnail_sources``)."""
    links = image["links"]
    sources = [url for by_format in links["thumbnail_sources"].values() for url in by_format.values()]
    assert len(sources) > len(links["thumbnails"])  # the companions (WebP, AVIF where encodable) are there
    return list(dict.fromkeys([links["direct"], *links["thumbnails"].values(), *sources]))


def assert_served(url: str) -> requests.Response:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, url
    extension = url.rsplit(".", 1)[1]
    real = catalog.FORMATS_BY_NAME[SNIFFED[response.content[:SNIFF_BYTES]]]  # what the bytes are
    assert response.headers["Content-Type"] == real.mime_type
    assert real.extension == extension
    assert response.headers["Cache-Control"] == delivery.IMMUTABLE_CACHE_CONTROL
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["ETag"]
    assert response.headers["Content-Disposition"].startswith("inline; filename=")
    assert response.headers["Content-Disposition"].endswith(f'.{extension}"')
    return response


def assert_not_served(url: str) -> None:
    response = requests.get(url, timeout=10)
    assert response.status_code in (403, 404), url
    assert not response.headers.get("Content-Type", "").startswith("image/")
    assert len(response.content) < 64  # a bare answer: no listing, no object, no error document


def test_public_image_views_never_reach_the_api(stack: Stack) -> None:
    image = upload(stack.url)
    short = image["short_id"]
    assert image["links"]["direct"] == f"{stack.url}/i/{short}.jpg"
    before = settle_api_log(stack)
    for url in image_urls(image):
        served = assert_served(url)
        again = requests.get(url, headers={"If-None-Match": served.headers["ETag"]}, timeout=10)
        assert again.status_code == 304
    assert settle_api_log(stack) == before, "an image view reached the API"


def test_visibility_flips_and_delete_at_the_edge_are_idempotent(stack: Stack) -> None:
    token = sign_up(stack.url)
    auth = {"Authorization": f"Bearer {token}"}
    image = upload(stack.url, token)
    urls = image_urls(image)
    page = image["links"]["page"]
    for url in urls:
        assert_served(url)

    def flip(visibility: str) -> None:
        for _ in range(2):  # a repeat (a retried request) changes nothing further
            response = requests.patch(
                f"{stack.url}/api/v1/images/{image['id']}", json={"visibility": visibility}, headers=auth, timeout=30
            )
            assert response.status_code == 200, response.text

    flip("private")
    for url in urls:
        assert_not_served(url)
    private_page = requests.get(page, timeout=10)
    assert private_page.status_code == 404
    assert "harbour.jpg" not in private_page.text
    owner = requests.get(f"{stack.url}/api/v1/images/{image['id']}", headers=auth, timeout=10).json()
    assert requests.get(owner["owner_links"]["file"], timeout=10).status_code == 200  # the owner's presigned link

    flip("public")
    for url in urls:
        assert_served(url)
    assert requests.get(page, timeout=10).status_code == 200

    flip("unlisted")
    for url in urls:
        assert_served(url)

    for expected in (204, 404):  # deleting again: already gone
        deleted = requests.delete(f"{stack.url}/api/v1/images/{image['id']}", headers=auth, timeout=30)
        assert deleted.status_code == expected
        for url in urls:
            assert_not_served(url)


def test_private_upload_is_never_on_the_edge(stack: Stack) -> None:
    token = sign_up(stack.url)
    image = upload(stack.url, token, visibility="private")
    assert set(image["links"]) == {"page"}
    renditions = [f"/{size}.{ext}" for size in (600, 150) for ext in ("jpg", "webp", "avif")]
    for path in (f"/i/{image['short_id']}.jpg", *(f"/i/{image['short_id']}{r}" for r in renditions)):
        assert_not_served(stack.url + path)


def test_a_crawler_finds_the_preview_tags_and_the_image_they_name_loads(stack: Stack) -> None:
    image = upload(stack.url)
    page = requests.get(image["links"]["page"], headers={"User-Agent": CRAWLER}, timeout=10)
    assert page.status_code == 200
    parser = Meta()
    parser.feed(page.text)
    tags = parser.tags
    assert tags["og:title"] == "harbour.jpg"
    assert tags["twitter:card"] == "summary_large_image"
    assert tags["og:image"].startswith(f"{stack.url}/i/")
    assert (tags["og:image:width"], tags["og:image:height"]) == ("600", "375")
    assert_served(tags["og:image"])
    oembed = requests.get(f"{stack.url}/api/v1/oembed", params={"url": image["links"]["page"]}, timeout=10)
    assert oembed.status_code == 200
    answer = oembed.json()
    assert (answer["version"], answer["type"]) == ("1.0", "photo")
    assert_served(answer["url"])


def test_images_are_still_served_after_the_api_stops(tmp_path: Any) -> None:
    """Our own stack (never the shared one): upload, stop the API process, fetch again through the edge."""
    config = StackConfig.ephemeral(run_dir=tmp_path, extra_env={"RATE_LIMIT_UPLOADS_PER_MINUTE": "0"})
    with Stack(config) as own:
        image = upload(own.url)
        for url in image_urls(image):
            assert_served(url)
        api = next(child for child in own.children if child.name == "api")
        api.stop()
        assert requests.get(f"{own.url}/api/v1/images", timeout=10).status_code == 502  # the API is really down
        for url in image_urls(image):
            assert_served(url)


def test_the_webp_companion_is_served_at_its_stable_path_without_the_api(stack: Stack) -> None:
    image = upload(stack.url)
    short = image["short_id"]
    url = f"{stack.url}/i/{short}/600.webp"
    assert image["links"]["thumbnail_sources"]["600"]["webp"] == url
    before = settle_api_log(stack)
    served = assert_served(url)
    assert served.content[:4] == b"RIFF"
    assert served.content[8:12] == b"WEBP"
    assert served.headers["Content-Disposition"] == f'inline; filename="{short}-600.webp"'
    assert requests.get(url, headers={"If-None-Match": served.headers["ETag"]}, timeout=10).status_code == 304
    assert settle_api_log(stack) == before, "a companion view reached the API"


def test_a_share_page_carries_everything_its_viewer_loads(stack: Stack) -> None:
    """One request reaches the API per share page view (the page itself, which the CDN caches for public images);
    everything the viewer then shows is in the page, on /i/ and the site: no further API request."""
    image = upload(stack.url)
    before = settle_api_log(stack)
    page = requests.get(image["links"]["page"], timeout=10)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == delivery.PUBLIC_PAGE_CACHE_CONTROL
    block = page.text.split('<script type="application/json" id="image-data">', 1)[1].split("</script>", 1)[0]
    embedded = json.loads(block)
    assert embedded["id"] == image["id"]
    for url in image_urls(embedded):
        assert_served(url)
    assert settle_api_log(stack) == before + 1, "the share page's viewer needed the API"
