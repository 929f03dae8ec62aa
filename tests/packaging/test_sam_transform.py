"""The packaged templates through AWS's own SAM transform (``aws-sam-translator``, what CloudFormation runs):
what SnapStart, the alias, the managed layer and the edge resolver's version become as plain CloudFormation.

cfn-lint checks the SAM templates as written; this checks what SAM generates from them, which is where a wrong
alias name or an event source left on ``$LATEST`` would show.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from samtranslator.translator.transform import transform  # type: ignore[import-untyped]

from infra import edge


class NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def transformed(template: dict[str, Any], region: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """``template`` as CloudFormation sees it after ``aws cloudformation package`` and the SAM transform."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    packaged = copy.deepcopy(template)
    for resource in packaged["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):  # what `aws cloudformation package` does with local paths
            if isinstance(properties.get(key), str) and properties[key].startswith("./"):
                properties[key] = "s3://artifacts/" + properties[key][2:]
    out: dict[str, Any] = transform(packaged, {}, NoManagedPolicies())
    return out


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


@pytest.fixture(scope="module")
def cloudformation(sam: dict[str, Any]) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        return transformed(sam, "eu-west-1", monkeypatch)


def test_each_function_gets_a_published_version_behind_the_alias_live(cloudformation: dict[str, Any]) -> None:
    aliases = of_type(cloudformation, "AWS::Lambda::Alias")
    assert set(aliases) == {"APIHandlerAliaslive", "HandleSqsAliaslive"}
    for name, alias in aliases.items():
        function = name.removesuffix("Aliaslive")
        assert alias["Properties"]["FunctionName"] == {"Ref": function}
        version = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
        assert cloudformation["Resources"][version]["Type"] == "AWS::Lambda::Version"
        snap_start = cloudformation["Resources"][function]["Properties"]["SnapStart"]
        assert snap_start == {"ApplyOn": "PublishedVersions"}


def test_api_gateway_and_the_queue_invoke_the_alias(cloudformation: dict[str, Any]) -> None:
    body = json.dumps(cloudformation["Resources"]["RestAPI"]["Properties"]["Body"])
    assert "${APIHandlerAliaslive}" in body
    assert "${APIHandler.Arn}" not in body
    permission = cloudformation["Resources"]["APIHandlerInvokePermission"]["Properties"]
    assert permission["FunctionName"] == {"Ref": "APIHandlerAliaslive"}
    [mapping] = of_type(cloudformation, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["FunctionName"] == {"Ref": "HandleSqsAliaslive"}
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_both_functions_load_the_managed_layer(cloudformation: dict[str, Any]) -> None:
    [(layer, resource)] = of_type(cloudformation, "AWS::Lambda::LayerVersion").items()
    assert resource["Properties"]["Content"]["S3Key"] == "layer-deployment.zip"
    for function in ("APIHandler", "HandleSqs"):
        assert {"Ref": layer} in cloudformation["Resources"][function]["Properties"]["Layers"]


def test_the_edge_stack_outputs_a_numbered_version(edge_package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    template = json.loads((edge_package / edge.TEMPLATE_NAME).read_text())
    out = transformed(template, "us-east-1", monkeypatch)
    version = out["Outputs"]["ResolverVersionArn"]["Value"]["Ref"]
    assert out["Resources"][version]["Type"] == "AWS::Lambda::Version"  # Ref of a version is its numbered ARN
    function = out["Resources"]["Resolver"]["Properties"]
    assert "Environment" not in function
    assert function["Runtime"] == "python3.12"
