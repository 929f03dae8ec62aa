"""The CDN's origin-request function (Lambda@Edge, ``infra/edge.py``): where it is attached in the main template,
what its own us-east-1 stack grants it, and the headers the images behaviour removes."""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from chalicelib.edge_resolver import DynamoLookup
from infra import cdn, edge
from infra.package import PackageError
from tests.conftest import ROOT
from tests.packaging.conftest import EDGE_TABLE as TABLE
from tests.packaging.conftest import EDGE_TABLE_REGION as TABLE_REGION


@pytest.fixture(scope="module")
def edge_template(edge_package: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((edge_package / edge.TEMPLATE_NAME).read_text())
    return loaded


def images_behaviour(sam: dict[str, Any]) -> dict[str, Any]:
    config = sam["Resources"]["SiteDistribution"]["Properties"]["DistributionConfig"]
    behaviour: dict[str, Any] = next(b for b in config["CacheBehaviors"] if b["PathPattern"] == "/i/*")
    return behaviour


def test_images_behaviour_runs_the_resolver_on_origin_requests_only(sam: dict[str, Any]) -> None:
    associations = images_behaviour(sam)["LambdaFunctionAssociations"]
    assert associations == {
        "Fn::If": [
            "HasEdgeResolver",
            [
                {
                    "EventType": "origin-request",  # cache misses only
                    "LambdaFunctionARN": {"Ref": "EdgeResolverVersionArn"},
                    "IncludeBody": False,
                }
            ],
            {"Ref": "AWS::NoValue"},
        ]
    }
    assert sam["Conditions"]["HasEdgeResolver"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "EdgeResolverVersionArn"}, ""]}]
    }
    config = sam["Resources"]["SiteDistribution"]["Properties"]["DistributionConfig"]
    others = [b for b in [*config["CacheBehaviors"], config["DefaultCacheBehavior"]] if b.get("PathPattern") != "/i/*"]
    assert not any("LambdaFunctionAssociations" in b for b in others)  # the API and the site never pay for it


@pytest.mark.parametrize(
    ("arn", "accepted"),
    [
        ("", True),
        ("arn:aws:lambda:us-east-1:123456789012:function:chitram-dev-edge-resolver:7", True),
        ("arn:aws:lambda:us-east-1:123456789012:function:chitram-dev-edge-resolver", False),  # $LATEST
        ("arn:aws:lambda:us-east-1:123456789012:function:chitram-dev-edge-resolver:live", False),  # an alias
        ("arn:aws:lambda:eu-west-1:123456789012:function:chitram-dev-edge-resolver:7", False),  # not us-east-1
    ],
)
def test_the_distribution_takes_only_a_numbered_version_in_us_east_1(
    sam: dict[str, Any], arn: str, accepted: bool
) -> None:
    pattern = sam["Parameters"]["EdgeResolverVersionArn"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, arn)) is accepted


def test_images_responses_lose_last_modified(sam: dict[str, Any]) -> None:
    """A shared rendition's date would reveal when someone first uploaded the same bytes."""
    policy = sam["Resources"]["ImagesHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    assert policy["RemoveHeadersConfig"] == {"Items": [{"Header": "Last-Modified"}]}
    assert images_behaviour(sam)["ResponseHeadersPolicyId"] == {"Ref": "ImagesHeadersPolicy"}


def test_the_resolver_may_only_read_the_images_table_and_query_its_short_id_index(
    edge_template: dict[str, Any],
) -> None:
    [policy] = edge_template["Resources"]["ResolverRole"]["Properties"]["Policies"]
    statements = policy["PolicyDocument"]["Statement"]
    table_arn = f"arn:${{AWS::Partition}}:dynamodb:{TABLE_REGION}:${{AWS::AccountId}}:table/{TABLE}"
    dynamodb = {(s["Action"], s["Resource"]["Fn::Sub"]) for s in statements if "dynamodb" in json.dumps(s["Action"])}
    assert dynamodb == {
        ("dynamodb:GetItem", table_arn),
        ("dynamodb:Query", f"{table_arn}/index/{DynamoLookup.SHORT_ID_INDEX}"),
    }
    others = [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert {a.split(":")[0] for a in others} == {"dynamodb", "logs"}
    assert all(s["Effect"] == "Allow" and "*" not in json.dumps(s["Action"]) for s in statements)
    trust = edge_template["Resources"]["ResolverRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust[0]["Principal"]["Service"] == ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]


def test_the_resolver_is_a_python_312_function_without_environment_in_us_east_1(edge_template: dict[str, Any]) -> None:
    function = edge_template["Resources"]["Resolver"]["Properties"]
    assert function["Runtime"] == "python3.12"
    assert function["Architectures"] == ["x86_64"]
    assert "Environment" not in function  # Lambda@Edge refuses environment variables
    assert "Layers" not in function  # and layers
    assert function["AutoPublishAlias"]  # a numbered version for the distribution
    assert edge_template["Outputs"]["ResolverVersionArn"]["Value"] == {"Ref": "Resolver.Version"}
    [rule] = edge_template["Rules"]["OnlyInUsEast1"]["Assertions"]
    assert rule["Assert"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}


def test_the_table_and_region_are_baked_into_the_zip(edge_package: Path) -> None:
    with zipfile.ZipFile(edge_package / edge.ZIP_NAME) as archive:
        names = set(archive.namelist())
        config = json.loads(archive.read("edge_config.json"))
    assert config == {"table": TABLE, "region": TABLE_REGION}
    assert {"edge_handler.py", *edge.MODULES} <= names
    assert not any(n.startswith(("boto3", "botocore", "PIL", "pynamodb", "redis")) for n in names)


def test_the_edge_zip_imports_alone_and_answers_an_unknown_path_with_a_bare_404(
    edge_package: Path, tmp_path: Path
) -> None:
    """Only what is in the zip (plus the runtime's boto3) is needed: no settings, no PynamoDB, no Pillow."""
    with zipfile.ZipFile(edge_package / edge.ZIP_NAME) as archive:
        archive.extractall(tmp_path)
    probe = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n"
        "import json, edge_handler\n"
        "event = {'Records': [{'cf': {'request': {'method': 'GET', 'uri': '/i/not-an-image', 'querystring': ''}}}]}\n"
        "print(json.dumps({'status': edge_handler.handle(event, lambda ref: None)['status'],"
        " 'loaded': sorted(m.split('.')[0] for m in sys.modules)}))"
    )
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-I", "-c", probe],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["status"] == "404"
    assert not set(answer["loaded"]) & {"PIL", "pynamodb", "redis", "chalice", "boto3"}


def test_the_edge_template_passes_cfn_lint(edge_package: Path) -> None:
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "cfn-lint"), str(edge_package / edge.TEMPLATE_NAME)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_bad_table_name_or_region_is_refused_at_package_time(tmp_path: Path) -> None:
    with pytest.raises(PackageError):
        edge.build_zip("table name with spaces", "eu-west-1", tmp_path / "edge.zip")
    with pytest.raises(PackageError):
        edge.build_zip("chitram-images", "Europe", tmp_path / "edge.zip")


def test_the_edge_index_name_is_the_resolvers() -> None:
    assert edge.SHORT_ID_INDEX == DynamoLookup.SHORT_ID_INDEX
    assert cdn.EDGE_VERSION_ARN_PATTERN.startswith("^(")
