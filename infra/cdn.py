"""The CloudFront distribution: one origin for the site, the API, share pages and the images' public prefix.

Its path rules are ``chalicelib.delivery.BEHAVIOURS`` (the same table ``scripts/edge.py`` applies locally), in
that order; the default behaviour serves the site bucket. What each target gets:

- ``api``     API Gateway (chalice's ``RestAPI``, its stage as origin path): not cached, every viewer header but
              Host, every query string and cookie forwarded, every method allowed.
- ``images``  the images bucket through origin access control. With the edge resolver attached (stack
              parameter ``EdgeResolverVersionArn``, the Lambda@Edge function of ``infra/edge.py``), every cache
              miss asks it which key the path serves (``chalicelib/edge_resolver.py``: short id -> ready
              public/unlisted record -> that record's key, else a bare uncached 404), so renditions shared by
              records with the same bytes need no copy per record; the function is the gate, so the bucket policy
              lets the distribution read the renditions' prefixes (never ``originals/``). Without it (a stack not
              yet given one), the origin path ``/public`` and a ``public/*``-only policy serve the per-record
              layout as before. Cached by the managed CachingOptimized policy; the objects' own
              ``Cache-Control: public, max-age=31536000, immutable``, ``Content-Type`` and ``Content-Disposition``
              (written by the processor) pass through; the images headers policy adds nosniff, lets other
              origins embed them (``Cross-Origin-Resource-Policy: cross-origin``, CORS ``*`` for GET) and removes
              ``Last-Modified`` (a shared object's date would tell a viewer when someone first uploaded the bytes).
- ``share``   the API's share pages, cached as the API's ``Cache-Control`` says (public pages ``s-maxage``;
              private and missing ones ``no-store``); the cache key has no headers, cookies or query strings.
- ``site``    the site bucket (web/) through origin access control.
Site pages and share pages carry the security headers policy (CSP with ``frame-ancestors``, X-Frame-Options,
HSTS, Referrer-Policy, nosniff), so no page needs its own copy.

No bucket is public: both keep every public access block on and are read by this distribution alone.

The logical ids ``SiteDistribution``, ``SiteOriginAccessControl`` and ``SiteSecurityHeaders`` are the ones the
site-only distribution had, so a stack update changes these resources in place instead of replacing them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chalicelib import delivery, site_headers

Json = dict[str, Any]
ROOT = Path(__file__).resolve().parent.parent

# AWS managed policies (stable, documented ids).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"

ORIGIN_IDS: dict[delivery.Target, str] = {"api": "api", "images": "images", "share": "api", "site": "site"}
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]
READ_METHODS = ["GET", "HEAD"]
SHARE_PAGE_MAX_TTL = 24 * 3600  # the API's s-maxage decides; this only caps it
REMOVED_IMAGE_HEADERS = ("Last-Modified",)


def ref(name: str) -> Json:
    return {"Ref": name}


def sub(text: str) -> Json:
    return {"Fn::Sub": text}


def get_att(resource: str, attribute: str) -> Json:
    return {"Fn::GetAtt": [resource, attribute]}


def api_stage() -> str:
    """The API Gateway stage chalice deploys (the API origin's path): the same for every stage in the config."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    stages = {stage.get("api_gateway_stage", "api") for stage in config["stages"].values()}
    if len(stages) != 1:
        raise ValueError(f"every chalice stage must use one api_gateway_stage, found {sorted(stages)}")
    return str(stages.pop())


# A numbered version of a function in us-east-1 (CloudFront takes nothing else: no alias, no $LATEST).
EDGE_VERSION_ARN_PATTERN = r"^(arn:aws[a-z-]*:lambda:us-east-1:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}:[0-9]+)?$"
# Prefixes the resolver may name (chalicelib/edge_resolver.py): content-addressed renditions and every layout
# before them. Never originals/ (uploads as sent, location data and all).
RESOLVED_PREFIXES = ("content/", "public/", "private/", "files/", "thumbs/")


def parameters() -> Json:
    return {
        "EdgeResolverVersionArn": {
            "Type": "String",
            "Default": "",
            "AllowedPattern": EDGE_VERSION_ARN_PATTERN,
            "Description": "ResolverVersionArn output of the edge stack (infra/edge.py, us-east-1); empty: none yet.",
        },
        "CdnAliases": {
            "Type": "CommaDelimitedList",
            "Default": "",
            "Description": "Custom domain names of the distribution (empty: its cloudfront.net name only).",
        },
        "CdnCertificateArn": {
            "Type": "String",
            "Default": "",
            "Description": "ACM certificate (us-east-1) for CdnAliases; required with them.",
        },
    }


def conditions() -> Json:
    return {
        "HasCdnCertificate": {"Fn::Not": [{"Fn::Equals": [ref("CdnCertificateArn"), ""]}]},
        "HasEdgeResolver": {"Fn::Not": [{"Fn::Equals": [ref("EdgeResolverVersionArn"), ""]}]},
    }


def if_resolver(with_it: Any, without: Any) -> Json:
    return {"Fn::If": ["HasEdgeResolver", with_it, without]}


def distribution_parameter_name() -> Json:
    """The SSM parameter holding the distribution id (the functions read it: CDN_DISTRIBUTION_PARAMETER)."""
    return sub("/${AWS::StackName}/cdn-distribution-id")


def images_read_statement() -> Json:
    """The images bucket policy statement that lets this distribution (only) read the public prefix (only)."""
    return {
        "Sid": "CloudFrontReadsPublicRenditions",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": if_resolver(
            [sub("${ImagesBucket.Arn}/" + prefix + "*") for prefix in RESOLVED_PREFIXES],
            sub("${ImagesBucket.Arn}/" + delivery.PUBLIC_PREFIX + "*"),
        ),
        "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn()}},
    }


