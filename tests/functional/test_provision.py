"""The local stack is provisioned from the deployed template's own resource definitions (infra/template.py)."""

from __future__ import annotations

import json
from typing import Any

import boto3

from chalicelib.queues import MAX_RECEIVE_COUNT, dead_letter_queue_name
from chalicelib.settings import get_settings
from chalicelib.storage import ORIGINALS_PREFIX
from infra import template
from scripts.provision import LOCAL_VISIBILITY_TIMEOUT_SECONDS, provision, resolve

RESOURCES: dict[str, Any] = template.build()["Resources"]


def test_bucket_rules_are_the_templates(aws: None) -> None:
    settings = get_settings()
    s3 = boto3.client("s3", region_name=settings.region)
    declared = RESOURCES["ImagesBucket"]["Properties"]
    [cors] = s3.get_bucket_cors(Bucket=settings.bucket_name)["CORSRules"]
    [rule] = declared["CorsConfiguration"]["CorsRules"]
    assert cors["AllowedOrigins"] == [settings.site_origin]
    assert (cors["AllowedMethods"], cors["ExposeHeaders"], cors["MaxAgeSeconds"]) == (
        rule["AllowedMethods"],
        rule["ExposedHeaders"],
        rule["MaxAge"],
    )
    lifecycle = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=settings.bucket_name)["Rules"]}
    assert set(lifecycle) == {r["Id"] for r in declared["LifecycleConfiguration"]["Rules"]}
    assert lifecycle["expire-abandoned-originals"]["Filter"] == {"Prefix": ORIGINALS_PREFIX}
    [notification] = s3.get_bucket_notification_configuration(Bucket=settings.bucket_name)["QueueConfigurations"]
    assert notification["QueueArn"].endswith(f":{settings.queue_name}")
    assert notification["Events"] == ["s3:ObjectCreated:*"]
    assert notification["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": ORIGINALS_PREFIX}]


def test_queue_and_dead_letter_queue_are_the_templates(aws: None) -> None:
    settings = get_settings()
    sqs = boto3.client("sqs", region_name=settings.region)
    url = sqs.get_queue_url(QueueName=settings.queue_name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["maxReceiveCount"] == MAX_RECEIVE_COUNT
    assert redrive["deadLetterTargetArn"].endswith(f":{dead_letter_queue_name(settings.queue_name)}")
    declared = RESOURCES["ProcessingQueue"]["Properties"]
    assert int(attributes["MessageRetentionPeriod"]) == declared["MessageRetentionPeriod"]
    assert int(attributes["VisibilityTimeout"]) == LOCAL_VISIBILITY_TIMEOUT_SECONDS  # the one local difference
    dlq_url = sqs.get_queue_url(QueueName=dead_letter_queue_name(settings.queue_name))["QueueUrl"]
    dlq = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["MessageRetentionPeriod"])["Attributes"]
    assert int(dlq["MessageRetentionPeriod"]) == RESOURCES["DeadLetterQueue"]["Properties"]["MessageRetentionPeriod"]


def test_tables_have_the_templates_keys_indexes_and_ttl(aws: None) -> None:
    settings = get_settings()
    dynamodb = boto3.client("dynamodb", region_name=settings.region)
    for resource, name in (("ImagesTable", settings.images_table), ("UsersTable", settings.users_table)):
        declared = RESOURCES[resource]["Properties"]
        table = dynamodb.describe_table(TableName=name)["Table"]
        assert table["KeySchema"] == declared["KeySchema"]
        assert sorted(table["AttributeDefinitions"], key=str) == sorted(declared["AttributeDefinitions"], key=str)
        indexes = {i["IndexName"]: (i["KeySchema"], i["Projection"]) for i in table.get("GlobalSecondaryIndexes", [])}
        assert indexes == {
            i["IndexName"]: (i["KeySchema"], i["Projection"]) for i in declared.get("GlobalSecondaryIndexes", [])
        }
    ttl = dynamodb.describe_time_to_live(TableName=settings.images_table)["TimeToLiveDescription"]
    declared_ttl = RESOURCES["ImagesTable"]["Properties"]["TimeToLiveSpecification"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", declared_ttl["AttributeName"])


def test_provisioning_again_changes_nothing(aws: None) -> None:
    settings = get_settings()
    s3 = boto3.client("s3", region_name=settings.region)
    before = s3.get_bucket_notification_configuration(Bucket=settings.bucket_name)["QueueConfigurations"]
    provision(settings)
    after = s3.get_bucket_notification_configuration(Bucket=settings.bucket_name)["QueueConfigurations"]
    assert [(c["QueueArn"], c["Events"]) for c in before] == [(c["QueueArn"], c["Events"]) for c in after]


def test_intrinsics_resolve_from_the_local_names() -> None:
    names = {"SiteOrigin": "https://site.test", "Queue.Arn": "arn:q", "Stage": "dev"}
    assert resolve({"Ref": "SiteOrigin"}, names) == "https://site.test"
    assert resolve([{"Fn::GetAtt": ["Queue", "Arn"]}], names) == ["arn:q"]
    assert resolve({"Name": {"Fn::Sub": "chitram-${Stage}-x"}}, names) == {"Name": "chitram-dev-x"}
