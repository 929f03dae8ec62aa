"""The CDN's origin-request function (Lambda@Edge): its zip and its own stack, deployed in us-east-1.

    python infra/edge.py --table <ImagesTableName> --table-region <the main stack's region> [--out build/package]
    make package-edge EDGE_TABLE=<ImagesTableName> EDGE_TABLE_REGION=eu-west-1

Lambda@Edge functions must be created in us-east-1, take no environment variables and no layers, and are
attached to a distribution by a *numbered version* ARN. So this is a small stack of its own (``edge.json``, deployed
in us-east-1 whatever the main stack's region): the function, a version of it (SAM ``AutoPublishAlias``), and a
role that may only read the images table (``GetItem``) and query its short-id index (``Query``), plus write its
own logs (Lambda@Edge writes them in the region of the edge that ran it). The table's name and region are baked
into the zip as ``edge_config.json``: the main stack must exist first (its ``ImagesTableName`` output), and its
``EdgeResolverVersionArn`` parameter then takes this stack's ``ResolverVersionArn`` output (docs/deploy.md).

The zip holds ``edge_handler.py`` (``infra/edge_handler.py``), the resolver and the two pure modules it imports
(catalog, delivery), with bytecode; boto3 comes from the runtime.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from infra import package as app_package  # noqa: E402

Json = dict[str, Any]

EDGE_REGION = "us-east-1"  # where Lambda@Edge functions must live
ZIP_NAME = "edge.zip"
TEMPLATE_NAME = "edge.json"
HANDLER_SOURCE = HERE / "edge_handler.py"
# What the handler imports from the project (each pure: no settings, no PynamoDB, no Pillow).
MODULES = ("chalicelib/__init__.py", "chalicelib/edge_resolver.py", "chalicelib/catalog.py", "chalicelib/delivery.py")
SHORT_ID_INDEX = "short-id-index"  # chalicelib.edge_resolver.DynamoLookup.SHORT_ID_INDEX, checked by a test
MEMORY_MB = 128  # one DynamoDB query and one read per miss
TIMEOUT_SECONDS = 5
TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")


def build_zip(table: str, region: str, out: Path) -> Path:
    """The function's code, with the table and region baked in (Lambda@Edge has no environment variables)."""
    if not TABLE_NAME.fullmatch(table):
        raise app_package.PackageError(f"not a DynamoDB table name: {table!r}")
    if not REGION.fullmatch(region):
        raise app_package.PackageError(f"not an AWS region: {region!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("edge_handler.py", HANDLER_SOURCE.read_text())
        archive.writestr("edge_config.json", json.dumps({"table": table, "region": region}) + "\n")
        for module in MODULES:
            archive.write(ROOT / module, module)
    app_package.add_bytecode(out, "/var/task/")
    return out


def _table_arn(table: str, region: str) -> Json:
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:dynamodb:{region}:${{AWS::AccountId}}:table/{table}"}


def template(table: str, region: str) -> Json:
    table_arn = _table_arn(table, region)
    index_arn = {"Fn::Sub": table_arn["Fn::Sub"] + f"/index/{SHORT_ID_INDEX}"}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": "Chitram's CDN origin-request function (Lambda@Edge, us-east-1): /i/ path -> stored key.",
        "Rules": {
            "OnlyInUsEast1": {
                "Assertions": [
                    {
                        "Assert": {"Fn::Equals": [{"Ref": "AWS::Region"}, EDGE_REGION]},
                        "AssertDescription": "Lambda@Edge functions must be created in us-east-1.",
                    }
                ]
            }
        },
        "Resources": {
            "ResolverRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Description": "Chitram edge resolver: reads the images table and its short-id index only.",
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    },
                    "Policies": [
                        {
                            "PolicyName": "resolve-image-paths",
                            "PolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {
                                        "Sid": "ReadRecord",
                                        "Effect": "Allow",
                                        "Action": "dynamodb:GetItem",
                                        "Resource": table_arn,
                                    },
                                    {
                                        "Sid": "FindShortId",
                                        "Effect": "Allow",
                                        "Action": "dynamodb:Query",
                                        "Resource": index_arn,
                                    },
                                    {
                                        # Replicas log in the region that ran them, to /aws/lambda/us-east-1.<name>.
                                        "Sid": "OwnLogs",
                                        "Effect": "Allow",
                                        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                                        "Resource": {
                                            "Fn::Sub": "arn:${AWS::Partition}:logs:*:${AWS::AccountId}:log-group:"
                                            "/aws/lambda/us-east-1.${AWS::StackName}-*"
                                        },
                                    },
                                ],
                            },
                        }
                    ],
                },
            },
            "Resolver": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "FunctionName": {"Fn::Sub": "${AWS::StackName}-resolver"},
                    "CodeUri": f"./{ZIP_NAME}",
                    "Handler": "edge_handler.handler",
                    "Runtime": f"python{app_package.PYTHON_VERSION}",
                    "Architectures": ["x86_64"],  # the only one Lambda@Edge runs
                    "MemorySize": MEMORY_MB,
                    "Timeout": TIMEOUT_SECONDS,
                    "Role": {"Fn::GetAtt": ["ResolverRole", "Arn"]},
                    # CloudFront needs a numbered version; SAM publishes one whenever the code changes.
                    "AutoPublishAlias": "live",
                },
            },
        },
        "Outputs": {
            "ResolverVersionArn": {
                "Description": "The main stack's EdgeResolverVersionArn parameter.",
                "Value": {"Ref": "Resolver.Version"},
            }
        },
    }


def package(table: str, region: str, out: Path) -> Path:
    build_zip(table, region, out / ZIP_NAME)
    (out / TEMPLATE_NAME).write_text(json.dumps(template(table, region), indent=2) + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", required=True, help="the images table's name (main stack's ImagesTableName)")
    parser.add_argument("--table-region", required=True, help="the main stack's region")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "package")
    args = parser.parse_args(argv)
    try:
        package(args.table, args.table_region, args.out)
    except app_package.PackageError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"wrote {args.out / TEMPLATE_NAME} and {args.out / ZIP_NAME} (deploy in {EDGE_REGION})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
