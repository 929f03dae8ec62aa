"""The OpenAPI 3.1 document of the whole HTTP API: a small public builder, and the document's assembly.

One convention for every route module: next to its views it defines ``openapi_section(settings) -> Section`` with its
paths and the schemas only it owns, written with the builders below (``ref``, ``json_response``,
``error_responses``, ``json_body``, ``query_param``, ...). ``chalicelib.api.docs`` lists those functions and
:func:`build_document` assembles them; a path or schema defined twice is an error, not a silent overwrite.

Product facts are never written here: formats, rendition sizes, visibilities and password rules come from
``chalicelib.catalog``; upload sizes and page sizes from the settings. The fragments that carry them
(:func:`visibility_schema`, :func:`content_type_schema`, :func:`thumbnail_size_param`, :func:`page_params`,
:func:`password_schema`) exist once, here, for every route module to use. Tests check that every route the app
registers is documented (tests/functional/test_openapi.py) and that the document says what the catalog says
(tests/functional/test_facts_agree.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib import catalog
from chalicelib.errors import ErrorCode

if TYPE_CHECKING:
    from chalicelib.settings import Settings

Json = dict[str, Any]
JSON = "application/json"
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
OPTIONAL_BEARER: list[dict[str, list[str]]] = [{}, {"bearer": []}]

_ERROR_TEXT = {
    400: "Invalid request",
    401: "Missing, invalid or expired bearer token",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    429: "Rate limited (see Retry-After)",
    503: "A backing service is unavailable (see Retry-After)",
}


@dataclass(frozen=True)
class Section:
    """One route module's part of the document: its paths and the component schemas it owns."""

    paths: Json
    schemas: Json = field(default_factory=dict)


SectionBuilder = Callable[["Settings"], Section]

# --- builders ---------------------------------------------------------------------------------------


def ref(name: str) -> dict[str, str]:
    """A reference to a component schema (defined by whichever section owns it)."""
    return {"$ref": f"#/components/schemas/{name}"}


def json_response(schema: Json, description: str, *, headers: Json | None = None) -> Json:
    response: Json = {"description": description, "content": {JSON: {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def error_responses(*statuses: int) -> Json:
    """The error envelope for each status, plus 503 (any route may find a backing service down)."""
    return {str(status): json_response(ref("Error"), _ERROR_TEXT[status]) for status in (*statuses, 503)}


def json_body(schema: Json, content_type: str = JSON) -> Json:
    return {"required": True, "content": {content_type: {"schema": schema}}}


def object_schema(properties: Json, *, required: Iterable[str] = ()) -> Json:
    schema: Json = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def query_param(name: str, schema: Json, description: str = "", *, required: bool = False) -> Json:
    param: Json = {"name": name, "in": "query", "required": required, "schema": schema}
    if description:
        param["description"] = description
    return param


def header_param(name: str, schema: Json, description: str = "") -> Json:
    param: Json = {"name": name, "in": "header", "required": False, "schema": schema}
    if description:
        param["description"] = description
    return param


def path_param(name: str) -> Json:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def redirect_response(description: str = "Redirect to a short-lived presigned URL") -> Json:
    return {"description": description, "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}}}


# --- the product's facts, each written once (from the catalog and the settings) ---------------------------


def visibility_schema() -> Json:
    return {
        "type": "string",
        "enum": list(catalog.VISIBILITIES),
        "description": "; ".join(f"{v.name}: {v.description}" for v in catalog.VISIBILITY_LEVELS),
    }


def content_type_schema() -> Json:
    """The Content-Types an upload may claim: the formats this build decodes (the content decides in the end)."""
    return {"type": "string", "enum": [m for f in catalog.accepted_formats() for m in (f.mime_type, *f.mime_aliases)]}


def upload_size_schema(settings: Settings) -> Json:
    return {"type": "integer", "minimum": 1, "maximum": settings.max_upload_bytes, "description": "Bytes"}


def thumbnail_size_param() -> Json:
    sizes = sorted(catalog.THUMBNAIL_SIZES)
    schema = {"type": "integer", "enum": sizes, "default": catalog.DEFAULT_THUMBNAIL_SIZE}
    return query_param("size", schema, "Longest side in pixels")


def thumbnails_schema() -> Json:
    """``{"150": url, ...}``: keyed by the catalog's thumbnail rendition names."""
    names = [r.name for r in catalog.RENDITIONS if r.kind == "thumbnail"]
    return {
        "type": "object",
        "propertyNames": {"enum": sorted(names, key=int)},
        "additionalProperties": {"type": "string"},
    }


def thumbnail_sources_schema() -> Json:
    """``{"600": {"avif": url, "webp": url, "jpg": url}, ...}``: every encoding of each thumbnail, by size then
    extension (the catalog's companion formats this build writes, and the thumbnail's own JPEG or WebP)."""
    url = {"type": "string", "format": "uri"}
    by_format = {
        "type": "object",
        "propertyNames": {"enum": list(catalog.thumbnail_extensions())},
        "additionalProperties": url,
    }
    return {**thumbnails_schema(), "additionalProperties": by_format}


def page_params(settings: Settings) -> list[Json]:
    limit = {"type": "integer", "minimum": 1, "maximum": settings.page_size_max, "default": settings.page_size_default}
    return [
        query_param("limit", limit, "Items per page"),
        query_param("cursor", {"type": "string"}, "The next_cursor of the previous page"),
    ]


def password_schema() -> Json:
    return {
        "type": "string",
        "minLength": catalog.PASSWORD_MIN_CHARS,
        "description": f"{catalog.PASSWORD_MIN_CHARS} characters to {catalog.PASSWORD_MAX_BYTES} bytes (UTF-8)",
    }


# --- assembly -------------------------------------------------------------------------------------------

_ERROR_SCHEMA: Json = object_schema(
    {
        "detail": object_schema(
            {
                "code": {"type": "string", "enum": sorted(str(code) for code in ErrorCode)},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
            required=["code", "message", "details"],
        )
    },
    required=["detail"],
)


def _with_media_type_errors(paths: Json) -> Json:
    """Every operation that takes a body can answer 415 (Chalice checks the Content-Type before our code)."""
    unsupported = error_responses(415)["415"]
    return {
        path: {
            method: {**operation, "responses": {"415": unsupported, **operation["responses"]}}
            if isinstance(operation, dict) and "requestBody" in operation
            else operation
            for method, operation in operations.items()
        }
        for path, operations in paths.items()
    }


def _merge(target: Json, part: Json, what: str) -> None:
    twice = sorted(set(target) & set(part))
    if twice:
        raise ValueError(f"OpenAPI {what} defined by more than one section: {twice}")
    target.update(part)


def build_document(sections: Iterable[Section]) -> Json:
    paths: Json = {}
    schemas: Json = {"Error": _ERROR_SCHEMA}
    for section in sections:
        _merge(paths, section.paths, "paths")
        _merge(schemas, section.schemas, "schemas")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Chitram Serverless",
            "version": "1.0.0",
            "description": "Image hosting on S3, SQS, DynamoDB and Lambda. Every error has the shape "
            '{"detail": {"code", "message", "details"}}.',
        },
        "paths": _with_media_type_errors(paths),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
