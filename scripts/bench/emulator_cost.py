"""Benchmark: what moto's server spends, in CPU, on each call one upload makes (the emulator's share).

    .venv/bin/python scripts/bench/emulator_cost.py [--repeat 20] [--photo FILE]

``scripts/bench/upload_ready.py`` measures the CPU per upload of every process of the local stack; this script
splits moto's part by call. A bare ``moto_server`` on a free port gets a bucket whose ``originals/`` prefix
notifies a queue (as the stack's does), and for each kind of call, ``--repeat`` times with the same 12 MP photo
(``build/bench/upload-12mp.jpg``, made by upload_ready.py): the presigned POST of the original (what the browser
sends), the processor's GET of it, the PUT of a same-sized served copy, a 600 px thumbnail PUT, the SQS
receive + delete of one notification, the delete of the original and the DynamoDB calls on a record of about an
image record's size (how many of each one upload makes is printed beside it). Moto's CPU (Linux ``/proc``, its
whole process) is read before and after each kind; the client's own CPU is not counted. Each line is CPU per call
in ms; the total is set against the 2.5 s goal's budget per upload (125 ms for 40 uploads on 2 CPUs). The clock
ticks every 10 ms, so use ``--repeat`` of 20 or more. Last, a call the product does not make: a server-side
``CopyObject`` of the original in place of the served copy's PUT (the served copy is byte for byte the original
when scrubbing removed nothing), to price that change. Always exits 0.
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

from scripts.bench.upload_ready import budget, cpu_seconds, twelve_mp_photo  # noqa: E402
from scripts.stack import BIN, HOST, free_port  # noqa: E402

BUCKET = "bench-emulator-cost"
QUEUE = "bench-emulator-cost"


def thumbnail_bytes(photo: bytes) -> bytes:
    with Image.open(io.BytesIO(photo)) as im:
        im.thumbnail((600, 600))
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--photo", type=Path)
    args = parser.parse_args()
    photo = args.photo.read_bytes() if args.photo else twelve_mp_photo()
    thumb = thumbnail_bytes(photo)
    port = free_port()
    url = f"http://{HOST}:{port}"
    moto = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", HOST, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(f"{url}/moto-api/")
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

        def put_served_copy() -> None:
            s3.put_object(Bucket=BUCKET, Key=f"public/{next(counter)}.jpg", Body=photo, ContentType="image/jpeg")

        def copy_served() -> None:
            s3.copy_object(
                Bucket=BUCKET,
                Key=f"public/{next(counter)}.jpg",
                CopySource={"Bucket": BUCKET, "Key": "originals/fixed"},
                MetadataDirective="REPLACE",
                ContentType="image/jpeg",
            )

        def put_thumbnail() -> None:
            s3.put_object(Bucket=BUCKET, Key=f"public/t/{next(counter)}.jpg", Body=thumb, ContentType="image/jpeg")

        def receive_and_delete() -> None:
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1).get("Messages", [])
            for message in messages:
                json.loads(message["Body"])
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

        def put_item() -> None:
            dynamodb.put_item(TableName=QUEUE, Item={"id": {"S": str(next(counter))}, **record})

        def get_item() -> None:
            dynamodb.get_item(TableName=QUEUE, Key={"id": {"S": "fixed"}}, ConsistentRead=True)

        def update_item() -> None:
            dynamodb.update_item(
                TableName=QUEUE,
                Key={"id": {"S": "fixed"}},
                UpdateExpression="SET #s = :r",
                ConditionExpression="attribute_exists(id)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":r": {"S": "ready"}},
                ReturnValues="ALL_NEW",
            )

        def delete_object() -> None:
            s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": f"gone/{next(counter)}"}], "Quiet": True})

        calls: list[tuple[str, Callable[[], None], int]] = [
            (f"presigned POST of the original ({len(photo) / 2**20:.1f} MiB, notifies SQS)", presigned_post, 1),
            ("GET of the original (processor)", get_original, 1),
            (f"PUT of the served copy ({len(photo) / 2**20:.1f} MiB)", put_served_copy, 1),
            (f"PUT of a thumbnail ({len(thumb) / 1024:.0f} KiB)", put_thumbnail, 3),
            ("SQS receive + delete of the notification", receive_and_delete, 1),
            ("S3 DeleteObjects (the original, once ready)", delete_object, 1),
            ("DynamoDB PutItem (the pending record)", put_item, 1),
            ("DynamoDB GetItem (the processor reads the record)", get_item, 2),
            ("DynamoDB UpdateItem (pending -> ready)", update_item, 1),
        ]
        s3.put_object(Bucket=BUCKET, Key="originals/fixed", Body=photo)
        dynamodb.put_item(TableName=QUEUE, Item={"id": {"S": "fixed"}, **record})
        time.sleep(0.5)
        sqs.purge_queue(QueueUrl=queue_url)
        # The first call of each kind imports moto's backends: once each before measuring.
        for _, call, _ in calls:
            call()
        print(f"moto's CPU per call, {args.repeat} calls each (a bare moto_server; budget per upload: ", end="")
        print(f"{budget(40) * 1000:.0f} ms for 40 uploads ready within 2.5 s on 2 CPUs)")
        total = 0.0
        for name, call, per_upload in calls:
            before = cpu_seconds([moto.pid])
            for _ in range(args.repeat):
                call()
            ms = (cpu_seconds([moto.pid]) - before) / args.repeat * 1000
            total += ms * per_upload
            print(f"  {name:<55} {ms:6.1f} ms  x{per_upload} per upload")
        share = total / (budget(40) * 1000)
        print(f"  {'the calls above, as many as one upload makes':<55} {total:6.1f} ms  ({share:.0%} of the budget)")
        before = cpu_seconds([moto.pid])
        for _ in range(args.repeat):
            copy_served()
        copy_ms = (cpu_seconds([moto.pid]) - before) / args.repeat * 1000
        print(f"  {'not made: CopyObject of the original instead of the PUT':<55} {copy_ms:6.1f} ms  (when scrubbing")
        print("    changed no byte, the served copy is the original: a server-side copy would move no body)")
    finally:
        moto.terminate()
        moto.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
