"""Chitram Serverless: the Chalice app. Wiring only: blueprints, middleware, the SQS event handler.

Everything with logic lives in ``chalicelib/``; nothing there imports this module.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, CORSConfig, SQSEvent

from chalicelib import composition, logs
from chalicelib.api.auth import auth_api
from chalicelib.api.docs import docs_api
from chalicelib.api.health import health_api
from chalicelib.api.images import images_api
from chalicelib.api.integrity import integrity_api
from chalicelib.api.large_uploads import large_uploads_api
from chalicelib.api.middleware import error_envelope, observe
from chalicelib.api.share import share_api
from chalicelib.api.similar import similar_api
from chalicelib.api.tokens import tokens_api
from chalicelib.settings import get_settings

logs.configure(get_settings().log_level)  # JSON lines with the correlation id (chalicelib/logs.py)
app = Chalice(app_name="chitram")
# API Gateway mangles binary bodies of types it does not list; multipart uploads carry raw image bytes.
app.api.binary_types.append("multipart/form-data")
# CORS is deploy-time configuration: Chalice bakes it into API Gateway's preflight answers when packaging, so
# the site origin is read here, once, rather than per request.
app.api.cors = CORSConfig(
    allow_origin=get_settings().site_origin,
    allow_headers=["Authorization", "Content-Type", "X-Delete-Token"],
    expose_headers=["X-Cache", "Retry-After", "X-Request-Id", "Location"],
    max_age=600,
)
app.register_blueprint(health_api)
app.register_blueprint(images_api)
app.register_blueprint(large_uploads_api)
app.register_blueprint(integrity_api)
app.register_blueprint(docs_api)
app.register_blueprint(auth_api)
app.register_blueprint(tokens_api)
app.register_blueprint(similar_api)
app.register_blueprint(share_api)  # /{ref} share pages and oEmbed (chalicelib/delivery.py)


# The first registered is the outermost: observe sees the final, enveloped response.
app.register_middleware(observe, "http")
app.register_middleware(error_envelope, "http")


@app.on_sqs_message(queue="chitram-processing", batch_size=10)
def handle_sqs(event: SQSEvent) -> dict[str, Any]:
    """S3 ObjectCreated(originals/) notifications, via SQS. Answers with partial batch failures."""
    # Lambda's context says how long this invocation has left (the local worker passes none).
    remaining_ms = getattr(event.context, "get_remaining_time_in_millis", None)
    return composition.processor().handle_sqs_batch((record.to_dict() for record in event), remaining_ms=remaining_ms)
