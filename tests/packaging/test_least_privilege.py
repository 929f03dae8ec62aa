"""Class: too much trust in the deployment (issue 11, item 6), checked on the *packaged* template.

- Each function has its own role; no role is shared; chalice's ``DefaultRole`` is gone.
- No statement grants anything on ``*`` (or an ARN with a wildcard service, region or account); object
  permissions are per key prefix, never the whole bucket.
- Both ways between the code and the roles: every granted action is one the function's code calls (no unused
  action), and every AWS call the code makes is granted (a missing permission is a bug only a deployment shows).
- Secrets reach the functions from Secrets Manager (dynamic references) or ``NoEcho`` parameters, never as
  plain values in the template; the API is throttled and both functions have reserved concurrency.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from chalicelib.settings import variables
from tests.conftest import ROOT

# The AWS calls each function's code makes (found by the patterns below in its modules) -> the IAM action.
# A new call in the code that no entry names fails ``test_every_aws_call_in_the_code_is_granted``.
CALLS: dict[str, str] = {
    "generate_presigned_post": "s3:PutObject",
    "put_object": "s3:PutObject",
    "create_multipart_upload": "s3:PutObject",
    "complete_multipart_upload": "s3:PutObject",
    "generate_presigned_url": "s3:GetObject",
    "get_object": "s3:GetObject",
    "head_object": "s3:GetObject",
    "delete_objects": "s3:DeleteObject",
    "abort_multipart_upload": "s3:AbortMultipartUpload",
    "list_parts": "s3:ListMultipartUploadParts",
    "list_multipart_uploads": "s3:ListBucketMultipartUploads",
    "head_bucket": "s3:ListBucket",
    "list_objects_v2": "s3:ListBucket",
    "create_invalidation": "cloudfront:CreateInvalidation",
    "get_parameter": "ssm:GetParameter",
    "Record.get(": "dynamodb:GetItem",
    "batch_get(": "dynamodb:BatchGetItem",
    ".save(": "dynamodb:PutItem",
    ".update(": "dynamodb:UpdateItem",
    ".delete()": "dynamodb:DeleteItem",
    "transaction.delete(": "dynamodb:DeleteItem",
    ".query(": "dynamodb:Query",
    "describe_table(": "dynamodb:DescribeTable",
    "get_queue_url": "sqs:GetQueueUrl",
    "get_queue_attributes": "sqs:GetQueueAttributes",
    "send_email": "ses:SendEmail",
}
# What the platform does with a function's role, not our code.
PLATFORM: dict[str, set[str]] = {
    "APIHandler": {"logs:CreateLogStream", "logs:PutLogEvents"},
    # The SQS event source mapping polls and deletes with the processor's role.
    "HandleSqs": {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    },
}
# The modules each function's code runs (the processor reaches a small part of the package).
MODULES = {
    "APIHandler": sorted(str(p.relative_to(ROOT)) for p in (ROOT / "chalicelib").rglob("*.py")),
    "HandleSqs": [
        "chalicelib/services/processor.py",
        "chalicelib/services/ingest.py",
        "chalicelib/records.py",
        "chalicelib/contents.py",
        "chalicelib/storage.py",
        "chalicelib/auth/store.py",
        "chalicelib/services/placement.py",
        "chalicelib/invalidation.py",
    ],
}
# Calls the processor's modules contain but the processor never makes (they serve the API's routes).
PROCESSOR_NEVER = {
    "generate_presigned_post",
    "create_multipart_upload",
    "complete_multipart_upload",
    "generate_presigned_url",
    "abort_multipart_upload",
    "list_parts",
    "list_multipart_uploads",
    "head_bucket",
    "list_objects_v2",
    ".save(",
    ".delete()",
    "transaction.delete(",
    "describe_table(",
}


def statements(sam: dict[str, Any], function: str) -> list[dict[str, Any]]:
    resources = sam["Resources"]
    role = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    found = []
    for resource in resources.values():
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role} in resource["Properties"]["Roles"]:
            found += resource["Properties"]["PolicyDocument"]["Statement"]
    assert not resources[role]["Properties"].get("Policies"), "permissions live in the *Policy beside the role"
    return found


def granted(sam: dict[str, Any], function: str) -> set[str]:
    actions: set[str] = set()
    for statement in statements(sam, function):
        action = statement["Action"]
        actions |= {action} if isinstance(action, str) else set(action)
    return actions


def calls_in(function: str) -> set[str]:
    text = "\n".join((ROOT / module).read_text() for module in MODULES[function])
    made = {call for call in CALLS if call in text}
    return made - PROCESSOR_NEVER if function == "HandleSqs" else made


@pytest.mark.parametrize("function", ["APIHandler", "HandleSqs"])
def test_least_privilege_each_function_has_its_own_role(sam: dict[str, Any], function: str) -> None:
    resources = sam["Resources"]
    assert "DefaultRole" not in resources
    roles = {name: resources[name]["Properties"]["Role"]["Fn::GetAtt"][0] for name in ("APIHandler", "HandleSqs")}
    assert len(set(roles.values())) == 2
    assert resources[roles[function]]["Type"] == "AWS::IAM::Role"


def _wildcard_resource(resource: Any) -> bool:
    text = json.dumps(resource)
    if resource == "*" or text == '"*"':
        return True
    # arn:partition:service:region:account:... with a wildcard anywhere before the resource part.
    return bool(re.search(r"arn:[^:\"]*:[^:\"]*\*|arn:\*|:\*:", text))


@pytest.mark.parametrize("function", ["APIHandler", "HandleSqs"])
def test_least_privilege_no_statement_grants_on_everything(sam: dict[str, Any], function: str) -> None:
    for statement in statements(sam, function):
        assert statement["Effect"] == "Allow"
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for resource in resources:
            assert not _wildcard_resource(resource), (function, statement.get("Sid"), resource)
            text = json.dumps(resource)
            if "ImagesBucket.Arn}/" in text:
                assert re.search(r"ImagesBucket\.Arn\}/[a-z]+/\*", text), ("objects by prefix only", text)
        assert "*" not in json.dumps(statement["Action"]), statement


@pytest.mark.parametrize("function", ["APIHandler", "HandleSqs"])
def test_least_privilege_no_action_the_code_does_not_use(sam: dict[str, Any], function: str) -> None:
    needed = {CALLS[call] for call in calls_in(function)} | PLATFORM[function]
    assert granted(sam, function) - needed == set()


@pytest.mark.parametrize("function", ["APIHandler", "HandleSqs"])
def test_every_aws_call_in_the_code_is_granted(sam: dict[str, Any], function: str) -> None:
    needed = {CALLS[call] for call in calls_in(function)} | PLATFORM[function]
    assert needed - granted(sam, function) == set()


def test_the_processor_cannot_touch_accounts_mail_or_other_queues(sam: dict[str, Any]) -> None:
    actions = granted(sam, "HandleSqs")
    assert not {a for a in actions if a.startswith("ses:")}
    assert "dynamodb:PutItem" not in actions
    assert "dynamodb:DeleteItem" not in actions
    queue_resources = [s["Resource"] for s in statements(sam, "HandleSqs") if s["Action"][0].startswith("sqs:")]
    assert queue_resources == [{"Fn::GetAtt": ["ProcessingQueue", "Arn"]}]


SECRETS = {name.upper() for name, var in variables().items() if var.secret} | {"REDIS_NODES"}


def test_secrets_never_appear_as_plain_values_in_the_template(sam: dict[str, Any]) -> None:
    environment = sam["Globals"]["Function"]["Environment"]["Variables"]
    parameters = sam["Parameters"]
    assert {var.env for var in variables().values() if var.secret} <= set(environment)
    for name in SECRETS:
        value = environment[name]
        text = json.dumps(value)
        from_a_store = "{{resolve:secretsmanager:" in text or "{{resolve:ssm-secure:" in text
        from_hidden_parameter = isinstance(value, dict) and parameters.get(value.get("Ref", ""), {}).get("NoEcho")
        assert from_a_store or from_hidden_parameter, (name, value)
    for function in ("APIHandler", "HandleSqs"):
        own = sam["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {})
        assert not SECRETS & set(own), function


def test_the_api_is_throttled_and_both_functions_have_reserved_concurrency(sam: dict[str, Any]) -> None:
    [setting] = sam["Resources"]["RestAPI"]["Properties"]["MethodSettings"]
    assert (setting["ResourcePath"], setting["HttpMethod"]) == ("/*", "*")
    assert 0 < setting["ThrottlingRateLimit"] <= setting["ThrottlingBurstLimit"]
    for function in ("APIHandler", "HandleSqs"):
        assert sam["Resources"][function]["Properties"]["ReservedConcurrentExecutions"] > 0, function


def test_the_processor_gets_powertools_from_a_layer_not_the_zip(sam: dict[str, Any]) -> None:
    managed, powertools = sam["Resources"]["HandleSqs"]["Properties"]["Layers"]
    assert managed == {"Ref": "ManagedLayer"}  # chalice's layer of our dependencies (test_package.py)
    assert "AWSLambdaPowertoolsPythonV3-python312" in json.dumps(powertools)
