"""The published OpenAPI document matches the routes the app really serves."""

from __future__ import annotations

import json

from chalice.test import Client

from chalicelib.api.docs import openapi_document
from chalicelib.errors import ErrorCode

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def served_routes() -> set[tuple[str, str]]:
    import app

    return {
        (path, method.lower())
        for path, methods in app.app.routes.items()
        for method in methods
        if method != "OPTIONS"  # CORS preflights Chalice adds by itself
    }


def documented_routes() -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, operations in openapi_document()["paths"].items()
        for method in operations
        if method in HTTP_METHODS
    }


def test_every_served_route_is_documented_and_nothing_else() -> None:
    assert served_routes() - documented_routes() == set(), "served but not documented"
    assert documented_routes() - served_routes() == set(), "documented but not served"


def test_every_operation_documents_its_success_and_error_shapes() -> None:
    for path, operations in openapi_document()["paths"].items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            assert operation.get("summary"), (path, method)
            statuses = set(operation["responses"])
            assert any(status.startswith(("2", "3")) for status in statuses), (path, method)


def test_error_schema_lists_every_code() -> None:
    enum = openapi_document()["components"]["schemas"]["Error"]["properties"]["detail"]["properties"]["code"]["enum"]
    assert set(enum) == {str(code) for code in ErrorCode}


def test_document_is_served_over_http(client: Client) -> None:
    response = client.http.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert json.loads(response.body) == openapi_document()