def distribution_arn() -> Json:
    return sub("arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${SiteDistribution}")


def _origins() -> list[Json]:
    s3_oac = {"S3OriginConfig": {"OriginAccessIdentity": ""}}
    return [
        {
            "Id": "site",
            "DomainName": get_att("SiteBucket", "RegionalDomainName"),
            "OriginAccessControlId": get_att("SiteOriginAccessControl", "Id"),
            **s3_oac,
        },
        {
            "Id": "images",
            "DomainName": get_att("ImagesBucket", "RegionalDomainName"),
            # The resolver rewrites the path to the whole key; without it, the public prefix is the origin path.
            "OriginPath": if_resolver(ref("AWS::NoValue"), delivery.PUBLIC_ORIGIN_PATH),
            "OriginAccessControlId": get_att("SiteOriginAccessControl", "Id"),
            **s3_oac,
        },
        {
            "Id": "api",
            "DomainName": sub("${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"),
            "OriginPath": "/" + api_stage(),
            "CustomOriginConfig": {"OriginProtocolPolicy": "https-only", "OriginSSLProtocols": ["TLSv1.2"]},
        },
    ]


def _behaviour(target: delivery.Target) -> Json:
    common: Json = {"TargetOriginId": ORIGIN_IDS[target], "ViewerProtocolPolicy": "redirect-to-https", "Compress": True}
    if target == "api":
        return {
            **common,
            "AllowedMethods": ALL_METHODS,
            "CachedMethods": READ_METHODS,
            "CachePolicyId": CACHING_DISABLED,
            "OriginRequestPolicyId": ALL_VIEWER_EXCEPT_HOST_HEADER,
        }
    if target == "images":
        return {
            **common,
            "AllowedMethods": READ_METHODS,
            "CachedMethods": READ_METHODS,
            "CachePolicyId": CACHING_OPTIMIZED,
            "ResponseHeadersPolicyId": ref("ImagesHeadersPolicy"),
            # Cache misses only: a hit is answered by the edge cache alone.
            "LambdaFunctionAssociations": if_resolver(
                [
                    {
                        "EventType": "origin-request",
                        "LambdaFunctionARN": ref("EdgeResolverVersionArn"),
                        "IncludeBody": False,
                    }
                ],
                ref("AWS::NoValue"),
            ),
        }
    if target == "share":
        return {
            **common,
            "AllowedMethods": READ_METHODS,
            "CachedMethods": READ_METHODS,
            "CachePolicyId": ref("SharePagesCachePolicy"),
            "ResponseHeadersPolicyId": ref("SiteSecurityHeaders"),
        }
    return {
        **common,
        "AllowedMethods": READ_METHODS,
        "CachedMethods": READ_METHODS,
        "CachePolicyId": CACHING_OPTIMIZED,
        "ResponseHeadersPolicyId": ref("SiteSecurityHeaders"),
    }


def distribution_config() -> Json:
    return {
        "Enabled": True,
        "Comment": sub("${AWS::StackName}: site, API, share pages and public images"),
        "DefaultRootObject": "index.html",
        "HttpVersion": "http2and3",
        "IPV6Enabled": True,
        "PriceClass": "PriceClass_100",
        "Aliases": {"Fn::If": ["HasCdnCertificate", ref("CdnAliases"), ref("AWS::NoValue")]},
        "ViewerCertificate": {
            "Fn::If": [
                "HasCdnCertificate",
                {
                    "AcmCertificateArn": ref("CdnCertificateArn"),
                    "SslSupportMethod": "sni-only",
                    "MinimumProtocolVersion": "TLSv1.2_2021",
                },
                {"CloudFrontDefaultCertificate": True},
            ]
        },
        "Origins": _origins(),
        "CacheBehaviors": [{"PathPattern": b.pattern, **_behaviour(b.target)} for b in delivery.BEHAVIOURS],
        "DefaultCacheBehavior": _behaviour(delivery.DEFAULT_TARGET),
    }


