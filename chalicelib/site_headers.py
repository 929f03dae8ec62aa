"""The web front end's security headers, declared once.

Every server of the site sends these as real response headers: locally ``scripts/webserver.py`` (and the local
edge that will stand in front of it), on AWS the CloudFront distribution's response-headers policy, built by
:func:`cloudfront_security_headers_config`. The pages carry no ``<meta http-equiv>`` copy of the policy (a test
keeps it that way): a meta CSP cannot say ``frame-ancestors`` at all, and eight copies drift.

The policy: scripts, styles and fonts only from the site itself, no inline script or style, no plugins, no
framing by anyone (``frame-ancestors 'none'`` plus ``X-Frame-Options: DENY`` for older browsers). Images and
``fetch``/XHR may reach any http(s) origin because the API and the bucket (presigned POSTs, presigned GETs) are
other origins than the site. HSTS is sent over HTTPS only (browsers ignore it over plain HTTP, and the local
stack is plain HTTP).
"""

from __future__ import annotations

from typing import Any, Final

CSP_DIRECTIVES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("default-src", ("'self'",)),
    ("img-src", ("'self'", "http:", "https:", "data:", "blob:")),
    ("connect-src", ("'self'", "http:", "https:")),
    ("style-src", ("'self'",)),
    ("script-src", ("'self'",)),
    ("object-src", ("'none'",)),
    ("base-uri", ("'self'",)),
    ("form-action", ("'self'",)),
    ("frame-ancestors", ("'none'",)),
)
FRAME_OPTIONS: Final = "DENY"
REFERRER_POLICY: Final = "same-origin"
HSTS_MAX_AGE_SECONDS: Final = 2 * 365 * 24 * 3600  # two years, what hstspreload.org asks for
HSTS_INCLUDE_SUBDOMAINS: Final = True


def content_security_policy() -> str:
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in CSP_DIRECTIVES)


def strict_transport_security() -> str:
    return f"max-age={HSTS_MAX_AGE_SECONDS}" + ("; includeSubDomains" if HSTS_INCLUDE_SUBDOMAINS else "")


def security_headers(*, https: bool) -> dict[str, str]:
    """The headers every response of the site carries (``https``: whether it is served over TLS)."""
    headers = {
        "Content-Security-Policy": content_security_policy(),
        "X-Frame-Options": FRAME_OPTIONS,
        "Referrer-Policy": REFERRER_POLICY,
        "X-Content-Type-Options": "nosniff",
    }
    if https:
        headers["Strict-Transport-Security"] = strict_transport_security()
    return headers


def cloudfront_security_headers_config() -> dict[str, Any]:
    """The same headers as an ``AWS::CloudFront::ResponseHeadersPolicy``'s ``SecurityHeadersConfig``."""
    return {
        "ContentSecurityPolicy": {"ContentSecurityPolicy": content_security_policy(), "Override": True},
        "ContentTypeOptions": {"Override": True},
        "FrameOptions": {"FrameOption": FRAME_OPTIONS, "Override": True},
        "ReferrerPolicy": {"ReferrerPolicy": REFERRER_POLICY, "Override": True},
        "StrictTransportSecurity": {
            "AccessControlMaxAgeSec": HSTS_MAX_AGE_SECONDS,
            "IncludeSubdomains": HSTS_INCLUDE_SUBDOMAINS,
            "Override": True,
        },
    }
