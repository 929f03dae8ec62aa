"""The packaged template is valid (cfn-lint) and agrees with the code: tables, queue wiring, binary types.

Expectations are derived from the code (PynamoDB models, ``ORIGINALS_PREFIX``, ``MAX_RECEIVE_COUNT``, the
processor's timeout in .chalice/config.json), never copied, so a change on one side alone fails here.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from pynamodb.attributes import NumberAttribute
from pynamodb.models import Model

from chalicelib.models import ImageRecord, UserRecord
from chalicelib.queues import DLQ_SUFFIX, MAX_RECEIVE_COUNT, ORIGINALS_RETENTION_DAYS
from chalicelib.storage import ORIGINALS_PREFIX
from tests.conftest import ROOT

CFN_LINT_ERROR, CFN_LINT_WARNING = 2, 4  # cfn-lint's exit code is a bitmask: 2 error, 4 warning, 8 info


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def test_packaged_template_passes_cfn_lint_without_errors_or_warnings(packaged: Path) -> None:
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "cfn-lint"), str(packaged / "sam.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode & (CFN_LINT_ERROR | CFN_LINT_WARNING) == 0, result.stdout + result.stderr


# --- tables ----------------------------------------------------------------------------------------------


def expected_table(model: type[Model]) -> dict[str, Any]:
    """The CloudFormation table shape a PynamoDB model implies (keys, attributes, GSIs, projections)."""
    schema = model._get_schema()

    def keys(key_schema: Sequence[Mapping[str, object]]) -> list[tuple[str, str]]:
        return sorted((str(k["AttributeName"]), str(k["KeyType"])) for k in key_schema)

    return {
        "keys": keys(schema["key_schema"]),
        "attributes": sorted((a["AttributeName"], a["AttributeType"]) for a in schema["attribute_definitions"]),
        "indexes": {
            index["index_name"]: (keys(index["key_schema"]), index["projection"]["ProjectionType"])
            for index in schema["global_secondary_indexes"]
        },
        "local_indexes": [index["index_name"] for index in schema["local_secondary_indexes"]],
    }


def declared_table(resource: dict[str, Any]) -> dict[str, Any]:
    properties = resource["Properties"]

    def keys(key_schema: Sequence[Mapping[str, object]]) -> list[tuple[str, str]]:
        return sorted((str(k["AttributeName"]), str(k["KeyType"])) for k in key_schema)

    return {
        "keys": keys(properties["KeySchema"]),
        "attributes": sorted((a["AttributeName"], a["AttributeType"]) for a in properties["AttributeDefinitions"]),
        "indexes": {
            index["IndexName"]: (keys(index["KeySchema"]), index["Projection"]["ProjectionType"])
            for index in properties.get("GlobalSecondaryIndexes", [])
        },
        "local_indexes": [index["IndexName"] for index in properties.get("LocalSecondaryIndexes", [])],
    }


@pytest.mark.parametrize(("resource", "model"), [("ImagesTable", ImageRecord), ("UsersTable", UserRecord)])
def test_table_matches_its_pynamodb_model(merge_template: dict[str, Any], resource: str, model: type[Model]) -> None:
    assert declared_table(merge_template["Resources"][resource]) == expected_table(model)


def test_images_table_expires_pending_records_on_the_models_ttl_attribute(merge_template: dict[str, Any]) -> None:
    ttl = merge_template["Resources"]["ImagesTable"]["Properties"]["TimeToLiveSpecification"]
    assert ttl["Enabled"] is True
    attribute = ImageRecord.get_attributes()[ttl["AttributeName"]]
    assert isinstance(attribute, NumberAttribute)  # DynamoDB TTL reads epoch seconds
    assert ttl["AttributeName"] == ImageRecord.expires_at.attr_name


@pytest.mark.parametrize("resource", ["ImagesTable", "UsersTable"])
def test_tables_are_on_demand_with_point_in_time_recovery(merge_template: dict[str, Any], resource: str) -> None:
    properties = merge_template["Resources"][resource]["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


# --- bucket, notification, queue -----------------------------------------------------------------------------


def test_bucket_notifies_the_processing_queue_of_created_originals(merge_template: dict[str, Any]) -> None:
    bucket = merge_template["Resources"]["ImagesBucket"]
    [config] = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert config["Event"] == "s3:ObjectCreated:*"
    assert config["Filter"] == {"S3Key": {"Rules": [{"Name": "prefix", "Value": ORIGINALS_PREFIX}]}}
    assert config["Queue"] == {"Fn::GetAtt": ["ProcessingQueue", "Arn"]}
    # S3 checks it may send to the queue while creating the bucket.
    assert "ProcessingQueuePolicy" in bucket["DependsOn"]


def test_queue_policy_names_the_bucket_without_referencing_it(merge_template: dict[str, Any]) -> None:
    policy = merge_template["Resources"]["ProcessingQueuePolicy"]
    assert "ImagesBucket" not in json.dumps(policy)  # a reference would be a dependency cycle
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    source = statement["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
    bucket_name = merge_template["Resources"]["ImagesBucket"]["Properties"]["BucketName"]["Fn::Sub"]
    assert source == f"arn:${{AWS::Partition}}:s3:::{bucket_name}"


def test_bucket_is_private_encrypted_and_expires_abandoned_originals(merge_template: dict[str, Any]) -> None:
    properties = merge_template["Resources"]["ImagesBucket"]["Properties"]
    assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    rules = {rule["Id"]: rule for rule in properties["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-abandoned-originals"]["Prefix"] == ORIGINALS_PREFIX
    # Longer than a dead-lettered message may wait for its redrive (issue 11, item 7), by one shared constant.
    assert rules["expire-abandoned-originals"]["ExpirationInDays"] == ORIGINALS_RETENTION_DAYS
    dlq_seconds = merge_template["Resources"]["DeadLetterQueue"]["Properties"]["MessageRetentionPeriod"]
    assert dlq_seconds < ORIGINALS_RETENTION_DAYS * 24 * 3600
    [cors] = properties["CorsConfiguration"]["CorsRules"]
    assert cors["AllowedOrigins"] == [{"Ref": "SiteOrigin"}]


def test_bucket_rules_match_the_local_stack(merge_template: dict[str, Any]) -> None:
    """Multipart parts are PUT from the site and abandoned uploads are aborted after a day, here as locally (the
    local stack translates these very definitions: scripts/provision.py)."""
    from scripts.provision import bucket_cors, bucket_lifecycle

    properties = merge_template["Resources"]["ImagesBucket"]["Properties"]
    [cors] = properties["CorsConfiguration"]["CorsRules"]
    [local_cors] = bucket_cors(properties, "http://site")["CORSRules"]
    assert cors["AllowedMethods"] == local_cors["AllowedMethods"]
    assert "PUT" in cors["AllowedMethods"]
    assert cors["ExposedHeaders"] == local_cors["ExposeHeaders"] == ["ETag"]
    deployed = {rule["Id"]: rule for rule in properties["LifecycleConfiguration"]["Rules"]}
    local = {rule["ID"]: rule for rule in bucket_lifecycle(properties)["Rules"]}
    assert set(deployed) == set(local)
    abort = "abort-incomplete-multipart-uploads"
    assert deployed[abort]["AbortIncompleteMultipartUpload"] == local[abort]["AbortIncompleteMultipartUpload"]
    assert deployed[abort]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


def test_dead_letter_policy_matches_the_local_stack(merge_template: dict[str, Any]) -> None:
    queue = merge_template["Resources"]["ProcessingQueue"]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVE_COUNT
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    dlq_name = merge_template["Resources"]["DeadLetterQueue"]["Properties"]["QueueName"]["Fn::Sub"]
    assert dlq_name == queue["QueueName"]["Fn::Sub"] + DLQ_SUFFIX  # chalicelib.queues finds the DLQ by name


def test_queue_visibility_timeout_is_six_times_the_processor_timeout(merge_template: dict[str, Any]) -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    visibility = merge_template["Resources"]["ProcessingQueue"]["Properties"]["VisibilityTimeout"]
    for stage in ("dev", "prod"):
        timeout = config["stages"][stage]["lambda_functions"]["handle_sqs"]["lambda_timeout"]
        assert visibility >= 6 * timeout, stage


def test_processor_reads_our_queue_and_reports_partial_batch_failures(sam: dict[str, Any]) -> None:
    event = sam["Resources"]["HandleSqs"]["Properties"]["Events"]["HandleSqsSqsEventSource"]
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::Sub": "${ProcessingQueue.Arn}"}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_processor_keeps_its_reserved_concurrency(sam: dict[str, Any]) -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    expected = config["stages"]["dev"]["lambda_functions"]["handle_sqs"]["reserved_concurrency"]
    assert sam["Resources"]["HandleSqs"]["Properties"]["ReservedConcurrentExecutions"] == expected


# --- API, IAM, environment -------------------------------------------------------------------------------


def test_api_passes_multipart_bodies_as_binary(sam: dict[str, Any]) -> None:
    body = sam["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    assert "multipart/form-data" in body["x-amazon-apigateway-binary-media-types"]


def test_api_cors_origin_is_the_site_origin_parameter(sam: dict[str, Any]) -> None:
    paths = sam["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    origins = [
        op["x-amazon-apigateway-integration"]["responses"]["default"]["responseParameters"][
            "method.response.header.Access-Control-Allow-Origin"
        ]
        for methods in paths.values()
        for name, op in methods.items()
        if name == "options"
    ]
    assert origins
    assert all(origin == {"Fn::Sub": "'${SiteOrigin}'"} for origin in origins)


def test_api_gateways_own_errors_use_our_envelope_and_the_site_origin(sam: dict[str, Any]) -> None:
    responses = sam["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    assert set(responses) == {"DEFAULT_4XX", "DEFAULT_5XX"}
    for response in responses.values():
        headers = response["responseParameters"]
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == {"Fn::Sub": "'${SiteOrigin}'"}
        # Rendered with sample context values, the template is the envelope every other error has.
        rendered = (
            response["responseTemplates"]["application/json"]
            .replace("$context.error.responseType", "MISSING_AUTHENTICATION_TOKEN")
            .replace("$context.error.messageString", '"Missing Authentication Token"')
            .replace("$context.requestId", "req-1")
        )
        assert json.loads(rendered) == {
            "detail": {
                "code": "MISSING_AUTHENTICATION_TOKEN",
                "message": "Missing Authentication Token",
                "details": {"request_id": "req-1"},
            }
        }


def test_our_iam_statements_are_separate_policies_on_each_functions_own_role(sam: dict[str, Any]) -> None:
    """Chalice's shared DefaultRole is gone (issue 11: one role per function, tests/packaging/
    test_least_privilege.py); each role's permissions are AWS::IAM::Policy resources, no wildcard actions."""
    resources = sam["Resources"]
    assert "DefaultRole" not in resources
    for role in ("ApiRole", "ProcessorRole"):
        assert "Policies" not in resources[role]["Properties"]
    policies = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::IAM::Policy"]
    assert {json.dumps(role) for p in policies for role in p["Roles"]} <= {
        json.dumps({"Ref": "ApiRole"}),
        json.dumps({"Ref": "ProcessorRole"}),
    }
    actions = [a for p in policies for s in p["PolicyDocument"]["Statement"] for a in _list(s["Action"])]
    assert not any(a.endswith("*") for a in actions)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_every_setting_a_deployed_function_needs_is_in_its_environment(sam: dict[str, Any]) -> None:
    variables = sam["Globals"]["Function"]["Environment"]["Variables"]
    for name in (
        "BUCKET_NAME",
        "IMAGES_TABLE",
        "USERS_TABLE",
        "QUEUE_NAME",
        "SITE_ORIGIN",
        "REDIS_NODES",
        "AUTH_PROVIDER",
        "OIDC_ISSUER",
        "OIDC_AUDIENCE",
        "OIDC_JWKS_URL",
        "JWT_SECRET",
        "MAILER",
        "MAIL_FROM",
    ):
        assert name in variables, name
    assert variables["JWT_SECRET"] == {"Fn::Sub": "{{resolve:secretsmanager:${JwtSecretName}:SecretString}}"}


