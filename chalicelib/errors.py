"""The one tree of domain errors. Knows nothing of Chalice.

Every error that may leave the API is an ``AppError``; ``chalicelib.api.responses`` turns it into
``{"detail": {"code", "message", "details"}}`` with ``status``. Services and adapters raise these, never
return ``(ok, reason)`` pairs, and translate third-party exceptions at their boundary (``raise ... from exc``).

    AppError
    ├── BadRequest (400)
    │   ├── ValidationFailed            VALIDATION_ERROR
    │   ├── InvalidImage                INVALID_FILE_FORMAT   (+ details.reason: a RejectReason)
    │   ├── InvalidCursor               INVALID_CURSOR
    │   └── InvalidResetToken           INVALID_RESET_TOKEN
    ├── Unauthorized (401)
    │   ├── AuthenticationRequired      AUTHENTICATION_REQUIRED
    │   ├── InvalidToken                INVALID_TOKEN
    │   ├── TokenExpired                TOKEN_EXPIRED
    │   └── InvalidCredentials          INVALID_CREDENTIALS
    ├── Forbidden (403)
    │   ├── DeleteTokenRequired         DELETE_TOKEN_REQUIRED
    │   ├── InvalidDeleteToken          INVALID_DELETE_TOKEN
    │   ├── NotOwner                    FORBIDDEN
    │   ├── AccountLocked               ACCOUNT_LOCKED
    │   ├── QuotaExceeded               QUOTA_EXCEEDED
    │   └── InsufficientScope           INSUFFICIENT_SCOPE    (an API token without the scope the route needs)
    ├── NotFound (404)
    │   ├── ImageNotFound               IMAGE_NOT_FOUND
    │   ├── ThumbnailNotReady           THUMBNAIL_NOT_READY
    │   ├── RouteNotFound               NOT_FOUND
    │   ├── UserNotFound                USER_NOT_FOUND
    │   └── ApiTokenNotFound            API_TOKEN_NOT_FOUND
    ├── Conflict (409)
    │   ├── EmailTaken                  EMAIL_ALREADY_REGISTERED
    │   └── ImageNotPending             IMAGE_NOT_PENDING
    ├── PayloadTooLarge (413)
    │   ├── FileTooLarge                FILE_TOO_LARGE
    │   └── StorageQuotaExceeded        STORAGE_QUOTA_EXCEEDED
    ├── MethodNotAllowed (405)          METHOD_NOT_ALLOWED
    ├── UnsupportedMediaType (415)      UNSUPPORTED_MEDIA_TYPE
    ├── RateLimited (429)               RATE_LIMIT_EXCEEDED   (+ retry_after -> Retry-After header)
    ├── InternalError (500)             INTERNAL_ERROR
    └── ServiceUnavailable (503)
        ├── StorageUnavailable          STORAGE_UNAVAILABLE
        ├── MetadataUnavailable         METADATA_UNAVAILABLE
        ├── QueueUnavailable            QUEUE_UNAVAILABLE
        ├── IdentityProviderUnavailable IDENTITY_PROVIDER_UNAVAILABLE
        └── CdnUnavailable              CDN_UNAVAILABLE
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar


class ErrorCode(StrEnum):
    """Machine-readable codes on the wire. Chitram's names are kept where Chitram had one."""

    VALIDATION_ERROR = "VALIDATION_ERROR"
    INVALID_FILE_FORMAT = "INVALID_FILE_FORMAT"
    INVALID_CURSOR = "INVALID_CURSOR"
    INVALID_RESET_TOKEN = "INVALID_RESET_TOKEN"
    AUTHENTICATION_REQUIRED = "AUTHENTICATION_REQUIRED"
    INVALID_TOKEN = "INVALID_TOKEN"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    DELETE_TOKEN_REQUIRED = "DELETE_TOKEN_REQUIRED"
    INVALID_DELETE_TOKEN = "INVALID_DELETE_TOKEN"
    FORBIDDEN = "FORBIDDEN"
    ACCOUNT_LOCKED = "ACCOUNT_LOCKED"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    INSUFFICIENT_SCOPE = "INSUFFICIENT_SCOPE"
    IMAGE_NOT_FOUND = "IMAGE_NOT_FOUND"
    THUMBNAIL_NOT_READY = "THUMBNAIL_NOT_READY"
    NOT_FOUND = "NOT_FOUND"
    USER_NOT_FOUND = "USER_NOT_FOUND"
    API_TOKEN_NOT_FOUND = "API_TOKEN_NOT_FOUND"
    EMAIL_ALREADY_REGISTERED = "EMAIL_ALREADY_REGISTERED"
    IMAGE_NOT_PENDING = "IMAGE_NOT_PENDING"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    STORAGE_QUOTA_EXCEEDED = "STORAGE_QUOTA_EXCEEDED"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    RATE_LIMIT_EXCEEDED = "RATE_LIMIT_EXCEEDED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    STORAGE_UNAVAILABLE = "STORAGE_UNAVAILABLE"
    METADATA_UNAVAILABLE = "METADATA_UNAVAILABLE"
    QUEUE_UNAVAILABLE = "QUEUE_UNAVAILABLE"
    IDENTITY_PROVIDER_UNAVAILABLE = "IDENTITY_PROVIDER_UNAVAILABLE"
    CDN_UNAVAILABLE = "CDN_UNAVAILABLE"