def resources() -> Json:
    return {
        "SiteBucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                },
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            },
        },
        "SiteOriginAccessControl": {
            "Type": "AWS::CloudFront::OriginAccessControl",
            "Properties": {
                "OriginAccessControlConfig": {
                    "Name": sub("${AWS::StackName}-site"),
                    "OriginAccessControlOriginType": "s3",
                    "SigningBehavior": "always",
                    "SigningProtocol": "sigv4",
                }
            },
        },
        "SiteSecurityHeaders": {
            "Type": "AWS::CloudFront::ResponseHeadersPolicy",
            "Properties": {
                "ResponseHeadersPolicyConfig": {
                    "Name": sub("${AWS::StackName}-site-security"),
                    "Comment": "Security headers of the site and the share pages",
                    "SecurityHeadersConfig": site_headers.cloudfront_security_headers_config(),
                }
            },
        },
        "ImagesHeadersPolicy": {
            "Type": "AWS::CloudFront::ResponseHeadersPolicy",
            "Properties": {
                "ResponseHeadersPolicyConfig": {
                    "Name": sub("${AWS::StackName}-image-headers"),
                    "Comment": "Public renditions: nosniff, embeddable from any origin, no upload date",
                    "SecurityHeadersConfig": {"ContentTypeOptions": {"Override": True}},
                    # Renditions are shared by every record with the same bytes: the object's date would tell
                    # a viewer when the bytes were first uploaded, possibly by someone else.
                    "RemoveHeadersConfig": {"Items": [{"Header": header} for header in REMOVED_IMAGE_HEADERS]},
                    "CorsConfig": {
                        "AccessControlAllowCredentials": False,
                        "AccessControlAllowHeaders": {"Items": ["*"]},
                        "AccessControlAllowMethods": {"Items": READ_METHODS},
                        "AccessControlAllowOrigins": {"Items": ["*"]},
                        "AccessControlMaxAgeSec": 86400,
                        "OriginOverride": True,
                    },
                    "CustomHeadersConfig": {
                        "Items": [
                            {"Header": name, "Value": value, "Override": True}
                            for name, value in delivery.IMAGE_EXTRA_HEADERS.items()
                        ]
                    },
                }
            },
        },
        "SharePagesCachePolicy": {
            "Type": "AWS::CloudFront::CachePolicy",
            "Properties": {
                "CachePolicyConfig": {
                    "Name": sub("${AWS::StackName}-share-pages"),
                    "Comment": "Share pages: as long as the API's Cache-Control says (public pages only)",
                    "MinTTL": 0,
                    "DefaultTTL": 0,
                    "MaxTTL": SHARE_PAGE_MAX_TTL,
                    "ParametersInCacheKeyAndForwardedToOrigin": {
                        "EnableAcceptEncodingGzip": True,
                        "EnableAcceptEncodingBrotli": True,
                        "HeadersConfig": {"HeaderBehavior": "none"},
                        "CookiesConfig": {"CookieBehavior": "none"},
                        "QueryStringsConfig": {"QueryStringBehavior": "none"},
                    },
                }
            },
        },
        "SiteDistribution": {
            "Type": "AWS::CloudFront::Distribution",
            "Properties": {"DistributionConfig": distribution_config()},
        },
        # The API function invalidates paths when an image leaves the public prefix. It cannot take the
        # distribution's id as an environment variable (distribution -> API -> function would be a cycle), so it
        # reads it from this parameter, whose name it derives from the stack name.
        "DistributionIdParameter": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Name": distribution_parameter_name(),
                "Type": "String",
                "Value": ref("SiteDistribution"),
                "Description": "The CloudFront distribution the API invalidates",
            },
        },
        "CdnInvalidationPolicy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": "chitram-cdn",
                # Both functions move renditions between the public and private prefixes (the processor when
                # the visibility changed while it worked), so both may invalidate (infra/template.py's roles).
                "Roles": [ref("ApiRole"), ref("ProcessorRole")],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "Invalidate",
                            "Effect": "Allow",
                            "Action": "cloudfront:CreateInvalidation",
                            "Resource": distribution_arn(),
                        },
                        {
                            "Sid": "FindDistribution",
                            "Effect": "Allow",
                            "Action": "ssm:GetParameter",
                            "Resource": sub(
                                "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${AWS::StackName}/cdn-distribution-id"
                            ),
                        },
                    ],
                },
            },
        },
        "SiteBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": ref("SiteBucket"),
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "CloudFrontReadsTheSite",
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudfront.amazonaws.com"},
                            "Action": "s3:GetObject",
                            "Resource": sub("${SiteBucket.Arn}/*"),
                            "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn()}},
                        }
                    ],
                },
            },
        },
    }


def outputs() -> Json:
    return {
        "SiteBucketName": {"Value": ref("SiteBucket")},
        "SiteUrl": {"Value": sub("https://${SiteDistribution.DomainName}")},
        "DistributionId": {"Value": ref("SiteDistribution")},
    }
