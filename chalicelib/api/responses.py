"""The one place errors become HTTP responses: ``{"detail": {"code", "message", "details"}}``.

Chalice's REST middleware never sees an exception raised in a view, so every route is wrapped with
``@handles_errors``. It maps, most specific first: our ``AppError`` tree; Chalice's own ``BadRequestError``
(raised by ``Request.json_body`` on bad JSON); and anything else, which is logged with its stack and answered as
a bare 500 that names the request id but leaks nothing.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from chalice.app import BadRequestError, ChaliceViewError, Response

from chalicelib.errors import AppError, InternalError, MethodNotAllowed, UnsupportedMediaType, ValidationFailed

log = logging.getLogger(__name__)

JSON_HEADERS = {"Content-Type": "application/json", "Cache-Control": "no-store"}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=json.dumps(body), status_code=status, headers={**JSON_HEADERS, **(headers or {})})


def error_response(error: AppError) -> Response:
    return json_response(error.body(), status=error.status, headers=error.headers())


def to_app_error(exc: Exception) -> AppError:
    """Translate any exception that reached a view into the error we answer with."""
    if isinstance(exc, AppError):
        return exc
    if isinstance(exc, BadRequestError):
        # Chalice's text for bad JSON is safe to show ("Error Parsing JSON"), but keep our own wording.
        return ValidationFailed("The request body is not valid JSON.")
    if isinstance(exc, ChaliceViewError):
        return InternalError()
    return InternalError()


def handles_errors[**P](view: Callable[P, Response]) -> Callable[P, Response]:
    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            return view(*args, **kwargs)
        except AppError as exc:
            if exc.status >= 500:
                log.warning("answering %s %s", exc.status, exc.code, exc_info=exc.__cause__ or exc)
            return error_response(exc)
        except Exception as exc:
            error = to_app_error(exc)
            if error.status >= 500:
                log.exception("unhandled error in %s", view.__name__)
            return error_response(error)

    return wrapper


_CHALICE_ERRORS: dict[str, type[AppError]] = {
    "MethodNotAllowedError": MethodNotAllowed,
    "UnsupportedMediaType": UnsupportedMediaType,
    "BadRequest": ValidationFailed,
}


def envelope_chalice_errors(request: Any, response: Response) -> Response:
    """Re-shape the errors Chalice answers by itself (405, 415, its own 500s) into our envelope.

    They never pass through a view, so ``handles_errors`` cannot see them; the HTTP middleware can.
    """
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and set(body) == {"Code", "Message"}:
        error_class = _CHALICE_ERRORS.get(str(body["Code"]), InternalError)
        error = error_class() if error_class is InternalError else error_class(str(body["Message"]))
        response.body = json.dumps(error.body())
        response.headers = {**response.headers, **JSON_HEADERS}
    request_id = (getattr(request, "context", None) or {}).get("requestId")
    if request_id:
        response.headers = {**response.headers, "X-Request-Id": str(request_id)}
    return response
