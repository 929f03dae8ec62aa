"""Share pages (``GET /{short_id}``) and oEmbed in-process: what a link preview sees, and what it must not."""

from __future__ import annotations

import html.parser
import json
import uuid
from dataclasses import replace

import pytest
from chalice.test import Client

from chalicelib import composition, delivery
from chalicelib.settings import get_settings
from tests.functional.conftest import body
from tests.functional.test_ownership import ada, patch, upload  # noqa: F401 - ada is a fixture

HOSTILE_NAME = '"><script>alert(1)</script><img src=x onerror=alert(2)>.png'


class Tags(html.parser.HTMLParser):
    """The page's <meta>, <link> and <script> tags and its text, as a crawler reads them (no JavaScript)."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.links: list[dict[str, str]] = []
        self.scripts: list[dict[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "meta" and ("property" in values or "name" in values):
            self.meta[values.get("property") or values["name"]] = values.get("content", "")
        elif tag == "link":
            self.links.append(values)
        elif tag == "script":
            self.scripts.append(values)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    return tags


def short_id_of(image_id: str) -> str:
    short = composition.image_records().get(image_id).short_id
    assert short is not None
    return short


def test_every_new_image_gets_a_short_id_that_the_api_accepts(client: Client) -> None:
    image = upload(client)
    short = short_id_of(image["id"])
    assert delivery.is_short_id(short)
    by_short = client.http.get(f"/api/v1/images/{short}")
    assert by_short.status_code == 200
    assert body(by_short)["id"] == image["id"]


def test_public_share_page_has_link_preview_tags_with_absolute_urls(client: Client) -> None:
    image = upload(client)
    short = short_id_of(image["id"])
    response = client.http.get(f"/{short}", headers={"User-Agent": "facebookexternalhit/1.1"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Cache-Control"] == delivery.PUBLIC_PAGE_CACHE_CONTROL
    tags = parse(response.body.decode() if isinstance(response.body, bytes) else response.body)
    origin = get_settings().site_origin
    assert tags.meta["og:title"] == "a.png"
    assert tags.meta["og:type"] == "website"
    assert tags.meta["twitter:card"] == "summary_large_image"
    assert tags.meta["og:image"].startswith(origin + "/i/" + short + "/")
    assert tags.meta["og:image"] == tags.meta["twitter:image"]
    assert (tags.meta["og:image:width"], tags.meta["og:image:height"]) == ("64", "48")
    assert tags.meta["og:url"] == f"{origin}/{short}"
    canonical = next(link for link in tags.links if link.get("rel") == "canonical")
    assert canonical["href"] == f"{origin}/{short}"
    oembed = next(link for link in tags.links if link.get("type") == "application/json+oembed")
    assert oembed["href"].startswith(origin + "/api/v1/oembed?url=")
    assert "robots" not in tags.meta
    # People get the interactive viewer on top of the server-rendered card.
    assert {"type": "module", "src": "/js/pages/image.js"} in tags.scripts


def test_legacy_uuid_ids_open_the_same_page(client: Client) -> None:
    image = upload(client)
    response = client.http.get(f"/{image['id']}")
    assert response.status_code == 200
    assert f"/i/{short_id_of(image['id'])}/" in parse(response.body.decode()).meta["og:image"]


def test_unlisted_pages_are_noindex(client: Client) -> None:
    image = upload(client, visibility="unlisted")
    response = client.http.get(f"/{short_id_of(image['id'])}")
    assert response.status_code == 200
    assert response.headers["X-Robots-Tag"] == "noindex"
    assert parse(response.body.decode()).meta["robots"] == "noindex"


def test_private_page_reveals_nothing(client: Client, ada: dict[str, str]) -> None:  # noqa: F811
    image = upload(client, ada, visibility="private")
    short = short_id_of(image["id"])
    missing = client.http.get(f"/{delivery.new_short_id()}")
    for headers in ({}, ada):  # browsers send no bearer on navigation; even with one the page stays bare
        response = client.http.get(f"/{short}", headers=headers)
        assert response.status_code == 404
        assert response.headers["Cache-Control"] == delivery.PRIVATE_PAGE_CACHE_CONTROL
        page = response.body.decode()
        assert "a.png" not in page
        assert "og:image" not in page
        # The same page as for an id that never existed, but for the id the viewer script asks the API about.
        other = missing.body.decode()
        assert page.replace(short, "") == other.replace(data_ref(other), "")


def data_ref(page: str) -> str:
    return page.split('data-image-id="')[1].split('"')[0]


def test_pending_and_unknown_refs_are_bare_404s(client: Client) -> None:
    pending = json.loads(
        client.http.post(
            "/api/v1/images/upload-url",
            headers={"Content-Type": "application/json"},
            body=json.dumps({"filename": "x.jpg", "content_type": "image/jpeg", "size": 10}),
        ).body
    )
    for ref in (pending["id"], str(uuid.uuid4()), delivery.new_short_id()):
        response = client.http.get(f"/{ref}")
        assert response.status_code == 404, ref
        assert "x.jpg" not in response.body.decode()


def test_filenames_are_escaped_everywhere_on_the_page(client: Client) -> None:
    image = upload(client)
    # Written straight to the table: upload sanitising already drops quotes, the page must not rely on it.
    records = composition.image_records()
    stored = records.get(image["id"])
    records.delete(stored.id)
    records.create(replace(stored, filename=HOSTILE_NAME))
    composition.metadata_cache().invalidate(stored.id)
    page = client.http.get(f"/{stored.short_id}").body.decode()
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert parse(page).meta["og:title"] == HOSTILE_NAME  # intact once unescaped


def test_oembed_answers_photo_json_for_a_share_url(client: Client) -> None:
    image = upload(client)
    short = short_id_of(image["id"])
    origin = get_settings().site_origin
    response = client.http.get(f"/api/v1/oembed?url={origin}/{short}")
    assert response.status_code == 200
    answer = body(response)
    assert answer["version"] == "1.0"
    assert answer["type"] == "photo"
    assert answer["url"].startswith(f"{origin}/i/{short}/")
    assert (answer["width"], answer["height"]) == (64, 48)
    assert answer["provider_name"] == "Chitram"
    assert answer["title"] == "a.png"


def test_oembed_respects_maxwidth(client: Client) -> None:
    image = upload(client)
    short = short_id_of(image["id"])
    origin = get_settings().site_origin
    answer = body(client.http.get(f"/api/v1/oembed?url={origin}/{short}&maxwidth=10"))
    assert answer["type"] == "link"  # no rendition is that small
    assert "url" not in answer


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("", 400, "VALIDATION_ERROR"),
        ("?url=https://elsewhere.example/AbCdEfGhIjK", 404, "IMAGE_NOT_FOUND"),
        ("?url={origin}/not-an-image-ref", 404, "IMAGE_NOT_FOUND"),
        ("?url={origin}/AbCdEfGhIjK", 404, "IMAGE_NOT_FOUND"),
        ("?url={origin}/AbCdEfGhIjK&maxwidth=abc", 400, "VALIDATION_ERROR"),
        ("?url={origin}/AbCdEfGhIjK&maxwidth=0", 400, "VALIDATION_ERROR"),
    ],
)
def test_oembed_errors_use_the_envelope(client: Client, query: str, status: int, code: str) -> None:
    response = client.http.get("/api/v1/oembed" + query.format(origin=get_settings().site_origin))
    assert response.status_code == status
    assert body(response)["detail"]["code"] == code


def test_oembed_of_a_private_image_is_404(client: Client, ada: dict[str, str]) -> None:  # noqa: F811
    image = upload(client, ada, visibility="private")
    origin = get_settings().site_origin
    response = client.http.get(f"/api/v1/oembed?url={origin}/{short_id_of(image['id'])}", headers=ada)
    assert response.status_code == 404


def test_oembed_xml_is_not_offered(client: Client) -> None:
    response = client.http.get("/api/v1/oembed?url=x&format=xml")
    assert response.status_code == 400
    assert body(response)["detail"]["details"] == {"field": "format", "allowed": ["json"]}


def test_making_an_image_private_turns_its_page_into_a_bare_404(client: Client, ada: dict[str, str]) -> None:  # noqa: F811
    image = upload(client, ada)
    short = short_id_of(image["id"])
    assert client.http.get(f"/{short}").status_code == 200
    assert patch(client, short, ada, "private").status_code == 200  # the API takes the short id too
    assert client.http.get(f"/{short}").status_code == 404


def test_a_short_id_already_taken_is_never_handed_out_again(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    first = upload(client)
    taken = short_id_of(first["id"])
    fresh = delivery.new_short_id()
    candidates = iter([taken, taken, fresh])
    monkeypatch.setattr(delivery, "new_short_id", lambda: next(candidates))
    second = upload(client)
    assert short_id_of(second["id"]) == fresh


class DataBlocks(html.parser.HTMLParser):
    """The text of each ``<script type="application/json">`` block, as a browser hands it to ``JSON.parse``."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: dict[str, str] = {}
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "script" and values.get("type") == "application/json":
            self._open = values.get("id", "")
            self.blocks[self._open] = ""

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.blocks[self._open] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._open = None


