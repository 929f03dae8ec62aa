"""Composition root: builds each service once per process from settings and lazy clients.

This is the test seam: tests call ``reset()`` after changing the environment, or build services directly with
their own collaborators. Lambda keeps the module (and so these objects and their pools) warm across
invocations.
"""

from __future__ import annotations

import secrets
import time
from functools import lru_cache

from chalicelib import clients, metrics
from chalicelib.auth.api_tokens import ApiTokenService
from chalicelib.auth.mailer import Mailer, build_mailer
from chalicelib.auth.providers import JwksCache, LocalProvider, OidcProvider, TokenProvider
from chalicelib.auth.store import UserStore
from chalicelib.auth.token_store import ApiTokenStore
from chalicelib.auth.tokens import LocalTokens
from chalicelib.cache.metadata import MetadataCache, build_metadata_cache
from chalicelib.cache.nodes import RedisNodes
from chalicelib.models import bind_tables, reset_connections
from chalicelib.ratelimit import RateLimiter
from chalicelib.records import ImageRecords
from chalicelib.services.images import ImageService
from chalicelib.services.processor import Processor
from chalicelib.services.users import UserQuotas, UserService
from chalicelib.settings import get_settings
from chalicelib.storage import Storage


@lru_cache(maxsize=1)
def redis_nodes() -> RedisNodes | None:
    settings = get_settings()
    if not settings.redis_nodes:
        return None
    return RedisNodes(settings.redis_nodes, vnodes=settings.cache_virtual_nodes)


@lru_cache(maxsize=1)
def metadata_cache() -> MetadataCache:
    return build_metadata_cache(get_settings(), redis_nodes())


@lru_cache(maxsize=1)
def rate_limiter() -> RateLimiter:
    return RateLimiter(redis_nodes())


@lru_cache(maxsize=1)
def storage() -> Storage:
    return Storage(get_settings().bucket_name)


@lru_cache(maxsize=1)
def image_records() -> ImageRecords:
    settings = get_settings()
    bind_tables(settings)
    return ImageRecords(gallery_shards=settings.gallery_shards)


@lru_cache(maxsize=1)
def image_service() -> ImageService:
    return ImageService(
        get_settings(), image_records(), storage(), metadata_cache(), time.time, metrics, quota=user_quotas()
    )


@lru_cache(maxsize=1)
def user_store() -> UserStore:
    settings = get_settings()
    bind_tables(settings)
    return UserStore(settings.region)


@lru_cache(maxsize=1)
def user_quotas() -> UserQuotas:
    return UserQuotas(get_settings(), user_store())


@lru_cache(maxsize=1)
def local_tokens() -> LocalTokens:
    settings = get_settings()
    # With AUTH_PROVIDER=oidc a deployed stage may have no JWT secret; local tokens are then never accepted
    # (the OIDC provider verifies bearers), so a random key keeps the local routes' code path total.
    return LocalTokens(
        str(settings.jwt_secret) or secrets.token_urlsafe(48),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.jwt_ttl_seconds,
    )


@lru_cache(maxsize=1)
def auth_provider() -> TokenProvider:
    """The bearer-token verifier ``AUTH_PROVIDER`` names (its JWKS cache lives as long as the process)."""
    settings = get_settings()
    if settings.auth_provider == "oidc":
        jwks = JwksCache(
            settings.oidc_jwks_url,
            min_refresh_seconds=settings.oidc_jwks_min_refresh_seconds,
            max_age_seconds=settings.oidc_jwks_max_age_seconds,
        )
        return OidcProvider(issuer=settings.oidc_issuer, audience=settings.oidc_audience, jwks=jwks)
    return LocalProvider(local_tokens(), token_version=user_store().token_version)


@lru_cache(maxsize=1)
def mailer() -> Mailer:
    return build_mailer(get_settings())


@lru_cache(maxsize=1)
def user_service() -> UserService:
    return UserService(get_settings(), user_store(), local_tokens(), rate_limiter(), mailer(), time.time)


@lru_cache(maxsize=1)
def api_token_service() -> ApiTokenService:
    settings = get_settings()
    bind_tables(settings)
    return ApiTokenService(ApiTokenStore(settings.region), time.time)


@lru_cache(maxsize=1)
def processor() -> Processor:
    return Processor(
        get_settings(), image_records(), storage(), metadata_cache(), time.time, metrics, quota=user_quotas()
    )


def reset() -> None:
    """Forget every cached object (after the environment changed)."""
    nodes = redis_nodes.cache_info().currsize and redis_nodes()
    if nodes:
        nodes.close()
    factories = (
        redis_nodes,
        metadata_cache,
        rate_limiter,
        storage,
        image_records,
        image_service,
        processor,
        user_store,
        user_quotas,
        local_tokens,
        auth_provider,
        mailer,
        user_service,
        api_token_service,
    )
    for factory in factories:
        factory.cache_clear()
    get_settings.cache_clear()
    clients.reset_clients()
    reset_connections()