class RejectReason(StrEnum):
    """Why the processor (or the upload endpoint) refused a file; stored on rejected records."""

    EMPTY_FILE = "EMPTY_FILE"
    TOO_LARGE = "TOO_LARGE"
    NOT_AN_IMAGE = "NOT_AN_IMAGE"
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
    TRUNCATED = "TRUNCATED"
    CORRUPT = "CORRUPT"
    TOO_MANY_PIXELS = "TOO_MANY_PIXELS"
    TOO_COMPLEX = "TOO_COMPLEX"  # within the byte and pixel limits, but too costly (scans, frames, chunks, time)
    CHECKSUM_MISMATCH = "CHECKSUM_MISMATCH"  # the stored bytes are not the ones the uploader declared


class AppError(Exception):
    """Base of every error the API answers with. Subclasses set ``status``, ``code`` and ``message``."""

    status: ClassVar[int] = 500
    code: ClassVar[ErrorCode] = ErrorCode.INTERNAL_ERROR
    message: ClassVar[str] = "An internal error occurred."

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.detail_message = message or self.message
        self.details: dict[str, Any] = details
        super().__init__(self.detail_message)

    def headers(self) -> dict[str, str]:
        """Extra response headers this error needs (``Retry-After`` and the like)."""
        return {}

    def body(self) -> dict[str, Any]:
        return {"detail": {"code": str(self.code), "message": self.detail_message, "details": self.details}}


# --- 400 ---------------------------------------------------------------------------------------


class BadRequest(AppError):
    status = 400
    code = ErrorCode.VALIDATION_ERROR
    message = "The request is not valid."


class ValidationFailed(BadRequest):
    code = ErrorCode.VALIDATION_ERROR
    message = "The request is not valid."


class InvalidImage(BadRequest):
    """The bytes are not an image we accept. ``reason`` is a ``RejectReason``."""

    code = ErrorCode.INVALID_FILE_FORMAT
    message = "The file is not a supported image."

    def __init__(self, reason: RejectReason, message: str | None = None, **details: Any) -> None:
        super().__init__(message, reason=str(reason), **details)
        self.reason = reason


class InvalidCursor(BadRequest):
    code = ErrorCode.INVALID_CURSOR
    message = "The pagination cursor is not valid."


class InvalidResetToken(BadRequest):
    """Unknown, expired or already used password-reset token (one answer for all three)."""

    code = ErrorCode.INVALID_RESET_TOKEN
    message = "The password reset token is not valid or has expired."


# --- 401 ---------------------------------------------------------------------------------------


class Unauthorized(AppError):
    status = 401
    code = ErrorCode.AUTHENTICATION_REQUIRED
    message = "Authentication is required."

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class AuthenticationRequired(Unauthorized):
    code = ErrorCode.AUTHENTICATION_REQUIRED
    message = "Authentication is required."


class InvalidToken(Unauthorized):
    code = ErrorCode.INVALID_TOKEN
    message = "The access token is not valid."


class TokenExpired(Unauthorized):
    code = ErrorCode.TOKEN_EXPIRED
    message = "The access token has expired."


class InvalidCredentials(Unauthorized):
    code = ErrorCode.INVALID_CREDENTIALS
    message = "Incorrect email or password."


# --- 403 ---------------------------------------------------------------------------------------


class Forbidden(AppError):
    status = 403
    code = ErrorCode.FORBIDDEN
    message = "You are not allowed to do this."


class DeleteTokenRequired(Forbidden):
    code = ErrorCode.DELETE_TOKEN_REQUIRED
    message = "A delete token is required to delete an anonymous upload."


class InvalidDeleteToken(Forbidden):
    code = ErrorCode.INVALID_DELETE_TOKEN
    message = "The delete token is not valid."


