"""Benchmark: what moto's server spends, in CPU, on each call one upload makes (the emulator's share).

    .venv/bin/python scripts/bench/emulator_cost.py [--repeat 20] [--photo FILE]

``scripts/bench/upload_ready.py`` measures the CPU per upload of every process of the local stack; this script
splits moto's part by call, for two servers side by side on free ports: a stock ``moto_server`` (the baseline) and
``scripts/moto_server.py`` as the local stack runs it (each DynamoDB item request atomic; moto's backends listed
once). Each gets a bucket whose ``originals/`` prefix notifies a queue (as the stack's does), and for each kind of
call, ``--repeat`` times on one server then the other with the same 12 MP photo (``build/bench/upload-12mp.jpg``,
made by upload_ready.py): the presigned POST of the original (what the browser sends), the processor's GET of it,
the PUT of a same-sized served copy, of a 2560 px display rendition and of a 600 px thumbnail, the SQS receive +
delete of one notification, the delete of the original and the DynamoDB calls on a record of about an image
record's size (how many of each one upload makes is printed beside it, the renditions' counts from the catalog).
Moto's CPU (Linux ``/proc``, its whole process) is read before and after each kind; the client's own CPU is not
counted. Each line is CPU per call in ms on each server and their ratio; the totals are set against the 2.5 s
goal's budget per upload (125 ms for 40 uploads on 2 CPUs). The clock ticks every 10 ms, so use ``--repeat`` of
20 or more. Last, a call the product does not make: a server-side ``CopyObject`` of the original in place of the
served copy's PUT (the served copy is byte for byte the original when scrubbing removed nothing), to price that
change. Always exits 0.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
import requests  # noqa: E402
from botocore.config import Config  # noqa: E402
from PIL import Image  # noqa: E402

from chalicelib import catalog  # noqa: E402
from scripts.bench.upload_ready import budget, cpu_seconds, twelve_mp_photo  # noqa: E402
from scripts.stack import BIN, HOST, free_port  # noqa: E402

BUCKET = "bench-emulator-cost"
QUEUE = "bench-emulator-cost"


SERVERS = {  # name -> command (the port is appended)
    "stock moto_server": [str(BIN / "moto_server"), "-H", HOST, "-p"],
    "the stack's": [sys.executable, str(ROOT / "scripts" / "moto_server.py"), "-H", HOST, "-p"],
}
Calls = list[tuple[str, Callable[[], None], int]]


def rendition_bytes(photo: bytes, longest_side: int) -> bytes:
    with Image.open(io.BytesIO(photo)) as im:
        im.thumbnail((longest_side, longest_side))
        out = io.BytesIO()
        im.save(out, "JPEG", quality=85)
    return out.getvalue()


def wait_for(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"moto did not answer at {url}")


def upload_calls(url: str, photo: bytes) -> tuple[Calls, Callable[[], None]]:
    """The calls one upload makes on the moto at ``url`` (with how many of each), and the CopyObject it does not."""
    session = boto3.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's, not a secret
        region_name="us-east-1",
    )
    s3 = session.client("s3", endpoint_url=url, config=Config(signature_version="s3v4"))
    sqs = session.client("sqs", endpoint_url=url)
    dynamodb = session.client("dynamodb", endpoint_url=url)
    dynamodb.create_table(
        TableName=QUEUE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    record = {f"field{i}": {"S": "x" * 40} for i in range(20)}  # about an image record's size
    s3.create_bucket(Bucket=BUCKET)
    queue_url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "originals/"}]}},
                }
            ]
        },
    )
    http = requests.Session()
    counter = iter(range(10**9))
    display = rendition_bytes(photo, catalog.DISPLAY_LONGEST_SIDE)
    thumb = rendition_bytes(photo, 600)

    def presigned_post() -> None:
        key = f"originals/{next(counter)}"
        form = s3.generate_presigned_post(
            BUCKET,
            key,
            Fields={"Content-Type": "image/jpeg"},
            Conditions=[{"Content-Type": "image/jpeg"}, ["content-length-range", 1, len(photo)]],
        )
        http.post(
            form["url"], data=form["fields"], files={"file": ("p.jpg", photo, "image/jpeg")}, timeout=60
        ).raise_for_status()

    def get_original() -> None:
        s3.get_object(Bucket=BUCKET, Key="originals/fixed")["Body"].read()

    def put(body: bytes) -> Callable[[], None]:
        def call() -> None:
            s3.put_object(Bucket=BUCKET, Key=f"public/{next(counter)}.jpg", Body=body, ContentType="image/jpeg")

        return call

    def copy_served() -> None:
        s3.copy_object(
            Bucket=BUCKET,
            Key=f"public/{next(counter)}.jpg",
            CopySource={"Bucket": BUCKET, "Key": "originals/fixed"},
            MetadataDirective="REPLACE",
            ContentType="image/jpeg",
        )

    def receive_and_delete() -> None:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1).get("Messages", [])
        for message in messages:
            json.loads(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    def put_item() -> None:
        dynamodb.put_item(TableName=QUEUE, Item={"id": {"S": str(next(counter))}, **record})

    def get_item() -> None:
        dynamodb.get_item(TableName=QUEUE, Key={"id": {"S": "fixed"}}, ConsistentRead=True)

    def mark_ready() -> None:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": QUEUE,
                        "Key": {"id": {"S": "fixed"}},
                        "UpdateExpression": "SET #s = :r",
                        "ConditionExpression": "attribute_exists(id)",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":r": {"S": "ready"}},
                    }
                },
                {
                    "Update": {
                        "TableName": QUEUE,
                        "Key": {"id": {"S": "content#fixed"}},
                        "UpdateExpression": "ADD refs :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        )

    def delete_object() -> None:
        s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": f"gone/{next(counter)}"}], "Quiet": True})

    calls: Calls = [
        (f"presigned POST of the original ({len(photo) / 2**20:.1f} MiB, notifies SQS)", presigned_post, 1),
        ("GET of the original (processor)", get_original, 1),
        (f"PUT of the served copy ({len(photo) / 2**20:.1f} MiB)", put(photo), 1),
        (f"PUT of the display rendition ({len(display) / 1024:.0f} KiB)", put(display), 1),
        (f"PUT of a thumbnail or companion ({len(thumb) / 1024:.0f} KiB)", put(thumb), catalog.thumbnail_files()),
        ("SQS receive + delete of the notification", receive_and_delete, 1),
        ("S3 DeleteObjects (the original, once ready)", delete_object, 1),
        ("DynamoDB PutItem (the pending record)", put_item, 1),
        ("DynamoDB GetItem (the processor reads the record)", get_item, 2),
        ("DynamoDB TransactWriteItems (ready + content ref)", mark_ready, 1),
    ]
    s3.put_object(Bucket=BUCKET, Key="originals/fixed", Body=photo)
    dynamodb.put_item(TableName=QUEUE, Item={"id": {"S": "fixed"}, **record})
    time.sleep(0.5)
    sqs.purge_queue(QueueUrl=queue_url)
    # The first call of each kind imports moto's backends: once each before measuring.
    for _, call, _ in calls:
        call()
    return calls, copy_served


def cpu_ms_per_call(pid: int, call: Callable[[], None], repeat: int) -> float:
    before = cpu_seconds([pid])
    for _ in range(repeat):
        call()
    return (cpu_seconds([pid]) - before) / repeat * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--photo", type=Path)
    args = parser.parse_args()
    photo = args.photo.read_bytes() if args.photo else twelve_mp_photo()
    servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    try:
        for name, command in SERVERS.items():
            port = free_port()
            process = subprocess.Popen(
                [*command, str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            servers[name] = (process, f"http://{HOST}:{port}")
        for _, url in servers.values():
            wait_for(f"{url}/moto-api/")
        prepared = {name: upload_calls(url, photo) for name, (_, url) in servers.items()}
        stock, stack = SERVERS
        stock_pid, stack_pid = servers[stock][0].pid, servers[stack][0].pid
        print(f"moto's CPU per call, {args.repeat} calls each, the same calls on each server in turn (budget per")
        print(f"upload: {budget(40) * 1000:.0f} ms for 40 uploads ready within 2.5 s on 2 CPUs)")
        print(f"  {'call':<55} {stock:>18} {stack:>12}  ratio")
        totals = {stock: 0.0, stack: 0.0}
        pairs = zip(prepared[stock][0], prepared[stack][0], strict=True)  # the same calls, in the same order
        for (name, stock_call, per_upload), (_, stack_call, _) in pairs:
            ms = {
                stock: cpu_ms_per_call(stock_pid, stock_call, args.repeat),
                stack: cpu_ms_per_call(stack_pid, stack_call, args.repeat),
            }
            for server, value in ms.items():
                totals[server] += value * per_upload
            ratio = ms[stack] / ms[stock] if ms[stock] else float("nan")
            print(f"  {name + f' x{per_upload}':<55} {ms[stock]:15.1f} ms {ms[stack]:9.1f} ms  {ratio:.2f}x")
        print(
            f"  {'the calls one upload makes':<55} {totals[stock]:15.1f} ms {totals[stack]:9.1f} ms"
            f"  {totals[stack] / totals[stock]:.2f}x  ({totals[stack] / (budget(40) * 1000):.0%} of the budget)"
        )
        copy_ms = cpu_ms_per_call(stack_pid, prepared[stack][1], args.repeat)
        print(f"  not made: CopyObject of the original instead of the PUT, on {stack}: {copy_ms:.1f} ms")
        print("    (when scrubbing changed no byte, the served copy is the original: a server-side copy moves no body)")
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
