"""The local stack's moto (scripts/moto_server.py): what it changes about stock moto, and that it can be undone."""

from __future__ import annotations

import os

import pytest
from moto import backends

from scripts.moto_server import listed_backends_once


def test_moto_routes_requests_without_listing_its_package_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    stock = backends.list_of_moto_modules
    expected = tuple(stock())
    undo = listed_backends_once()
    try:
        listings: list[object] = []

        def listdir(*args: object) -> list[str]:
            listings.append(args)
            return []

        monkeypatch.setattr(os, "listdir", listdir)
        # What moto's dispatcher asks on every request (werkzeug_app.get_backend_for_host).
        assert "s3" in backends.list_of_moto_modules()
        assert tuple(backends.list_of_moto_modules()) == expected
        assert listings == []
    finally:
        undo()
    assert backends.list_of_moto_modules is stock
