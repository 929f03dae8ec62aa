"""Every metric the service promises appears in its EMF output with the right dimensions, and logs carry the
upload request's correlation id into the processor.

EMF lines go to stdout and JSON log lines to stderr; ``capsys`` captures both from the in-process app.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
from chalice.test import Client
from PIL import Image

from chalicelib import composition, metrics
from chalicelib.cache.nodes import RedisNodes
from chalicelib.queues import MAX_RECEIVE_COUNT
from chalicelib.settings import get_settings
from tests.conftest import ROOT, make_jpeg, make_png
from tests.fakes import FakeRedisNode
from tests.functional.conftest import body, drain_queue

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def cache_nodes(aws: None) -> RedisNodes:
    nodes = RedisNodes(["redis://node-a:6379/0", "redis://node-b:6379/0"], client_factory=FakeRedisNode)
    composition.reset()
    composition.override(composition.redis_nodes, nodes)
    return nodes


def emf_lines(text: str) -> list[dict[str, Any]]:
    records = []
    for line in text.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            records.append(json.loads(line))
    return records


def log_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{") and '"level"' in line]


def find(records: list[dict[str, Any]], metric: str, **dimensions: str) -> list[dict[str, Any]]:
    return [r for r in records if metric in r and all(r.get(k) == v for k, v in dimensions.items())]


def dimension_sets(record: dict[str, Any]) -> list[list[str]]:
    [directive] = record["_aws"]["CloudWatchMetrics"]
    return directive["Dimensions"]  # type: ignore[no-any-return]


def test_emf_record_follows_the_specification() -> None:
    record = metrics.emf_record(
        {"Latency": (12.5, metrics.Unit.MILLISECONDS)}, {"Route": "/health"}, timestamp_ms=1_700_000_000_000
    )
    assert record == {
        "_aws": {
            "Timestamp": 1_700_000_000_000,
            "CloudWatchMetrics": [
                {
                    "Namespace": "Chitram",
                    "Dimensions": [["Stage", "Route"]],
                    "Metrics": [{"Name": "Latency", "Unit": "Milliseconds"}],
                }
            ],
        },
        "Stage": "test",
        "Route": "/health",
        "Latency": 12.5,
    }


def test_requests_are_counted_by_route_and_status_with_latency(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    assert client.http.get("/api/v1/images/nope").status_code == 404
    records = emf_lines(capsys.readouterr().out)
    [request] = find(records, "Requests", Route="/api/v1/images/{image_id}", Status="404")
    assert request["Requests"] == 1
    assert dimension_sets(request) == [["Stage", "Route", "Status"]]
    [latency] = find(records, "Latency", Route="/api/v1/images/{image_id}")
    assert latency["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "Latency", "Unit": "Milliseconds"}]
    assert latency["Latency"] >= 0


def test_cache_hits_and_misses_are_counted_per_node(
    client: Client, cache_nodes: RedisNodes, capsys: pytest.CaptureFixture[str]
) -> None:
    image_id = body(
        client.http.post(
            "/api/v1/images/upload-url",
            headers=JSON,
            body=json.dumps({"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}),
        )
    )["id"]
    capsys.readouterr()
    client.http.get(f"/api/v1/images/{image_id}")  # miss, then cached
    client.http.get(f"/api/v1/images/{image_id}")  # hit
    records = emf_lines(capsys.readouterr().out)
    owner = cache_nodes.owner(f"img:v1:{image_id}").url
    cache_records = find(records, "CacheHits", Node=owner)
    assert [(r["CacheHits"], r["CacheMisses"]) for r in cache_records] == [(0, 1), (1, 0)]
    assert dimension_sets(cache_records[0]) == [["Stage", "Node"]]
    assert cache_records[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [
        {"Name": "CacheHits", "Unit": "Count"},
        {"Name": "CacheMisses", "Unit": "Count"},
    ]


def test_upload_sizes_are_recorded_for_both_upload_paths(client: Client, capsys: pytest.CaptureFixture[str]) -> None:
    png = make_png(40, 30)
    boundary = "metricsboundary"
    multipart = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + png
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = client.http.post(
        "/api/v1/images/upload", headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}, body=multipart
    )
    assert response.status_code == 201, response.body
    jpeg = make_jpeg(320, 240)
    ticket = body(
        client.http.post(
            "/api/v1/images/upload-url",
            headers=JSON,
            body=json.dumps({"filename": "b.jpg", "content_type": "image/jpeg", "size": len(jpeg)}),
        )
    )
    boto3.client("s3").put_object(Bucket=get_settings().bucket_name, Key=f"originals/{ticket['id']}", Body=jpeg)
    assert drain_queue() == []
    records = emf_lines(capsys.readouterr().out)
    assert [r["UploadBytes"] for r in find(records, "UploadBytes", Path="api")] == [len(png)]
    [presigned] = find(records, "UploadBytes", Path="presigned")
    assert presigned["UploadBytes"] == len(jpeg)
    assert presigned["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "UploadBytes", "Unit": "Bytes"}]
    assert dimension_sets(presigned) == [["Stage", "Path"]]


def test_processing_time_and_rejects_by_reason(client: Client, capsys: pytest.CaptureFixture[str]) -> None:
    ids = []
    for data in (make_jpeg(200, 100), b"this is not an image"):
        ticket = body(
            client.http.post(
                "/api/v1/images/upload-url",
                headers=JSON,
                body=json.dumps({"filename": "x.jpg", "content_type": "image/jpeg", "size": len(data)}),
            )
        )
        boto3.client("s3").put_object(Bucket=get_settings().bucket_name, Key=f"originals/{ticket['id']}", Body=data)
        ids.append(ticket["id"])
    assert drain_queue() == []
    records = emf_lines(capsys.readouterr().out)
    ready = find(records, "ProcessingTime", Outcome="ready")
    rejected = find(records, "ProcessingTime", Outcome="rejected")
    assert [r["image_id"] for r in ready] == [ids[0]]
    assert [r["image_id"] for r in rejected] == [ids[1]]
    assert dimension_sets(ready[0]) == [["Stage", "Outcome"]]
    [reject] = find(records, "Rejects")
    assert (reject["Reason"], reject["Rejects"], reject["image_id"]) == ("NOT_AN_IMAGE", 1, ids[1])
    assert dimension_sets(reject) == [["Stage", "Reason"]]


def test_a_failure_on_the_last_receive_counts_as_dead_lettered(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    processor = composition.processor()

    def broken(key: str) -> str:
        raise ConnectionError("storage went away")

    monkeypatch.setattr(processor, "handle_object", broken)
    event = json.dumps({"Records": [{"eventName": "ObjectCreated:Post", "s3": {"object": {"key": "originals/x"}}}]})
    messages = [
        {"messageId": "first", "body": event, "attributes": {"ApproximateReceiveCount": "1"}},
        {"messageId": "last", "body": event, "attributes": {"ApproximateReceiveCount": str(MAX_RECEIVE_COUNT)}},
    ]
    result = processor.handle_sqs_batch(messages)
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == ["first", "last"]
    records = emf_lines(capsys.readouterr().out)
    assert [r["message_id"] for r in find(records, "ProcessingFailures")] == ["first", "last"]
    [dead] = find(records, "DeadLettered")
    assert (dead["message_id"], dead["DeadLettered"]) == ("last", 1)
    assert dimension_sets(dead) == [["Stage"]]


def test_processor_logs_with_the_upload_requests_correlation_id(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    jpeg = make_jpeg(64, 48)
    response = client.http.post(
        "/api/v1/images/upload-url",
        headers=JSON,
        body=json.dumps({"filename": "c.jpg", "content_type": "image/jpeg", "size": len(jpeg)}),
    )
    request_id = response.headers["X-Request-Id"]
    image_id = body(response)["id"]
    boto3.client("s3").put_object(Bucket=get_settings().bucket_name, Key=f"originals/{image_id}", Body=jpeg)
    assert drain_queue() == []
    logs = log_lines(capsys.readouterr().err)
    [access] = [line for line in logs if line["message"] == "request" and line["route"].endswith("upload-url")]
    assert access["correlation_id"] == request_id
    assert (access["status"], access["method"], access["level"], access["logger"]) == (
        201,
        "POST",
        "INFO",
        "api.access",
    )
    [ready] = [line for line in logs if line["message"] == "image ready"]
    assert ready["correlation_id"] == request_id
    assert ready["image_id"] == image_id  # the ``extra`` fields the code passes are kept


def test_make_metrics_renders_a_table_and_a_chart_from_a_run_log(
    client: Client, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for _ in range(3):
        client.http.get("/health")
    client.http.get("/api/v1/images/nope")
    run_log = tmp_path / "api.log"
    run_log.write_text("chalice local starting\n" + capsys.readouterr().out)
    chart = tmp_path / "metrics.png"
    result = subprocess.run(
        ["make", "--no-print-directory", "metrics", f"RUN_LOGS={run_log}", f"METRICS_PNG={chart}", "STAMP="],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = {tuple(line.split()[:2]) for line in result.stdout.splitlines()}
    assert ("Requests", "Route=/health,") in rows
    assert ("Latency", "Route=/health") in rows
    health = next(line for line in result.stdout.splitlines() if line.startswith("Requests") and "/health" in line)
    assert health.split()[-2:] == ["3", "3"]  # count and sum; no percentiles for a Count
    with Image.open(chart) as png:
        assert (png.format, png.size) == ("PNG", (900, 520))


def test_metrics_table_has_percentiles_for_timings() -> None:
    from scripts.metrics import parse_emf, render_table, summarize

    lines = [
        json.dumps(metrics.emf_record({"Latency": (float(ms), metrics.Unit.MILLISECONDS)}, {"Route": "/x"}))
        for ms in range(1, 101)
    ]
    [series] = summarize(parse_emf(lines))
    row = series.row()
    assert (row["count"], row["sum"], row["p50"], row["p95"]) == (100, 5050.0, 50.0, 95.0)
    assert render_table([series]).splitlines()[2].split() == [
        "Latency",
        "Route=/x",
        "Milliseconds",
        "100",
        "5050",
        "50",
        "95",
    ]
