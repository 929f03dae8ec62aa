"""DynamoDB adapter for personal API tokens: ``apitoken#<id>`` items in the users table (``ApiTokenRecord``).

The user item lists its tokens' ids (``UserRecord.api_tokens``, a string set) because DynamoDB cannot query a
table by a non-key attribute. Adding and removing a token changes both items in one transaction, so the list
never names a token that does not exist (nor misses one that does); the add's condition on the set's size is
the per-user limit.

PynamoDB errors are translated here: a refused limit into ``ValidationFailed``, anything else into
``MetadataUnavailable``.
"""

from __future__ import annotations

import logging

from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import size
from pynamodb.transactions import TransactWrite

from chalicelib.auth.api_tokens import ApiToken
from chalicelib.errors import MetadataUnavailable, ValidationFailed
from chalicelib.models import ApiTokenRecord, UserRecord, connection

log = logging.getLogger(__name__)

ITEM_PREFIX = "apitoken#"
CONDITION_FAILED = "ConditionalCheckFailedException"


def _to_token(record: ApiTokenRecord) -> ApiToken:
    return ApiToken(
        id=record.id.removeprefix(ITEM_PREFIX),
        user_id=record.user_id,
        name=record.name,
        scope=record.scope,
        secret_hash=record.secret_hash,
        created_at=record.created_at,
        expires_at=None if record.token_expires_at is None else int(record.token_expires_at),
        last_used_at=None if record.last_used_at is None else int(record.last_used_at),
    )


class ApiTokenStore:
    def __init__(self, region: str) -> None:
        self.region = region

    def add(self, token: ApiToken, *, max_tokens: int) -> None:
        record = ApiTokenRecord(
            id=ITEM_PREFIX + token.id,
            kind="apitoken",
            user_id=token.user_id,
            name=token.name,
            scope=token.scope,
            secret_hash=token.secret_hash,
            created_at=token.created_at,
            token_expires_at=token.expires_at,
        )
        owner = UserRecord(id=token.user_id)
        try:
            with TransactWrite(connection=connection(self.region)) as transaction:
                transaction.save(record, condition=ApiTokenRecord.id.does_not_exist())
                transaction.update(
                    owner,
                    # OIDC users may have no item yet: the update creates it, as a user.
                    actions=[UserRecord.api_tokens.add({token.id}), UserRecord.kind.set("user")],
                    condition=UserRecord.api_tokens.does_not_exist() | (size(UserRecord.api_tokens) < max_tokens),  # type: ignore[no-untyped-call]
                )
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            if len(reasons) > 1 and reasons[1] is not None and reasons[1].code == "ConditionalCheckFailed":
                raise ValidationFailed(
                    f"You have {max_tokens} API tokens already; revoke one first.", max_tokens=max_tokens
                ) from exc
            log.warning("api token creation failed", extra={"error": str(exc.cause_response_code)})
            raise MetadataUnavailable() from exc

    def get(self, token_id: str) -> ApiToken | None:
        try:
            record = ApiTokenRecord.get(ITEM_PREFIX + token_id, consistent_read=True)
        except DoesNotExist:
            return None
        except PynamoDBException as exc:
            raise MetadataUnavailable() from exc
        return _to_token(record) if record.kind == "apitoken" else None

    def list_for(self, user_id: str) -> list[ApiToken]:
        try:
            try:
                user = UserRecord.get(user_id, consistent_read=True)
            except DoesNotExist:
                return []
            ids = sorted(user.api_tokens or ())
            if not ids:
                return []
            records = ApiTokenRecord.batch_get([ITEM_PREFIX + token_id for token_id in ids])
            return [_to_token(record) for record in records if record.user_id == user_id]
        except PynamoDBException as exc:
            raise MetadataUnavailable() from exc

    def remove(self, user_id: str, token_id: str) -> bool:
        """Delete the token if it is this user's; False if there is no such token of theirs."""
        try:
            with TransactWrite(connection=connection(self.region)) as transaction:
                transaction.delete(
                    ApiTokenRecord(id=ITEM_PREFIX + token_id), condition=ApiTokenRecord.user_id == user_id
                )
                transaction.update(UserRecord(id=user_id), actions=[UserRecord.api_tokens.delete({token_id})])
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            if reasons and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed":
                return False
            raise MetadataUnavailable() from exc
        return True

    def touch(self, token_id: str, *, now: int, resolution: int) -> None:
        """Record a use, unless one was recorded less than ``resolution`` seconds ago. Never raises."""
        condition = ApiTokenRecord.id.exists() & (
            ApiTokenRecord.last_used_at.does_not_exist() | (ApiTokenRecord.last_used_at <= now - resolution)
        )
        try:
            ApiTokenRecord(id=ITEM_PREFIX + token_id).update(
                actions=[ApiTokenRecord.last_used_at.set(now)], condition=condition
            )
        except PynamoDBException as exc:
            # A lost race (another request recorded this minute) or a hiccup: bookkeeping must not fail a request.
            if getattr(exc, "cause_response_code", None) != CONDITION_FAILED:
                log.warning("could not record api token use", extra={"token_id": token_id})
