"""moto's server, with each DynamoDB request atomic as it is on DynamoDB.

DynamoDB applies every request (a conditional ``UpdateItem``, a ``TransactWriteItems``) atomically; moto's
backend does not lock, so two requests served by two of its threads can interleave inside one read-modify-write
(two ``ADD refs 1`` both read 1 and both write 2, or a transaction's conditions pass and another thread changes
the item before its writes land), and a read can see a write half done (an ``UpdateItem`` that creates an item
adds it before it sets its attributes, so a ``GetItem`` in between finds an item without them). The reference
counts of shared renditions (ADR 0013) rely on that atomicity, so the local stack runs moto with one lock around
each request that touches items; the interleaving *between* requests is untouched, which is exactly the
concurrency DynamoDB has. ``atomic_requests()`` is also used in-process by the functional tier's race tests.

It also lists moto's backends once (``listed_backends_once()``) instead of on every request, a fixed cost of moto's
routing (scripts/bench/emulator_cost.py compares the two servers).

    python scripts/moto_server.py -H 127.0.0.1 -p 5000     (the same arguments as ``moto_server``)
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from typing import Any

# BatchGetItem and TransactGetItems are served through get_item; BatchWriteItem through put_item/delete_item.
ITEM_REQUESTS = ("put_item", "update_item", "delete_item", "transact_write_items", "get_item", "query", "scan")
_LOCK = threading.RLock()


def atomic_requests() -> Callable[[], None]:
    """Make each of moto's DynamoDB item requests atomic in this process; returns a function that undoes it."""
    from moto.dynamodb.models import DynamoDBBackend

    originals = {name: getattr(DynamoDBBackend, name) for name in ITEM_REQUESTS}

    def locked(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            with _LOCK:
                return method(*args, **kwargs)

        return call

    for name, method in originals.items():
        setattr(DynamoDBBackend, name, locked(method))

    def undo() -> None:
        for name, method in originals.items():
            setattr(DynamoDBBackend, name, method)

    return undo


def listed_backends_once() -> Callable[[], None]:
    """Have moto list its backend packages once, not on every request; returns a function that undoes it.

    To route a request moto asks whether its Host header names a backend, and answers by listing its own package
    directory (``moto.backends.list_of_moto_modules``: a ``listdir`` and a ``stat`` for each of ~180 entries) each
    time, twice per request: 0.2-1 ms of CPU a request (13 % of a small DynamoDB call in-process). The directory
    cannot change while the server runs.
    """
    from moto import backends

    original = backends.list_of_moto_modules
    listed = tuple(original())
    backends.list_of_moto_modules = lambda: listed

    def undo() -> None:
        backends.list_of_moto_modules = original

    return undo


def main(argv: list[str] | None = None) -> int:
    from moto.server import main as moto_main

    atomic_requests()
    listed_backends_once()
    moto_main(argv if argv is not None else sys.argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
