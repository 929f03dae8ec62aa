"""Consistent hash ring: which cache node owns a key, and which nodes take over when it fails.

Layout (see docs/adr/0002-consistent-hash-ring.md for the measurements behind each choice):

* Each node gets ``vnodes * weight`` virtual nodes. Each virtual node is one BLAKE2b digest of
  ``"{node}-{i}"``, cut into four 32-bit points (the ketama layout), so a node owns
  ``4 * vnodes * weight`` points. Four points per digest keeps the load within a couple of percent of
  fair with 150 virtual nodes; one point per digest is visibly lumpier.
* Keys are hashed with CRC-32 (``zlib.crc32``). Points and key hashes therefore live in the same 32-bit
  space. Every stdlib 64-bit hash (``hashlib``) costs ~450 ns per call in CPython, which alone is more than
  the whole lookup budget; CRC-32 costs ~50 ns and spreads our keys evenly (see the ADR). The ring is for
  load spreading, not security: an attacker who can choose keys can pile them on one node with any
  unkeyed hash.
* A key belongs to the first point strictly after its hash (wrapping round), found with ``bisect_right``
  on a plain sorted list, with a parallel list of owners. In front of that sits a 65,536-entry table
  indexed by the top 16 bits of the hash: a slot whose whole range maps to one owner answers directly,
  so ~97% of lookups never bisect. It is rebuilt (a few ms) whenever the membership changes.

The lookup state is one tuple swapped in a single assignment, so a reader never sees half a rebuild.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from typing import NamedTuple
from zlib import crc32

__all__ = ["EmptyRingError", "HashRing", "hash_key"]

_POINTS_PER_DIGEST = 4
_HASH_BITS = 32
_TABLE_BITS = 16
_TABLE_SHIFT = _HASH_BITS - _TABLE_BITS
_TABLE_SIZE = 1 << _TABLE_BITS


class EmptyRingError(LookupError):
    """The ring has no nodes, so no key can be placed."""

    def __init__(self) -> None:
        super().__init__("the hash ring has no nodes; add one before looking up keys")


def hash_key(key: str) -> int:
    """The ring position of ``key``: CRC-32 of its UTF-8 bytes (same in every process, unlike ``hash()``)."""
    return crc32(key.encode())


def _node_points(node: str, count: int) -> list[int]:
    """``count`` virtual nodes for ``node``, four 32-bit points from each BLAKE2b-128 digest."""
    points: list[int] = []
    for i in range(count):
        digest = hashlib.blake2b(f"{node}-{i}".encode(), digest_size=16).digest()
        points.extend(int.from_bytes(digest[4 * j : 4 * j + 4], "big") for j in range(_POINTS_PER_DIGEST))
    return points


class _Lookup(NamedTuple):
    table: list[str | None]  # owner per top-16-bit slot, or None when the slot straddles an owner change
    points: list[int]  # sorted ring points
    owners: list[str]  # owners[i] owns points[i]; one extra entry (owners[0]) so the wrap needs no modulo
    preferences: list[tuple[str, ...]]  # distinct nodes in ring order starting at point i (same extra entry)


_EMPTY = _Lookup(table=[], points=[], owners=[], preferences=[])


class HashRing:
    """A weighted consistent hash ring over node names.

    ``nodes`` is either an iterable of names (weight 1 each) or a mapping of name to integer weight.
    Names should be stable identifiers (``host:port/db``): they decide where the points fall.
    """

    __slots__ = ("_lookup", "_table", "_vnodes", "_weights")

    def __init__(self, nodes: Mapping[str, int] | Iterable[str] = (), vnodes: int = 150) -> None:
        if vnodes < 1:
            raise ValueError(f"vnodes must be >= 1, got {vnodes}")
        self._vnodes = vnodes
        self._weights: dict[str, int] = {}
        self._lookup = _EMPTY
        self._table: list[str | None] = []
        items = nodes.items() if isinstance(nodes, Mapping) else ((name, 1) for name in nodes)
        for name, weight in items:
            self._set_weight(name, weight)
        self._rebuild()

    # --- membership ---------------------------------------------------------------------------

    @property
    def nodes(self) -> dict[str, int]:
        """Node name → weight (a copy)."""
        return dict(self._weights)

    @property
    def vnodes(self) -> int:
        return self._vnodes

    def __len__(self) -> int:
        return len(self._weights)

    def __contains__(self, node: object) -> bool:
        return node in self._weights

    def add(self, node: str, weight: int = 1) -> None:
        """Add ``node`` (or change its weight). Only keys that now fall on its points move, all to it."""
        self._set_weight(node, weight)
        self._rebuild()

    def remove(self, node: str) -> None:
        """Remove ``node``. Only its keys move, each to the next node on the ring."""
        try:
            del self._weights[node]
        except KeyError:
            raise KeyError(f"node {node!r} is not on the ring") from None
        self._rebuild()

    def _set_weight(self, node: str, weight: int) -> None:
        if not isinstance(weight, int) or weight < 1:
            raise ValueError(f"weight of {node!r} must be a positive integer, got {weight!r}")
        self._weights[node] = weight

    # --- lookups ------------------------------------------------------------------------------

    def get(self, key: str) -> str:
        """The node that owns ``key``. Raises ``EmptyRingError`` when the ring is empty."""
        # The hot path: one C hash, one list index. ``self._table`` is a slot of its own (not read through
        # ``self._lookup``) because that saves ~25 ns a call; the fallback reads points and owners from one
        # tuple, so even mid-rebuild it answers from a consistent ring.
        h = crc32(key.encode())
        try:
            owner = self._table[h >> _TABLE_SHIFT]
        except IndexError:
            raise EmptyRingError() from None
        if owner is None:
            lookup = self._lookup
            owner = lookup.owners[bisect_right(lookup.points, h)]
        return owner

    def get_preference(self, key: str) -> Iterator[str]:
        """Every node once, in ring order from ``key``'s owner: the failover order for ``key``."""
        return iter(self.preference(key))

    def preference(self, key: str) -> tuple[str, ...]:
        """``get_preference`` as a tuple (precomputed per point, so this costs one bisect)."""
        lookup = self._lookup
        if not lookup.points:
            raise EmptyRingError()
        return lookup.preferences[bisect_right(lookup.points, crc32(key.encode()))]

    # --- building -----------------------------------------------------------------------------

    def _rebuild(self) -> None:
        if not self._weights:
            self._lookup = _EMPTY
            self._table = []
            return
        # Ties (two nodes on one 32-bit point, ~1e-4 odds per ring) are broken by name so every process
        # builds the same ring.
        ring = sorted(
            (point, name)
            for name, weight in self._weights.items()
            for point in _node_points(name, self._vnodes * weight)
        )
        points = [point for point, _ in ring]
        owners = [name for _, name in ring]
        owners.append(owners[0])
        preferences = _preferences(owners[:-1], len(self._weights))
        preferences.append(preferences[0])
        lookup = _Lookup(_slot_table(points, owners), points, owners, preferences)
        self._lookup = lookup
        self._table = lookup.table


