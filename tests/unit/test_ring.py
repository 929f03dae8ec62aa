"""The consistent hash ring: balance, minimal movement, weights, determinism, failover order."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from bisect import bisect_right
from collections import Counter
from pathlib import Path

import pytest

from chalicelib.cache.ring import EmptyRingError, HashRing

ROOT = Path(__file__).resolve().parents[2]
NODES = ["redis://10.0.0.1:6379/0", "redis://10.0.0.2:6379/0", "redis://10.0.0.3:6379/0"]
NEW_NODE = "redis://10.0.0.4:6379/0"


def keys(count: int = 10_000, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [f"img:v1:{rng.getrandbits(64):016x}" for _ in range(count)]


def placement(ring: HashRing, ks: list[str]) -> dict[str, str]:
    return {key: ring.get(key) for key in ks}


@pytest.mark.parametrize(
    "ks",
    [
        keys(),
        [f"user-{i}" for i in range(10_000)],
        [f"rl:upload:10.0.{i // 256}.{i % 256}" for i in range(10_000)],
    ],
    ids=["random-ids", "sequential", "ip-addresses"],
)
def test_three_nodes_share_keys_evenly(ks: list[str]) -> None:
    ring = HashRing(NODES, vnodes=150)
    counts = Counter(ring.get(key) for key in ks)
    assert set(counts) == set(NODES)
    for node in NODES:
        assert counts[node] / len(ks) == pytest.approx(1 / 3, abs=0.04), counts


def test_adding_a_node_moves_a_quarter_of_keys_all_to_the_new_node() -> None:
    ks = keys()
    ring = HashRing(NODES)
    before = placement(ring, ks)
    ring.add(NEW_NODE)
    after = placement(ring, ks)
    moved = [key for key in ks if before[key] != after[key]]
    assert 0.20 <= len(moved) / len(ks) <= 0.30
    assert {after[key] for key in moved} == {NEW_NODE}


def test_removing_a_node_moves_only_its_keys() -> None:
    ks = keys()
    ring = HashRing([*NODES, NEW_NODE])
    before = placement(ring, ks)
    ring.remove(NODES[1])
    after = placement(ring, ks)
    for key in ks:
        if before[key] != NODES[1]:
            assert after[key] == before[key]
        else:
            assert after[key] != NODES[1]


def test_removed_nodes_keys_go_to_the_next_node_in_its_preference() -> None:
    ring = HashRing(NODES)
    ks = keys(2_000)
    expected = {key: ring.preference(key)[1] for key in ks if ring.get(key) == NODES[0]}
    ring.remove(NODES[0])
    assert {key: ring.get(key) for key in expected} == expected


def test_weights_skew_load_proportionally() -> None:
    ks = keys(20_000)
    ring = HashRing({NODES[0]: 2, NODES[1]: 1, NODES[2]: 1})
    counts = Counter(ring.get(key) for key in ks)
    assert counts[NODES[0]] / len(ks) == pytest.approx(0.5, abs=0.04)
    assert counts[NODES[1]] / len(ks) == pytest.approx(0.25, abs=0.04)
    assert counts[NODES[2]] / len(ks) == pytest.approx(0.25, abs=0.04)


def test_changing_a_weight_only_moves_keys_to_that_node() -> None:
    ks = keys()
    ring = HashRing(NODES)
    before = placement(ring, ks)
    ring.add(NODES[0], weight=2)
    after = placement(ring, ks)
    assert {after[key] for key in ks if before[key] != after[key]} == {NODES[0]}


def test_placement_is_the_same_in_another_process() -> None:
    ks = keys(200)
    here = [HashRing(NODES).get(key) for key in ks]
    code = (
        "import json, sys; from chalicelib.cache.ring import HashRing; "
        f"ring = HashRing({NODES!r}); "
        "print(json.dumps([ring.get(k) for k in json.loads(sys.stdin.read())]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(ks),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONHASHSEED": "random", "PYTHONPATH": str(ROOT)},
    )
    assert json.loads(out.stdout) == here


def test_preference_lists_every_node_once_starting_with_the_owner() -> None:
    ring = HashRing(NODES)
    for key in keys(500):
        preference = list(ring.get_preference(key))
        assert preference[0] == ring.get(key)
        assert sorted(preference) == sorted(NODES)


def test_fast_table_agrees_with_bisect_everywhere() -> None:
    ring = HashRing(NODES, vnodes=20)
    lookup = ring._lookup
    probes = [p + d for p in lookup.points for d in (-1, 0, 1)] + [0, 2**32 - 1]
    probes += [random.Random(3).getrandbits(32) for _ in range(5_000)]
    for h in probes:
        h &= 0xFFFFFFFF
        slot = ring._table[h >> 16]
        assert slot is None or slot == lookup.owners[bisect_right(lookup.points, h)]


def test_empty_ring_raises_a_clear_error() -> None:
    ring = HashRing([])
    with pytest.raises(EmptyRingError, match="no nodes"):
        ring.get("img:v1:x")
    with pytest.raises(EmptyRingError):
        list(ring.get_preference("img:v1:x"))


def test_removing_the_last_node_empties_the_ring() -> None:
    ring = HashRing(["only"])
    assert ring.get("k") == "only"
    ring.remove("only")
    with pytest.raises(EmptyRingError):
        ring.get("k")


def test_removing_an_unknown_node_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="not on the ring"):
        HashRing(NODES).remove("nope")


@pytest.mark.parametrize("weight", [0, -1, 1.5])
def test_weights_must_be_positive_integers(weight: object) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        HashRing({"a": weight})
