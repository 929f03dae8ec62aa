"""The composition container: each part built once, overridable, and all of it forgotten on reset."""

from __future__ import annotations

import inspect

import pytest

from chalicelib import composition
from chalicelib.composition import Container


def test_every_factory_in_the_composition_root_is_a_registered_component() -> None:
    public = {
        name
        for name, obj in vars(composition).items()
        if inspect.isfunction(obj) and obj.__module__ == composition.__name__ and not name.startswith("_")
    }
    helpers = {"component", "override", "reset"}
    assert public - helpers == composition.container.names, "a factory that reset() would not clear"


def test_a_component_is_built_once_until_reset() -> None:
    box = Container()
    built: list[int] = []

    @box.register
    def counter() -> int:
        built.append(1)
        return len(built)

    assert counter() == counter() == 1
    box.reset()
    assert counter() == 2


def test_reset_forgets_every_component_of_the_composition_root() -> None:
    first = composition.storage(), composition.mailer(), composition.local_tokens()
    assert {"storage", "mailer", "local_tokens"} <= composition.container.built()
    composition.reset()
    assert composition.container.built() == frozenset()
    second = composition.storage(), composition.mailer(), composition.local_tokens()
    assert all(a is not b for a, b in zip(first, second, strict=True))


def test_override_serves_the_given_object_until_reset() -> None:
    fake = object()
    composition.override(composition.mailer, fake)
    assert composition.mailer() is fake
    composition.override("storage", fake)
    assert composition.storage() is fake
    composition.reset()
    assert composition.mailer() is not fake


def test_reset_closes_what_registered_a_closer() -> None:
    box = Container()
    closed: list[str] = []

    @box.register
    def plain() -> str:
        return "plain"

    def closer(value: str) -> None:
        closed.append(value)

    closing = box.register(lambda: "pooled", close=closer)
    plain(), closing()
    box.reset()
    assert closed == ["pooled"]


def test_unknown_and_duplicate_components_are_refused() -> None:
    box = Container()

    def part() -> int:
        return 1

    box.register(part)
    with pytest.raises(ValueError, match="registered twice"):
        box.register(part)
    with pytest.raises(KeyError, match="no component named 'nothing'"):
        box.override("nothing", 1)