def _preferences(owners: list[str], distinct: int) -> list[tuple[str, ...]]:
    """For each point index, the distinct owners met walking the ring from there."""
    size = len(owners)
    result: list[tuple[str, ...]] = []
    for start in range(size):
        seen: dict[str, None] = {}
        i = start
        while len(seen) < distinct:
            seen.setdefault(owners[i], None)
            i = i + 1 if i + 1 < size else 0
        result.append(tuple(seen))
    return result


def _slot_table(points: list[int], owners: list[str]) -> list[str | None]:
    """Owner for each top-16-bit slot of the hash space, or None where the owner changes inside the slot.

    A hash ``h`` belongs to ``owners[bisect_right(points, h)]``. For a slot holding no point that index is
    the same for the whole slot. For a slot holding points ``i..j`` the candidates are ``owners[i..j+1]``;
    the slot is answered directly only if they are all the same node.
    """
    table: list[str | None] = [None] * _TABLE_SIZE
    next_free_slot = 0  # first slot not yet filled
    i = 0
    n = len(points)
    while i < n:
        slot = points[i] >> _TABLE_SHIFT
        # Slots before this point's slot hold no point: their keys go to point i.
        if slot > next_free_slot:
            table[next_free_slot:slot] = [owners[i]] * (slot - next_free_slot)
        j = i
        while j + 1 < n and points[j + 1] >> _TABLE_SHIFT == slot:
            j += 1
        candidates = set(owners[i : j + 2])  # owners has the wrap entry at index n
        table[slot] = owners[i] if len(candidates) == 1 else None
        next_free_slot = slot + 1
        i = j + 1
    # Slots after the last point wrap round to the first point.
    if next_free_slot < _TABLE_SIZE:
        table[next_free_slot:] = [owners[n]] * (_TABLE_SIZE - next_free_slot)
    return table
