"""The merge template: everything `chalice package --merge-template` adds to chalice's own SAM template.

This module is the source and the only copy: ``make package`` writes it to ``build/merge-template.json`` (not
committed) just before chalice merges it, so there is no generated file to go stale. JSON cannot carry the
"why" comments below, and the dashboard body is itself a JSON string, so it is built here rather than
hand-escaped.

How chalice merges (see DESIGN.md, "Packaging facts"): dicts deep-merge, lists and scalars replace. Hence:
- the SQS event points at our queue with ``Fn::Sub`` (chalice's value is an ``Fn::Sub``; a ``Fn::GetAtt`` beside
  it would make an object with two intrinsic keys), and ``FunctionResponseTypes`` is added beside it;
- IAM statements are a separate ``AWS::IAM::Policy`` on chalice's ``DefaultRole`` (merging ``Policies`` would
  replace chalice's list);
- environment variables are set in SAM ``Globals`` as ``Ref``s (``.chalice/config.json`` values must be strings);
- the merge file cannot see the stage, so resources are named from the stack name or by CloudFormation.

The local stack is provisioned from these same resource definitions (``scripts/provision.py`` reads the
bucket, queues and tables from ``build()``); tests/packaging/test_template.py checks the tables against
``chalicelib/models.py``.

    python infra/template.py            # write build/merge-template.json (or: --out PATH)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

# The template takes these from the code itself, so the two cannot drift apart.
from chalicelib.metrics import NAMESPACE  # noqa: E402
from chalicelib.queues import DEAD_LETTER_RETENTION_DAYS, MAX_RECEIVE_COUNT, ORIGINALS_RETENTION_DAYS  # noqa: E402
from chalicelib.storage import (  # noqa: E402
    CONTENT_PREFIX,
    FILES_PREFIX,
    ORIGINALS_PREFIX,
    PRIVATE_PREFIX,
    PUBLIC_PREFIX,
    THUMBS_PREFIX,
)
from infra import cdn  # noqa: E402

TEMPLATE_PATH = HERE.parent / "build" / "merge-template.json"

# AWS recommends a queue visibility timeout of six times the function timeout (60 s in .chalice/config.json),
# so a message is never redelivered while a (retrying) invocation still holds it.
VISIBILITY_TIMEOUT_SECONDS = 360
DLQ_RETENTION_SECONDS = DEAD_LETTER_RETENTION_DAYS * 24 * 3600  # time for someone to look at what failed
QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
LOG_RETENTION_DAYS = 30
# API Gateway's stage-wide throttle (requests a second, and the burst above it): far above honest use, far
# below what the reserved concurrency could serve, so a flood is refused at the edge.
API_THROTTLE_RATE_PER_SECOND = 200
API_THROTTLE_BURST = 400
# AWS's public layer "AWSLambdaPowertoolsPythonV3-python312-x86_64" (a stack parameter may pick another).
POWERTOOLS_LAYER_VERSION = 27

Json = dict[str, Any]


def ref(name: str) -> Json:
    return {"Ref": name}


def sub(text: str) -> Json:
    return {"Fn::Sub": text}


def get_att(resource: str, attribute: str) -> Json:
    return {"Fn::GetAtt": [resource, attribute]}


# --- parameters ------------------------------------------------------------------------------------------


def parameters() -> Json:
    return {
        "Stage": {
            "Type": "String",
            "AllowedValues": ["dev", "prod"],
            "Default": "dev",
            "Description": "Must match `chalice package --stage`; names the bucket and tags the metrics.",
        },
        "SiteOrigin": {
            "Type": "String",
            "AllowedPattern": "^https?://[^/]+$",
            "Description": "Origin of the web front end (scheme://host[:port]): API and bucket CORS allow it alone.",
        },
        "RedisNodes": {
            "Type": "String",
            # The URLs may carry the nodes' AUTH password: never shown by CloudFormation.
            "NoEcho": True,
            "MinLength": 1,
            "Description": "Comma list of redis:// or rediss:// URLs (the cache ring and the rate limits). Required.",
        },
        "OperatorTokenName": {
            "Type": "String",
            "Default": "chitram/dev/operator-token",
            "Description": "Name of the Secrets Manager secret (SecretString) that opens GET /health/details.",
        },
        "PowertoolsLayerVersion": {
            "Type": "Number",
            "Default": POWERTOOLS_LAYER_VERSION,
            "Description": "Version of AWS's public Powertools for Lambda (Python) v3 layer (the processor's batches).",
        },
        "AuthProvider": {"Type": "String", "AllowedValues": ["local", "oidc"], "Default": "local"},
        "OidcIssuer": {"Type": "String", "Default": "", "Description": "AUTH_PROVIDER=oidc: token issuer."},
        "OidcAudience": {"Type": "String", "Default": "", "Description": "AUTH_PROVIDER=oidc: expected audience."},
        "OidcJwksUrl": {"Type": "String", "Default": "", "Description": "AUTH_PROVIDER=oidc: JWKS document URL."},
        "JwtSecretName": {
            "Type": "String",
            "Default": "chitram/dev/jwt-secret",
            "Description": "Name of the Secrets Manager secret (SecretString) that signs local-auth tokens.",
        },
        "MailFrom": {
            "Type": "String",
            "AllowedPattern": "^[^@\\s]+@[^@\\s]+$",
            "Description": "Sender of account e-mail (password resets), an SES-verified identity.",
        },
        "LatencyP95ThresholdMs": {
            "Type": "Number",
            "Default": 1000,
            "Description": "Alarm when the API's p95 latency stays above this many milliseconds.",
        },
    }


# --- storage and queue -------------------------------------------------------------------------------


def bucket_name() -> Json:
    # Spelled out (not left to CloudFormation) so the queue policy can name the bucket's ARN without a
    # reference to the bucket, which depends on that policy: a reference either way is a cycle. Account and
    # region make it globally unique; the stage keeps dev and prod apart in one account.
    return sub("chitram-${Stage}-images-${AWS::AccountId}-${AWS::Region}")


def storage_resources() -> Json:
    return {
        "ImagesBucket": {
            "Type": "AWS::S3::Bucket",
            # S3 validates the notification target while creating the bucket: the queue must already let S3 in.
            "DependsOn": ["ProcessingQueuePolicy"],
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketName": bucket_name(),
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}
                    ]
                },
                # Nothing in this bucket is public: the CDN alone reads its public/ prefix (origin access
                # control, infra/cdn.py) and the API hands out short-lived presigned URLs for the rest.
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                # The same rule scripts/provision.py puts on the local bucket: the site may POST uploads and GET.
                "CorsConfiguration": {
                    "CorsRules": [
                        {
                            "AllowedOrigins": [ref("SiteOrigin")],
                            "AllowedMethods": ["GET", "HEAD", "POST", "PUT"],
                            "AllowedHeaders": ["*"],
                            "ExposedHeaders": ["ETag"],
                            "MaxAge": 600,
                        }
                    ]
                },
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            # The processor deletes an original once it is handled; one still here was abandoned
                            # (its record expired) or failed into the DLQ. It must outlive the DLQ's retention, or
                            # a redrive would find nothing to process (chalicelib/queues.py ties the two).
                            "Id": "expire-abandoned-originals",
                            "Status": "Enabled",
                            "Prefix": ORIGINALS_PREFIX,
                            "ExpirationInDays": ORIGINALS_RETENTION_DAYS,
                        },
                        {
                            "Id": "abort-incomplete-multipart-uploads",
                            "Status": "Enabled",
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                        },
                    ]
                },
                "NotificationConfiguration": {
                    "QueueConfigurations": [
                        {
                            "Event": "s3:ObjectCreated:*",
                            "Queue": get_att("ProcessingQueue", "Arn"),
                            "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": ORIGINALS_PREFIX}]}},
                        }
                    ]
                },
            },
        },
        "ImagesBucketTlsOnly": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": ref("ImagesBucket"),
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [
                                get_att("ImagesBucket", "Arn"),
                                sub("${ImagesBucket.Arn}/*"),
                            ],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        },
                        cdn.images_read_statement(),
                    ],
                },
            },
        },
        "ProcessingQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                # The code finds the DLQ by name (chalicelib.queues.dead_letter_queue_name: queue + "-dlq").
                "QueueName": sub("${AWS::StackName}-processing"),
                "VisibilityTimeout": VISIBILITY_TIMEOUT_SECONDS,
                "MessageRetentionPeriod": QUEUE_RETENTION_SECONDS,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {
                    "deadLetterTargetArn": get_att("DeadLetterQueue", "Arn"),
                    "maxReceiveCount": MAX_RECEIVE_COUNT,
                },
            },
        },
        "DeadLetterQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": sub("${AWS::StackName}-processing-dlq"),
                "MessageRetentionPeriod": DLQ_RETENTION_SECONDS,
                "SqsManagedSseEnabled": True,
            },
        },
        "ProcessingQueuePolicy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [ref("ProcessingQueue")],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "S3ObjectCreated",
                            "Effect": "Allow",
                            "Principal": {"Service": "s3.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": get_att("ProcessingQueue", "Arn"),
                            "Condition": {
                                # Built with Fn::Sub from the same parts as the bucket's name: a Ref or GetAtt
                                # of the bucket would be a cycle (the bucket depends on this policy).
                                "ArnLike": {
                                    "aws:SourceArn": sub(
                                        "arn:${AWS::Partition}:s3:::chitram-${Stage}-images-${AWS::AccountId}-${AWS::Region}"
                                    )
                                },
                                "StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")},
                            },
                        }
                    ],
                },
            },
        },
    }


# --- tables --------------------------------------------------------------------------------------------


def _table(key_attributes: list[Json], attributes: list[Json], indexes: list[Json] | None = None) -> Json:
    properties: Json = {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": attributes,
        "KeySchema": key_attributes,
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
    }
    if indexes:
        properties["GlobalSecondaryIndexes"] = indexes
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }


def _s(name: str) -> Json:
    return {"AttributeName": name, "AttributeType": "S"}


def _key(name: str, key_type: str) -> Json:
    return {"AttributeName": name, "KeyType": key_type}


def table_resources() -> Json:
    # The same keys, indexes, projections and TTL as chalicelib/models.py (PynamoDB); a test derives the
    # expectation from the models, so a change there without one here fails CI.
    images = _table(
        [_key("id", "HASH")],
        [_s("id"), _s("owner"), _s("created_key"), _s("gallery_shard"), _s("sha256"), _s("short_id")],
        [
            {
                "IndexName": "owner-index",
                "KeySchema": [_key("owner", "HASH"), _key("created_key", "RANGE")],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "gallery-index",
                "KeySchema": [_key("gallery_shard", "HASH"), _key("created_key", "RANGE")],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "sha256-index",
                "KeySchema": [_key("sha256", "HASH")],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
            {
                "IndexName": "short-id-index",
                "KeySchema": [_key("short_id", "HASH")],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
    )
    # Pending uploads that never arrive expire by themselves.
    images["Properties"]["TimeToLiveSpecification"] = {"AttributeName": "expires_at", "Enabled": True}
    users = _table([_key("id", "HASH")], [_s("id")])
    # Sign-in failure items (per address and source) are forgotten by themselves.
    users["Properties"]["TimeToLiveSpecification"] = {"AttributeName": "expires_at", "Enabled": True}
    return {"ImagesTable": images, "UsersTable": users}


# --- functions (merged into chalice's) ---------------------------------------------------------------------


def globals_section() -> Json:
    """Environment for both functions; names are the ones chalicelib/settings.py reads."""
    return {
        "Function": {
            "Environment": {
                "Variables": {
                    "BUCKET_NAME": ref("ImagesBucket"),
                    "IMAGES_TABLE": ref("ImagesTable"),
                    "USERS_TABLE": ref("UsersTable"),
                    "QUEUE_NAME": get_att("ProcessingQueue", "QueueName"),
                    "SITE_ORIGIN": ref("SiteOrigin"),
                    # Where the API finds the distribution to invalidate (infra/cdn.py: an id here would be a cycle).
                    "CDN_DISTRIBUTION_PARAMETER": cdn.distribution_parameter_name(),
                    "REDIS_NODES": ref("RedisNodes"),
                    "AUTH_PROVIDER": ref("AuthProvider"),
                    "OIDC_ISSUER": ref("OidcIssuer"),
                    "OIDC_AUDIENCE": ref("OidcAudience"),
                    "OIDC_JWKS_URL": ref("OidcJwksUrl"),
                    "MAILER": "ses",
                    "MAIL_FROM": ref("MailFrom"),
                    # Resolved by CloudFormation at deploy time from Secrets Manager: never in the template,
                    # the repository or the change set (docs/deploy.md says how to create and rotate it).
                    "JWT_SECRET": sub("{{resolve:secretsmanager:${JwtSecretName}:SecretString}}"),
                    "OPERATOR_TOKEN": sub("{{resolve:secretsmanager:${OperatorTokenName}:SecretString}}"),
                }
            }
        }
    }


# Lambda SnapStart (docs/adr/0015-cold-start.md): a cold start restores a snapshot taken after init (the ~0.3 s of
# imports measured by scripts/bench/cold_start.py) instead of running it. It applies to published versions only, so
# SAM publishes one per deployment behind the alias ``live``, which every caller invokes: the SQS event source
# (SAM points it at the alias) and API Gateway (infra/package.py re-points chalice's integration and permission).
# Init creates nothing unique or connection-like (clients, connections and the container are made on first use).
FUNCTION_ALIAS = "live"
SNAP_START: Json = {"AutoPublishAlias": FUNCTION_ALIAS, "SnapStart": {"ApplyOn": "PublishedVersions"}}


def function_overrides() -> Json:
    return {
        "APIHandler": {"Properties": {"Role": get_att("ApiRole", "Arn"), **SNAP_START}},
        "HandleSqs": {
            "Properties": {
                "Role": get_att("ProcessorRole", "Arn"),
                **SNAP_START,
                # Lists replace chalice's, so this one names both: chalice's managed layer (every dependency;
                # ``automatic_layer`` in .chalice/config.json) and Powertools' BatchProcessor
                # (chalicelib/services/processor.py) from AWS's public layer.
                "Layers": [
                    ref("ManagedLayer"),
                    sub(
                        "arn:${AWS::Partition}:lambda:${AWS::Region}:017000801446:layer:"
                        "AWSLambdaPowertoolsPythonV3-python312-x86_64:${PowertoolsLayerVersion}"
                    ),
                ],
                "Events": {
                    "HandleSqsSqsEventSource": {
                        "Properties": {
                            "Queue": sub("${ProcessingQueue.Arn}"),
                            # The handler answers {"batchItemFailures": [...]}: only those are retried.
                            "FunctionResponseTypes": ["ReportBatchItemFailures"],
                        }
                    }
                },
            }
        },
        "RestAPI": {
            "Properties": {
                # One name per stack, so API Gateway's metrics (dimension ApiName) of dev and prod stay apart.
                "Name": sub("${AWS::StackName}"),
                # Deep-merged into chalice's OpenAPI body (so every deployment carries them).
                "DefinitionBody": {"x-amazon-apigateway-gateway-responses": gateway_responses()},
                # Every route of the stage: a flood is answered 429 by API Gateway before it costs a Lambda.
                "MethodSettings": [
                    {
                        "ResourcePath": "/*",
                        "HttpMethod": "*",
                        "ThrottlingRateLimit": API_THROTTLE_RATE_PER_SECOND,
                        "ThrottlingBurstLimit": API_THROTTLE_BURST,
                    }
                ],
            }
        },
    }


# What API Gateway answers by itself (an unknown route's "Missing Authentication Token", throttling, a body
# over its limit, an integration timeout) gets our error shape and the site's CORS header, so the web page can
# read it like any other error instead of seeing an opaque network failure.
GATEWAY_ERROR_TEMPLATE = (
    '{"detail": {"code": "$context.error.responseType", "message": $context.error.messageString, '
    '"details": {"request_id": "$context.requestId"}}}'
)


def gateway_responses() -> Json:
    response = {
        "responseParameters": {
            "gatewayresponse.header.Access-Control-Allow-Origin": sub("'${SiteOrigin}'"),
            "gatewayresponse.header.Access-Control-Expose-Headers": "'Retry-After,X-Request-Id'",
        },
        "responseTemplates": {"application/json": GATEWAY_ERROR_TEMPLATE},
    }
    return {"DEFAULT_4XX": response, "DEFAULT_5XX": response}


def log_groups() -> Json:
    # Created by us (not by Lambda on first use) so they have a retention and go away with the stack.
    return {
        f"{function}LogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": sub(f"/aws/lambda/${{{function}}}"),
                "RetentionInDays": LOG_RETENTION_DAYS,
            },
        }
        for function in ("APIHandler", "HandleSqs")
    }


# Where renditions live: the CDN's public prefix, the private one, and the first layout's files/ and thumbs/.
# content/: shared renditions (ADR 0013); the others: records from before, which keep their keys.
RENDITION_PREFIXES = (CONTENT_PREFIX, PUBLIC_PREFIX, PRIVATE_PREFIX, FILES_PREFIX, THUMBS_PREFIX)


def _objects(*prefixes: str) -> list[Json]:
    return [sub(f"${{ImagesBucket.Arn}}/{prefix}*") for prefix in prefixes]


def _log_statement(function: str) -> Json:
    return {
        "Sid": "OwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": sub(f"${{{function}LogGroup.Arn}}"),
    }


def _role(name: str) -> Json:
    """A role Lambda may assume; its permissions are the ``*Policy`` beside it (no inline ``Policies``)."""
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "Description": f"Chitram {name}: least privilege, nothing shared with the other function.",
        },
    }


def _policy(role: str, statements: list[Json]) -> Json:
    return {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": sub(f"${{AWS::StackName}}-{role}"),
            "Roles": [ref(role)],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
        },
    }


def access_policy() -> Json:
    """One role per function, each with only what its code calls (tests/packaging/test_least_privilege.py holds
    the packaged template to that, both ways). Chalice's shared ``DefaultRole`` (``sqs:*`` and ``logs`` on ``*``)
    is dropped from the package by ``infra/package.py``. Object permissions are per prefix, never the bucket."""
    images = [get_att("ImagesTable", "Arn")]
    users = [get_att("UsersTable", "Arn")]
    tables = images + users
    api = [
        _log_statement("APIHandler"),
        {
            # Presigned POSTs and multipart parts are signed with this role: it must itself be allowed to write
            # originals; API uploads write the renditions; deletes remove all three; presigned GETs read them.
            "Sid": "ImageObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": _objects(ORIGINALS_PREFIX, *RENDITION_PREFIXES),
        },
        {
            "Sid": "MultipartUploads",
            "Effect": "Allow",
            "Action": ["s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
            "Resource": _objects(ORIGINALS_PREFIX),
        },
        {
            # HeadBucket (/health/details) needs ListBucket; it also turns a missing key into 404.
            "Sid": "ImageBucket",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:ListBucketMultipartUploads"],
            "Resource": get_att("ImagesBucket", "Arn"),
        },
        {
            "Sid": "Tables",
            "Effect": "Allow",
            "Action": [
                "dynamodb:GetItem",
                "dynamodb:BatchGetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
                "dynamodb:DescribeTable",
            ],
            "Resource": tables,
        },
        {
            "Sid": "Indexes",
            "Effect": "Allow",
            "Action": ["dynamodb:Query"],
            "Resource": [sub("${ImagesTable.Arn}/index/*")],
        },
        {
            # /health/details reports both queues' depth.
            "Sid": "QueueHealth",
            "Effect": "Allow",
            "Action": ["sqs:GetQueueUrl", "sqs:GetQueueAttributes"],
            "Resource": [get_att("ProcessingQueue", "Arn"), get_att("DeadLetterQueue", "Arn")],
        },
        {
            # Account e-mail, from the configured sender only.
            "Sid": "AccountMail",
            "Effect": "Allow",
            "Action": ["ses:SendEmail"],
            "Resource": sub("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"),
            "Condition": {"StringEquals": {"ses:FromAddress": ref("MailFrom")}},
        },
    ]
    processor = [
        _log_statement("HandleSqs"),
        {
            # What the event source mapping does with the function's role.
            "Sid": "OwnQueue",
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            "Resource": get_att("ProcessingQueue", "Arn"),
        },
        {
            # The original, and renditions it moves between the public and private prefixes (a copy reads them).
            "Sid": "ReadObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": _objects(ORIGINALS_PREFIX, *RENDITION_PREFIXES),
        },
        {
            "Sid": "WriteRenditions",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": _objects(*RENDITION_PREFIXES),
        },
        {
            # The handled original, and renditions of an image deleted while it was processed.
            "Sid": "RemoveObjects",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject"],
            "Resource": _objects(ORIGINALS_PREFIX, *RENDITION_PREFIXES),
        },
        {
            "Sid": "ImageRecords",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:UpdateItem", "dynamodb:Query"],
            "Resource": images,
        },
        {
            "Sid": "DuplicateIndex",
            "Effect": "Allow",
            "Action": ["dynamodb:Query"],
            "Resource": [sub("${ImagesTable.Arn}/index/sha256-index")],
        },
        {
            # Quota corrections (a ready image's real size, a rejected upload's release).
            "Sid": "QuotaCounters",
            "Effect": "Allow",
            "Action": ["dynamodb:UpdateItem"],
            "Resource": users,
        },
    ]
    return {
        "ApiRole": _role("API"),
        "ApiPolicy": _policy("ApiRole", api),
        "ProcessorRole": _role("processor"),
        "ProcessorPolicy": _policy("ProcessorRole", processor),
    }


# --- alarms and dashboard ----------------------------------------------------------------------------------


def _alarm(description: str, **properties: Any) -> Json:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "AlarmActions": [ref("AlarmTopic")],
            "OKActions": [ref("AlarmTopic")],
            "TreatMissingData": "notBreaching",
            **properties,
        },
    }


def _api_metric(metric_id: str, name: str, *, stat: str = "Sum", visible: bool = False) -> Json:
    return {
        "Id": metric_id,
        "ReturnData": visible,
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/ApiGateway",
                "MetricName": name,
                "Dimensions": [{"Name": "ApiName", "Value": sub("${AWS::StackName}")}],
            },
            "Period": 300,
            "Stat": stat,
        },
    }


def alarm_resources() -> Json:
    lambda_dims = [{"Name": "FunctionName", "Value": ref("HandleSqs")}]
    return {
        "AlarmTopic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"DisplayName": sub("${AWS::StackName} alarms"), "KmsMasterKeyId": "alias/aws/sns"},
        },
        "Api5xxRateAlarm": _alarm(
            "More than 1% of API requests answered 5xx over 5 minutes (two periods in a row).",
            Metrics=[
                _api_metric("errors", "5XXError"),
                _api_metric("requests", "Count"),
                {
                    "Id": "rate",
                    "Label": "5xx rate (%)",
                    "Expression": "IF(requests > 0, 100 * errors / requests, 0)",
                    "ReturnData": True,
                },
            ],
            ComparisonOperator="GreaterThanThreshold",
            Threshold=1,
            EvaluationPeriods=2,
            DatapointsToAlarm=2,
        ),
        "ApiLatencyP95Alarm": _alarm(
            "API p95 latency above the threshold for 15 minutes.",
            Namespace="AWS/ApiGateway",
            MetricName="Latency",
            Dimensions=[{"Name": "ApiName", "Value": sub("${AWS::StackName}")}],
            ExtendedStatistic="p95",
            Period=300,
            EvaluationPeriods=3,
            Threshold=ref("LatencyP95ThresholdMs"),
            ComparisonOperator="GreaterThanThreshold",
        ),
        "DeadLetterQueueAlarm": _alarm(
            "A message reached the dead-letter queue: an upload failed processing 3 times (scripts/redrive).",
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": get_att("DeadLetterQueue", "QueueName")}],
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        ),
        "ProcessorErrorsAlarm": _alarm(
            "The processor function failed (raised or timed out) in the last 5 minutes.",
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Dimensions=lambda_dims,
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        ),
        "ProcessorThrottlesAlarm": _alarm(
            "The processor was throttled (its reserved concurrency is exhausted): uploads queue up.",
            Namespace="AWS/Lambda",
            MetricName="Throttles",
            Dimensions=lambda_dims,
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        ),
    }


def dashboard_body() -> str:
    """CloudWatch dashboard JSON with ``${...}`` placeholders for ``Fn::Sub``."""
    region = "${AWS::Region}"
    api = ["AWS/ApiGateway", "Count", "ApiName", "${AWS::StackName}"]

    def widget(title: str, metrics: list[Any], *, x: int, y: int, stat: str = "Sum", **extra: Any) -> Json:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "stat": stat,
                "period": 60,
                "view": "timeSeries",
                "metrics": metrics,
                **extra,
            },
        }

    def ours(dimensions: str, names: str) -> list[Any]:
        # SEARCH finds every route/status, node or reason that has reported, without listing them here.
        query = f'{{{NAMESPACE},{dimensions}}} ({names}) Stage="${{Stage}}"'
        return [{"expression": f"SEARCH('{query}', 'Sum', 60)"}]

    widgets = [
        widget(
            "API requests and 5xx",
            [api, ["AWS/ApiGateway", "5XXError", "ApiName", "${AWS::StackName}"], [".", "4XXError", ".", "."]],
            x=0,
            y=0,
        ),
        widget(
            "API latency (ms)",
            [
                ["AWS/ApiGateway", "Latency", "ApiName", "${AWS::StackName}", {"stat": "p50"}],
                ["...", {"stat": "p95"}],
                ["...", {"stat": "p99"}],
            ],
            x=12,
            y=0,
            stat="p95",
        ),
        widget("Requests by route and status", ours("Stage,Route,Status", 'MetricName="Requests"'), x=0, y=6),
        widget(
            "Cache hits and misses per node",
            ours("Stage,Node", 'MetricName="CacheHits" OR MetricName="CacheMisses"'),
            x=12,
            y=6,
        ),
        widget(
            "Processing time (ms)",
            [
                [NAMESPACE, "ProcessingTime", "Stage", "${Stage}", "Outcome", "ready", {"stat": "p95"}],
                ["...", {"stat": "p50"}],
            ],
            x=0,
            y=12,
            stat="p95",
        ),
        widget("Rejects by reason", ours("Stage,Reason", 'MetricName="Rejects"'), x=12, y=12),
        widget(
            "Queue depth",
            [
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "${ProcessingQueue.QueueName}"],
                ["...", "${DeadLetterQueue.QueueName}"],
                [".", "ApproximateAgeOfOldestMessage", ".", "${ProcessingQueue.QueueName}", {"yAxis": "right"}],
            ],
            x=0,
            y=18,
            stat="Maximum",
        ),
        widget(
            "Processor errors, throttles and duration",
            [
                ["AWS/Lambda", "Errors", "FunctionName", "${HandleSqs}"],
                [".", "Throttles", ".", "."],
                [".", "Duration", ".", ".", {"stat": "p95", "yAxis": "right"}],
                [".", "Errors", ".", "${APIHandler}"],
            ],
            x=12,
            y=18,
        ),
        widget(
            "Upload sizes (bytes)",
            [[NAMESPACE, "UploadBytes", "Stage", "${Stage}", "Path", "presigned"], ["...", "api"]],
            x=0,
            y=24,
            stat="Average",
        ),
    ]
    # ``Fn::Sub`` treats ``${`` as a placeholder; none of the literal text above needs escaping.
    return json.dumps({"widgets": widgets}, separators=(",", ":"))


def dashboard_resources() -> Json:
    return {
        "Dashboard": {
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {"DashboardName": sub("${AWS::StackName}"), "DashboardBody": sub(dashboard_body())},
        }
    }


def outputs() -> Json:
    return {
        "ImagesBucketName": {"Value": ref("ImagesBucket")},
        "ImagesTableName": {"Value": ref("ImagesTable")},
        "UsersTableName": {"Value": ref("UsersTable")},
        "ProcessingQueueUrl": {"Value": ref("ProcessingQueue")},
        "DeadLetterQueueUrl": {"Value": ref("DeadLetterQueue")},
        "AlarmTopicArn": {"Value": ref("AlarmTopic")},
        **cdn.outputs(),
        "DashboardUrl": {
            "Value": sub(
                "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}"
                "#dashboards:name=${Dashboard}"
            )
        },
    }


def build() -> Json:
    resources: Json = {}
    for part in (
        storage_resources(),
        table_resources(),
        function_overrides(),
        log_groups(),
        access_policy(),
        alarm_resources(),
        dashboard_resources(),
        cdn.resources(),
    ):
        resources.update(part)
    return {
        "Description": "Chitram Serverless: images API, processor, storage, queue, tables, CDN, alarms, dashboard.",
        "Parameters": {**parameters(), **cdn.parameters()},
        "Conditions": cdn.conditions(),
        "Globals": globals_section(),
        "Resources": resources,
        "Outputs": outputs(),
    }


def render() -> str:
    return json.dumps(build(), indent=2) + "\n"


def write(path: Path = TEMPLATE_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render())
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the merge template (build/merge-template.json).")
    parser.add_argument("--out", type=Path, default=TEMPLATE_PATH, help="where to write it")
    args = parser.parse_args(argv)
    write(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
