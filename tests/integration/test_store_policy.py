"""What the store itself refuses, against LocalStack's S3 (moto checks none of it): the LocalStack tier only.

An upload that breaks the presigned POST's policy (too large, empty, another Content-Type, another key, too late)
is refused by S3 with its own error, and nothing arrives: no object under ``originals/{id}``, the record stays
``pending``. A presigned GET stops working when it expires. The bucket's CORS rule admits the site's origin and
no other. Each refusal is paired with a control that the same form or URL works when used as signed, so a refusal
cannot come from a broken form.

Run through ``scripts/localstack/run.sh`` (``make test-localstack``). Without ``CHITRAM_S3_SQS_ENDPOINT`` these
tests fail rather than skip: the moto pass deselects them with ``-m "not localstack"``.
"""

from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests

from chalicelib import clients
from chalicelib.settings import Settings, get_settings
from chalicelib.storage import Storage, original_key
from scripts.stack import Stack
from tests.conftest import make_jpeg
from tests.integration.conftest import Api

pytestmark = pytest.mark.localstack

MIB = 1024 * 1024
EVIL_ORIGIN = "http://evil.example"
POLICY_FAILED = "Invalid according to Policy: Policy Condition failed"
# What the control uploads send: every form below claims exactly this many bytes (forms admit the claim only).
CONTROL_JPEG = make_jpeg(64, 48)
CONTROL_SIZE = len(CONTROL_JPEG)


# Session scope so it runs before the session-scoped stack starts (autouse goes first within a scope).
@pytest.fixture(scope="session", autouse=True)
def _on_localstack() -> None:
    """Fail fast (before the stack starts) when run without LocalStack: a skip would hide a tier that never ran."""
    assert os.environ.get("CHITRAM_S3_SQS_ENDPOINT"), (
        "the store-policy tests need LocalStack: run them through scripts/localstack/run.sh (make test-localstack)"
    )


@pytest.fixture
def settings(stack: Stack) -> Settings:
    return Settings.from_env(stack.env())


@pytest.fixture
def storage(aws_clients: dict[str, Any], settings: Settings) -> Iterator[Storage]:
    """The app's own S3 adapter and client, pointed at the stack (aws_clients exported its AWS environment)."""
    get_settings.cache_clear()
    clients.reset_clients()
    yield Storage(settings.bucket_name, clients.s3())
    clients.reset_clients()


def s3_error(response: requests.Response) -> tuple[int, str, str]:
    """(status, S3 error code, message) of an S3 XML error response."""
    root = ET.fromstring(response.content)  # noqa: S314 - our own local emulator's answer
    return response.status_code, root.findtext("Code", ""), root.findtext("Message", "")


def post_form(form: dict[str, Any], data: bytes, content_type: str, **headers: str) -> requests.Response:
    return requests.post(
        form["url"],
        data=form["fields"],
        files={"file": ("upload.jpg", data, content_type)},
        headers=headers,
        timeout=60,
    )


def assert_nothing_arrived(api: Api, aws_clients: dict[str, Any], settings: Settings, image_id: str) -> None:
    listed = aws_clients["s3"].list_objects_v2(Bucket=settings.bucket_name, Prefix=original_key(image_id))
    assert listed.get("KeyCount", 0) == 0, listed.get("Contents")
    assert api.get(f"/api/v1/images/{image_id}").json()["status"] == "pending"


def assert_control_upload_works(api: Api, form: dict[str, Any], image_id: str) -> None:
    """The form the store refused a moment ago still takes what it was signed for, and processing follows."""
    response = post_form(form, CONTROL_JPEG, "image/jpeg")
    assert response.status_code == 204, response.text
    assert api.wait_until_processed(image_id)["status"] == "ready"


# --- presigned POST policy -------------------------------------------------------------------------------------


def test_file_over_the_policy_maximum_is_refused_by_the_store(
    api: Api, aws_clients: dict[str, Any], settings: Settings
) -> None:
    ticket = api.request_upload("huge.jpg", "image/jpeg", CONTROL_SIZE)  # claims to be small
    oversize = b"\xff\xd8\xff" + b"\x00" * (settings.max_upload_bytes + 1 - 3)
    status, code, _ = s3_error(post_form(ticket["upload"], oversize, "image/jpeg"))
    assert (status, code) == (400, "EntityTooLarge")
    assert_nothing_arrived(api, aws_clients, settings, ticket["id"])
    assert_control_upload_works(api, ticket["upload"], ticket["id"])


