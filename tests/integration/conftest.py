"""Integration tier: HTTP against the running local stack (moto server, chalice local, worker, redis nodes).

The ``stack``, ``api`` and ``aws_clients`` fixtures live in tests/conftest.py so every tier that needs the running
stack (integration, browser, load) shares one per session.
"""

from __future__ import annotations

from tests.http_api import Api

__all__ = ["Api"]