class NotOwner(Forbidden):
    code = ErrorCode.FORBIDDEN
    message = "You do not own this image."


class AccountLocked(Forbidden):
    code = ErrorCode.ACCOUNT_LOCKED
    message = "Too many failed sign-ins; the account is locked for a while."


class QuotaExceeded(Forbidden):
    code = ErrorCode.QUOTA_EXCEEDED
    message = "You have reached your image quota."


class InsufficientScope(Forbidden):
    """A personal API token whose scope does not cover the route (or a route API tokens may never use)."""

    code = ErrorCode.INSUFFICIENT_SCOPE
    message = "This API token's scope does not allow this request."


# --- 404 ---------------------------------------------------------------------------------------


class NotFound(AppError):
    status = 404
    code = ErrorCode.NOT_FOUND
    message = "Not found."


class ImageNotFound(NotFound):
    code = ErrorCode.IMAGE_NOT_FOUND
    message = "Image not found."


class ThumbnailNotReady(NotFound):
    code = ErrorCode.THUMBNAIL_NOT_READY
    message = "The thumbnail is not ready yet. Try again shortly."


class RouteNotFound(NotFound):
    code = ErrorCode.NOT_FOUND
    message = "No such route."


class UserNotFound(NotFound):
    code = ErrorCode.USER_NOT_FOUND
    message = "User not found."


class ApiTokenNotFound(NotFound):
    code = ErrorCode.API_TOKEN_NOT_FOUND
    message = "No such API token."


# --- 409 ---------------------------------------------------------------------------------------


class Conflict(AppError):
    status = 409
    code = ErrorCode.IMAGE_NOT_PENDING
    message = "The request conflicts with the current state."


class EmailTaken(Conflict):
    code = ErrorCode.EMAIL_ALREADY_REGISTERED
    message = "That email is already registered."


class ImageNotPending(Conflict):
    """A state transition found the record no longer ``pending`` (a replayed or duplicate event)."""

    code = ErrorCode.IMAGE_NOT_PENDING
    message = "The image has already been processed."


# --- 413 / 415 / 429 ---------------------------------------------------------------------------


class PayloadTooLarge(AppError):
    status = 413
    code = ErrorCode.FILE_TOO_LARGE
    message = "The file is too large."


class FileTooLarge(PayloadTooLarge):
    code = ErrorCode.FILE_TOO_LARGE
    message = "The file is too large."


class StorageQuotaExceeded(PayloadTooLarge):
    code = ErrorCode.STORAGE_QUOTA_EXCEEDED
    message = "You have used all of your storage quota."


class UnsupportedMediaType(AppError):
    status = 415
    code = ErrorCode.UNSUPPORTED_MEDIA_TYPE
    message = "Unsupported media type."


class MethodNotAllowed(AppError):
    status = 405
    code = ErrorCode.METHOD_NOT_ALLOWED
    message = "This method is not allowed on this resource."


class RateLimited(AppError):
    status = 429
    code = ErrorCode.RATE_LIMIT_EXCEEDED
    message = "Too many requests. Try again later."

    def __init__(self, retry_after: int, message: str | None = None, **details: Any) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(message, retry_after=self.retry_after, **details)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


# --- 5xx ---------------------------------------------------------------------------------------


class InternalError(AppError):
    status = 500
    code = ErrorCode.INTERNAL_ERROR
    message = "An internal error occurred."


class ServiceUnavailable(AppError):
    status = 503
    code = ErrorCode.STORAGE_UNAVAILABLE
    message = "A backing service is unavailable. Try again shortly."

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}


class StorageUnavailable(ServiceUnavailable):
    code = ErrorCode.STORAGE_UNAVAILABLE
    message = "Image storage is unavailable. Try again shortly."


class MetadataUnavailable(ServiceUnavailable):
    code = ErrorCode.METADATA_UNAVAILABLE
    message = "The metadata store is unavailable. Try again shortly."


class QueueUnavailable(ServiceUnavailable):
    code = ErrorCode.QUEUE_UNAVAILABLE
    message = "The processing queue is unavailable. Try again shortly."


class IdentityProviderUnavailable(ServiceUnavailable):
    """The OIDC provider's key set could not be fetched and no cached key fits the token."""

    code = ErrorCode.IDENTITY_PROVIDER_UNAVAILABLE
    message = "The identity provider is unavailable. Try again shortly."


class CdnUnavailable(ServiceUnavailable):
    """The CDN did not accept an invalidation; the change is safe to retry (moves are idempotent)."""

    code = ErrorCode.CDN_UNAVAILABLE
    message = "The content delivery network did not confirm the change. Try again shortly."