@pytest.mark.parametrize(("delta", "error"), [(1, "EntityTooLarge"), (-1, "EntityTooSmall")])
def test_size_lie_a_file_of_any_size_but_the_claimed_one_is_refused_by_the_store(
    api: Api, aws_clients: dict[str, Any], settings: Settings, delta: int, error: str
) -> None:
    """The quota is reserved at the claim: the form admits exactly the claimed bytes (issue 11, item 3)."""
    ticket = api.request_upload("liar.jpg", "image/jpeg", CONTROL_SIZE)
    lying = CONTROL_JPEG + b"\0" if delta > 0 else CONTROL_JPEG[:-1]
    status, code, _ = s3_error(post_form(ticket["upload"], lying, "image/jpeg"))
    assert (status, code) == (400, error)
    assert_nothing_arrived(api, aws_clients, settings, ticket["id"])
    assert_control_upload_works(api, ticket["upload"], ticket["id"])


def test_empty_file_is_refused_by_the_store(api: Api, aws_clients: dict[str, Any], settings: Settings) -> None:
    ticket = api.request_upload("empty.jpg", "image/jpeg", CONTROL_SIZE)
    status, code, _ = s3_error(post_form(ticket["upload"], b"", "image/jpeg"))
    assert (status, code) == (400, "EntityTooSmall")
    assert_nothing_arrived(api, aws_clients, settings, ticket["id"])
    assert_control_upload_works(api, ticket["upload"], ticket["id"])


def test_content_type_other_than_the_signed_one_is_refused_by_the_store(
    api: Api, aws_clients: dict[str, Any], settings: Settings
) -> None:
    ticket = api.request_upload("photo.jpg", "image/jpeg", CONTROL_SIZE)
    form = ticket["upload"]
    tampered = {**form, "fields": {**form["fields"], "Content-Type": "text/html"}}
    status, code, message = s3_error(post_form(tampered, b"<script>alert(1)</script>", "text/html"))
    assert (status, code) == (403, "AccessDenied")
    assert message.startswith(POLICY_FAILED)
    assert "Content-Type" in message
    assert_nothing_arrived(api, aws_clients, settings, ticket["id"])
    assert_control_upload_works(api, form, ticket["id"])


def test_key_other_than_the_signed_one_is_refused_by_the_store(
    api: Api, aws_clients: dict[str, Any], settings: Settings
) -> None:
    ticket = api.request_upload("photo.jpg", "image/jpeg", CONTROL_SIZE)
    victim = api.request_upload("victim.jpg", "image/jpeg", CONTROL_SIZE)  # someone else's pending upload
    form = ticket["upload"]
    for other_key in (original_key(victim["id"]), "files/overwrite.jpg", f"{original_key(ticket['id'])}/nested"):
        tampered = {**form, "fields": {**form["fields"], "key": other_key}}
        status, code, message = s3_error(post_form(tampered, make_jpeg(64, 48), "image/jpeg"))
        assert (status, code) == (403, "AccessDenied"), other_key
        assert message.startswith(POLICY_FAILED)
        assert '"key"' in message
        listed = aws_clients["s3"].list_objects_v2(Bucket=settings.bucket_name, Prefix=other_key)
        assert listed.get("KeyCount", 0) == 0, other_key
    assert_nothing_arrived(api, aws_clients, settings, ticket["id"])
    assert_nothing_arrived(api, aws_clients, settings, victim["id"])
    assert_control_upload_works(api, form, ticket["id"])


