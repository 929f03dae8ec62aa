"""Composition root: builds each service once per process from settings and lazy clients.

Every factory here is registered with ``@component``: the container calls it once, caches what it returns,
and forgets all of it on ``reset()`` (closing what registered a closer), so a new factory cannot be left out
of a reset. Tests swap one part with ``override(image_service, fake)`` (or by name); ``reset()`` drops the
overrides too. Call sites stay ``composition.image_service()``. Lambda keeps the module (and so these objects
and their pools) warm across invocations.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any, overload

from chalicelib import clients, metrics
from chalicelib.auth.api_tokens import ApiTokenService
from chalicelib.auth.mailer import Mailer, build_mailer
from chalicelib.auth.providers import JwksCache, LocalProvider, OidcProvider, TokenProvider
from chalicelib.auth.store import UserStore
from chalicelib.auth.token_store import ApiTokenStore
from chalicelib.auth.tokens import LocalTokens
from chalicelib.cache import build_redis_nodes
from chalicelib.cache.metadata import MetadataCache, build_metadata_cache
from chalicelib.cache.nodes import RedisNodes
from chalicelib.invalidation import CloudFrontInvalidator, Invalidator, NoInvalidation
from chalicelib.models import bind_tables, reset_connections
from chalicelib.ratelimit import RateLimiter
from chalicelib.records import ImageRecords
from chalicelib.services.images import ImageService
from chalicelib.services.integrity import IntegrityService
from chalicelib.services.multipart import MultipartService
from chalicelib.services.placement import Placement
from chalicelib.services.processor import Processor
from chalicelib.services.similar import SimilarityService
from chalicelib.services.users import UserQuotas, UserService
from chalicelib.settings import get_settings
from chalicelib.storage import Storage


class Container:
    """Factories by name, each built at most once per process (or per ``reset()``), with overrides."""

    def __init__(self) -> None:
        self._factories: dict[str, Callable[[], Any]] = {}
        self._closers: dict[str, Callable[[Any], None]] = {}
        self._instances: dict[str, Any] = {}

    def register[T](self, factory: Callable[[], T], *, close: Callable[[T], None] | None = None) -> Callable[[], T]:
        name = factory.__name__
        if name in self._factories:
            raise ValueError(f"component {name!r} is registered twice")
        self._factories[name] = factory
        if close is not None:
            self._closers[name] = close

        def get() -> T:
            return self.get(name)  # type: ignore[no-any-return]

        get.__name__ = get.__qualname__ = name
        get.__doc__ = factory.__doc__
        return get

    def get(self, name: str) -> Any:
        if name not in self._instances:
            self._instances[name] = self._factories[name]()
        return self._instances[name]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._factories)

    def built(self) -> frozenset[str]:
        """The components built (or overridden) since the last reset."""
        return frozenset(self._instances)

    def override(self, component: str | Callable[[], object], obj: object) -> None:
        """Serve ``obj`` for ``component`` until the next ``reset()``."""
        name = component if isinstance(component, str) else component.__name__
        if name not in self._factories:
            raise KeyError(f"no component named {name!r}")
        self._instances[name] = obj

    def reset(self) -> None:
        """Forget every built or overridden object, closing those that registered a closer."""
        instances, self._instances = self._instances, {}
        for name, obj in instances.items():
            if (close := self._closers.get(name)) is not None:
                close(obj)


container = Container()


@overload
def component[T](factory: Callable[[], T], /) -> Callable[[], T]: ...
@overload
def component[T](*, close: Callable[[T], None]) -> Callable[[Callable[[], T]], Callable[[], T]]: ...
def component[T](
    factory: Callable[[], T] | None = None, /, *, close: Callable[[T], None] | None = None
) -> Callable[[], T] | Callable[[Callable[[], T]], Callable[[], T]]:
    """Register a factory with the container (``@component`` or ``@component(close=...)``)."""
    if factory is not None:
        return container.register(factory)
    return lambda f: container.register(f, close=close)


@overload
def override[T](component: Callable[[], T], obj: T) -> None: ...
@overload
def override(component: str, obj: object) -> None: ...
def override(component: str | Callable[[], object], obj: object) -> None:
    """Serve ``obj`` for ``component`` until the next ``reset()`` (tests); typed against the factory's result."""
    container.override(component, obj)


def _close_nodes(nodes: RedisNodes | None) -> None:
    if nodes is not None:
        nodes.close()


@component(close=_close_nodes)
def redis_nodes() -> RedisNodes | None:
    return build_redis_nodes(get_settings())


@component
def metadata_cache() -> MetadataCache:
    return build_metadata_cache(get_settings(), redis_nodes())


@component
def rate_limiter() -> RateLimiter:
    return RateLimiter(redis_nodes())


@component
def storage() -> Storage:
    return Storage(get_settings().bucket_name)


@component
def image_records() -> ImageRecords:
    settings = get_settings()
    bind_tables(settings)
    return ImageRecords(gallery_shards=settings.gallery_shards)


@component
def invalidator() -> Invalidator:
    parameter = get_settings().cdn_distribution_parameter
    return CloudFrontInvalidator(parameter) if parameter else NoInvalidation()


@component
def placement() -> Placement:
    return Placement(storage(), invalidator())


@component
def image_service() -> ImageService:
    return ImageService(
        get_settings(),
        image_records(),
        storage(),
        metadata_cache(),
        time.time,
        metrics,
        quota=user_quotas(),
        placement=placement(),
    )


@component
def multipart_service() -> MultipartService:
    return MultipartService(get_settings(), image_service(), image_records(), storage(), metadata_cache(), time.time)


@component
def integrity_service() -> IntegrityService:
    return IntegrityService(image_records(), storage())


@component
def similarity_service() -> SimilarityService:
    return SimilarityService(image_records())


@component
def user_store() -> UserStore:
    settings = get_settings()
    bind_tables(settings)
    return UserStore(settings.region)


@component
def user_quotas() -> UserQuotas:
    return UserQuotas(get_settings(), user_store())


@component
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


@component
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


@component
def mailer() -> Mailer:
    return build_mailer(get_settings())


@component
def user_service() -> UserService:
    return UserService(get_settings(), user_store(), local_tokens(), rate_limiter(), mailer(), time.time)


@component
def api_token_service() -> ApiTokenService:
    settings = get_settings()
    bind_tables(settings)
    return ApiTokenService(ApiTokenStore(settings.region), time.time)


@component
def processor() -> Processor:
    return Processor(
        get_settings(),
        image_records(),
        storage(),
        metadata_cache(),
        time.time,
        metrics,
        quota=user_quotas(),
    )


def reset() -> None:
    """Forget every cached object (after the environment changed): all components, settings, clients."""
    container.reset()
    get_settings.cache_clear()
    clients.reset_clients()
    reset_connections()