def data_blocks(page: str) -> dict[str, str]:
    parser = DataBlocks()
    parser.feed(page)
    return parser.blocks


def test_a_public_page_carries_what_the_viewer_shows_so_a_view_needs_no_api_call(client: Client) -> None:
    image = upload(client)
    short = short_id_of(image["id"])
    page = client.http.get(f"/{short}").body.decode()
    blocks = data_blocks(page)
    assert list(blocks) == ["image-data"]
    embedded = json.loads(blocks["image-data"])
    # Exactly what the API answers anyone who asks without a token.
    answered = body(client.http.get(f"/api/v1/images/{image['id']}"))
    assert embedded == answered
    assert embedded["links"]["thumbnail_sources"]
    # Data, never code: the only executable script is the site's own module file (the CSP allows 'self' only).
    scripts = parse(page).scripts
    assert sorted(s.get("type", "") for s in scripts) == ["application/json", "module"]
    assert [s["src"] for s in scripts if s.get("type") == "module"] == ["/js/pages/image.js"]


def test_the_data_block_cannot_be_closed_by_a_filename(client: Client) -> None:
    image = upload(client)
    records = composition.image_records()
    stored = records.get(image["id"])
    records.delete(stored.id)
    hostile = "</script><script>alert(1)</script><!--&.png"
    records.create(replace(stored, filename=hostile))
    composition.metadata_cache().invalidate(stored.id)
    page = client.http.get(f"/{stored.short_id}").body.decode()
    assert "</script><script>alert" not in page
    assert "<!--" not in page
    assert json.loads(data_blocks(page)["image-data"])["filename"] == hostile  # intact once parsed


def test_pages_that_reveal_nothing_carry_no_data(client: Client, ada: dict[str, str]) -> None:  # noqa: F811
    private = upload(client, ada, visibility="private")
    for ref in (short_id_of(private["id"]), delivery.new_short_id()):
        assert data_blocks(client.http.get(f"/{ref}").body.decode()) == {}
