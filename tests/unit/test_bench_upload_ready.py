"""The arithmetic behind scripts/bench/upload_ready.py's CPU bound (what 2 idle CPUs allow, whatever the schedule)."""

from __future__ import annotations

import pytest

from scripts.bench.upload_ready import GOAL_P95_SECONDS, POLLING_LINE, Run, bound, budget, cpu_bound


def test_the_last_image_needs_every_images_cpu_shared_by_the_cpus() -> None:
    assert bound(0.2, uploads=40, clients=20, cpus=2).makespan == pytest.approx(4.0)


def test_the_p95_bound_counts_the_first_round_images_that_must_be_ready_within_it() -> None:
    # p95 of 40 (inclusive quantiles) is at least the 38th smallest latency: at most two exceed it, so 18 of the 20
    # uploads that start together are ready within it.
    assert bound(0.2, uploads=40, clients=20, cpus=2).p95 == pytest.approx(18 * 0.2 / 2)


def test_the_budget_is_the_cpu_per_upload_that_fits_the_burst_in_the_goal() -> None:
    assert bound(budget(40), uploads=40, clients=20).makespan == pytest.approx(GOAL_P95_SECONDS)


def test_the_bound_adds_up_every_process_and_the_client() -> None:
    run = Run("2x10", cpu={"moto": 3.2, "worker": 3.6, "api": 0.2, "redis": 0.08, "client": 0.32})
    assert cpu_bound(run, uploads=40, clients=20).cpu_per_upload == pytest.approx(7.4 / 40)


def test_the_warm_up_finds_the_worker_processes_in_the_log() -> None:
    line = b'{"level":"INFO","logger":"worker","message":"worker 4242 polling http://127.0.0.1:5000/q (batches of up'
    assert POLLING_LINE.findall(line) == [b"4242"]