def test_no_secret_is_written_into_the_template(sam: dict[str, Any]) -> None:
    for function in ("APIHandler", "HandleSqs"):
        variables = sam["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert "JWT_SECRET" not in variables  # only the Globals' dynamic reference


def test_alarms_watch_5xx_rate_latency_dlq_and_processor(sam: dict[str, Any]) -> None:
    alarms = resources_of_type(sam, "AWS::CloudWatch::Alarm")
    assert {
        "Api5xxRateAlarm",
        "ApiLatencyP95Alarm",
        "DeadLetterQueueAlarm",
        "ProcessorErrorsAlarm",
        "ProcessorThrottlesAlarm",
    } <= set(alarms)
    dlq = alarms["DeadLetterQueueAlarm"]["Properties"]
    assert dlq["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert (dlq["ComparisonOperator"], dlq["Threshold"]) == ("GreaterThanThreshold", 0)
    rate = alarms["Api5xxRateAlarm"]["Properties"]
    assert rate["Threshold"] == 1
    assert {m["MetricStat"]["Metric"]["MetricName"] for m in rate["Metrics"] if "MetricStat" in m} == {
        "5XXError",
        "Count",
    }
    assert alarms["ApiLatencyP95Alarm"]["Properties"]["ExtendedStatistic"] == "p95"
    assert resources_of_type(sam, "AWS::CloudWatch::Dashboard")


@pytest.mark.parametrize("function", ["APIHandler", "HandleSqs"])
def test_both_functions_restore_from_a_snapstart_snapshot_of_a_published_version(
    sam: dict[str, Any], function: str
) -> None:
    properties = sam["Resources"][function]["Properties"]
    assert properties["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert properties["AutoPublishAlias"] == "live"  # SnapStart never applies to $LATEST


def test_api_gateway_invokes_the_api_functions_alias_not_latest(sam: dict[str, Any]) -> None:
    """Chalice's integrations name the unqualified function; $LATEST would never use the snapshot."""
    body = json.dumps(sam["Resources"]["RestAPI"]["Properties"]["DefinitionBody"])
    assert "${APIHandler.Arn}" not in body
    assert body.count("${APIHandlerAliaslive}") > 10  # one per route
    permission = sam["Resources"]["APIHandlerInvokePermission"]["Properties"]
    assert permission["FunctionName"] == {"Ref": "APIHandlerAliaslive"}