def test_expired_upload_form_is_refused_by_the_store(
    api: Api, aws_clients: dict[str, Any], settings: Settings, storage: Storage
) -> None:
    # The API's forms live for UPLOAD_URL_EXPIRES_SECONDS (minutes); the same presign code with one second
    # lets the test see the expiry without waiting minutes.
    ticket = api.request_upload("late.jpg", "image/jpeg", CONTROL_SIZE)
    key = original_key(ticket["id"])
    short = storage.presign_upload(key, content_type="image/jpeg", size=CONTROL_SIZE, expires_seconds=1)
    time.sleep(2.5)
    expired = {"url": short.url, "fields": short.fields}
    status, code, message = s3_error(post_form(expired, make_jpeg(64, 48), "image/jpeg"))
    assert (status, code, message) == (403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    assert_nothing_arrived(api, aws_clients, settings, ticket["id"])
    assert_control_upload_works(api, ticket["upload"], ticket["id"])


# --- presigned GET expiry --------------------------------------------------------------------------------------


def test_expired_download_link_is_refused_by_the_store(api: Api, storage: Storage) -> None:
    ticket = api.direct_upload(make_jpeg(64, 48))
    assert api.wait_until_processed(ticket["id"])["status"] == "ready"
    redirect = api.get(f"/api/v1/images/{ticket['id']}/file")
    assert redirect.status_code == 302
    assert requests.get(redirect.headers["Location"], timeout=30).status_code == 200  # the API's own link works
    served_key = unquote(urlsplit(redirect.headers["Location"]).path.split("/", 2)[2])  # /{bucket}/{key}
    short = storage.presign_get(served_key, expires_seconds=1)
    time.sleep(2.5)
    status, code, message = s3_error(requests.get(short, timeout=30))
    assert (status, code, message) == (403, "AccessDenied", "Request has expired")


def test_download_link_for_another_key_is_refused_by_the_store(api: Api) -> None:
    """A presigned GET names its key in the signature: editing the path to reach another object fails."""
    ticket = api.direct_upload(make_jpeg(64, 48))
    assert api.wait_until_processed(ticket["id"])["status"] == "ready"
    location = api.get(f"/api/v1/images/{ticket['id']}/file").headers["Location"]
    thumb = api.get(f"/api/v1/images/{ticket['id']}/thumbnail?size=150").headers["Location"]
    forged = urlsplit(location)._replace(path=urlsplit(thumb).path).geturl()
    status, code, _ = s3_error(requests.get(forged, timeout=30))
    assert (status, code) == (403, "SignatureDoesNotMatch")


# --- the bucket's CORS rule ------------------------------------------------------------------------------------


def preflight(url: str, origin: str, method: str) -> requests.Response:
    return requests.options(url, headers={"Origin": origin, "Access-Control-Request-Method": method}, timeout=30)


@pytest.fixture
def bucket_urls(api: Api) -> dict[str, str]:
    """Where a browser sends its upload (the form's URL) and its download (a served file's URL, no query)."""
    ticket = api.direct_upload(make_jpeg(64, 48))
    assert api.wait_until_processed(ticket["id"])["status"] == "ready"
    location = api.get(f"/api/v1/images/{ticket['id']}/file").headers["Location"]
    bucket_segment = urlsplit(location).path.split("/")[1]  # path-style: /{bucket}/{key}
    return {
        "POST": ticket["upload"]["url"],
        "GET": urlsplit(location)._replace(query="").geturl(),
        "signed GET": location,
        # Multipart uploads PUT each part to an object URL with ?partNumber&uploadId (the preflight has no query).
        "PUT": urlsplit(location)._replace(query="", path=f"/{bucket_segment}/originals/{ticket['id']}").geturl(),
    }


@pytest.mark.parametrize("method", ["POST", "GET", "PUT"])
def test_bucket_admits_the_site_origin(bucket_urls: dict[str, str], settings: Settings, method: str) -> None:
    response = preflight(bucket_urls[method], settings.site_origin, method)
    assert response.status_code == 200, response.text
    assert response.headers["Access-Control-Allow-Origin"] == settings.site_origin
    assert method in [m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")]


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_bucket_refuses_any_other_origin(bucket_urls: dict[str, str], method: str) -> None:
    response = preflight(bucket_urls[method], EVIL_ORIGIN, method)
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    assert s3_error(response)[1] == "AccessForbidden"


def test_bucket_refuses_methods_the_site_does_not_use(bucket_urls: dict[str, str], settings: Settings) -> None:
    # PUT is the site's since multipart uploads (parts go up with PUT); nothing in the site deletes from the bucket.
    for method in ("DELETE", "PATCH"):
        response = preflight(bucket_urls["GET"], settings.site_origin, method)
        assert response.status_code == 403, method
        assert "Access-Control-Allow-Origin" not in response.headers


def test_site_can_read_the_upload_and_download_responses_and_no_other_origin_can(
    api: Api, bucket_urls: dict[str, str], settings: Settings
) -> None:
    # A multipart form POST and a plain GET are "simple" requests: the browser sends them without a preflight
    # and lets the page read the answer only if it carries the page's origin.
    ticket = api.request_upload("cors.jpg", "image/jpeg", CONTROL_SIZE)
    uploaded = post_form(ticket["upload"], CONTROL_JPEG, "image/jpeg", Origin=settings.site_origin)
    assert uploaded.status_code == 204, uploaded.text
    assert uploaded.headers["Access-Control-Allow-Origin"] == settings.site_origin
    assert "ETag" in uploaded.headers["Access-Control-Expose-Headers"]
    ours = requests.get(bucket_urls["signed GET"], headers={"Origin": settings.site_origin}, timeout=30)
    assert ours.status_code == 200
    assert ours.headers["Access-Control-Allow-Origin"] == settings.site_origin
    theirs = requests.get(bucket_urls["signed GET"], headers={"Origin": EVIL_ORIGIN}, timeout=30)
    assert "Access-Control-Allow-Origin" not in theirs.headers
