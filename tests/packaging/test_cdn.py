"""The CloudFront distribution in the packaged template: its path rules, origin access control, headers policies.

Expectations come from ``chalicelib.delivery`` (the table the local edge applies too), never copied here.
"""

from __future__ import annotations

from typing import Any

from chalicelib import delivery, site_headers
from infra import cdn


def distribution(template: dict[str, Any]) -> dict[str, Any]:
    found = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudFront::Distribution"]
    assert len(found) == 1, "exactly one distribution"
    config: dict[str, Any] = found[0]["Properties"]["DistributionConfig"]
    return config


def origin(config: dict[str, Any], origin_id: str) -> dict[str, Any]:
    return next(o for o in config["Origins"] if o["Id"] == origin_id)


def test_behaviours_follow_the_delivery_table_in_order(sam: dict[str, Any]) -> None:
    config = distribution(sam)
    assert [b["PathPattern"] for b in config["CacheBehaviors"]] == [b.pattern for b in delivery.BEHAVIOURS]
    targets = [cdn.ORIGIN_IDS[b.target] for b in delivery.BEHAVIOURS]
    assert [b["TargetOriginId"] for b in config["CacheBehaviors"]] == targets
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == "site"
    for behaviour in [*config["CacheBehaviors"], config["DefaultCacheBehavior"]]:
        assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"


def test_api_is_not_cached_and_gets_every_method_header_and_query(sam: dict[str, Any]) -> None:
    api = next(b for b in distribution(sam)["CacheBehaviors"] if b["PathPattern"] == "/api/*")
    health = next(b for b in distribution(sam)["CacheBehaviors"] if b["PathPattern"] == "/health")
    assert health["CachePolicyId"] == cdn.CACHING_DISABLED
    assert api["CachePolicyId"] == cdn.CACHING_DISABLED
    assert api["OriginRequestPolicyId"] == cdn.ALL_VIEWER_EXCEPT_HOST_HEADER
    assert set(api["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    api_origin = origin(distribution(sam), "api")
    # chalice's REST API, through its stage: /api/v1/x reaches the route /api/v1/x.
    assert "RestAPI" in sam["Resources"]
    assert api_origin["DomainName"] == {"Fn::Sub": "${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    assert api_origin["OriginPath"] == "/" + sam["Resources"]["RestAPI"]["Properties"]["StageName"]
    assert api_origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"


def test_images_come_from_the_public_prefix_only_through_origin_access_control(sam: dict[str, Any]) -> None:
    images = origin(distribution(sam), "images")
    assert images["DomainName"] == {"Fn::GetAtt": ["ImagesBucket", "RegionalDomainName"]}
    # Without the edge resolver: the public prefix is the origin path. With it: the resolver names whole keys.
    assert images["OriginPath"] == cdn.if_resolver({"Ref": "AWS::NoValue"}, delivery.PUBLIC_ORIGIN_PATH)
    assert images["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}
    oac = sam["Resources"]["SiteOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (oac["SigningBehavior"], oac["SigningProtocol"], oac["OriginAccessControlOriginType"]) == (
        "always",
        "sigv4",
        "s3",
    )
    statements = sam["Resources"]["ImagesBucketTlsOnly"]["Properties"]["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert allows == [cdn.images_read_statement()]
    without_resolver = {"Fn::Sub": "${ImagesBucket.Arn}/" + delivery.PUBLIC_PREFIX + "*"}
    with_resolver = [{"Fn::Sub": "${ImagesBucket.Arn}/" + p + "*"} for p in cdn.RESOLVED_PREFIXES]
    assert allows[0]["Resource"] == cdn.if_resolver(with_resolver, without_resolver)
    # Whatever a record says, the uploads as sent (location data and all) are never readable by the CDN.
    assert not any(p.startswith("originals") for p in cdn.RESOLVED_PREFIXES)
    assert allows[0]["Condition"]["StringEquals"]["AWS:SourceArn"] == cdn.distribution_arn()


def test_renditions_are_cached_and_embeddable(sam: dict[str, Any]) -> None:
    behaviour = next(b for b in distribution(sam)["CacheBehaviors"] if b["PathPattern"] == "/i/*")
    assert behaviour["CachePolicyId"] == cdn.CACHING_OPTIMIZED
    assert behaviour["AllowedMethods"] == ["GET", "HEAD"]
    policy = sam["Resources"]["ImagesHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    assert policy["SecurityHeadersConfig"]["ContentTypeOptions"] == {"Override": True}
    custom = {h["Header"]: h["Value"] for h in policy["CustomHeadersConfig"]["Items"]}
    assert custom == delivery.IMAGE_EXTRA_HEADERS


def test_share_pages_are_cached_as_the_api_says_with_a_bare_cache_key(sam: dict[str, Any]) -> None:
    behaviours = distribution(sam)["CacheBehaviors"]
    patterns = {b.pattern for b in delivery.BEHAVIOURS if b.target == "share"}
    share = [b for b in behaviours if b["PathPattern"] in patterns]
    assert share, "share page behaviours"
    policy = sam["Resources"]["SharePagesCachePolicy"]["Properties"]["CachePolicyConfig"]
    assert policy["DefaultTTL"] == 0  # nothing is cached unless the API says so
    key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["HeadersConfig"]["HeaderBehavior"] == "none"
    assert key["CookiesConfig"]["CookieBehavior"] == "none"
    for behaviour in share:
        assert behaviour["CachePolicyId"] == {"Ref": "SharePagesCachePolicy"}
        assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "SiteSecurityHeaders"}


def test_site_and_share_pages_carry_the_security_headers(sam: dict[str, Any]) -> None:
    config = distribution(sam)
    assert config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] == {"Ref": "SiteSecurityHeaders"}
    security = sam["Resources"]["SiteSecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"][
        "SecurityHeadersConfig"
    ]
    assert security == site_headers.cloudfront_security_headers_config()
    assert "frame-ancestors 'none'" in security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 365 * 24 * 3600
    assert security["ContentTypeOptions"] == {"Override": True}


def test_no_bucket_is_public(sam: dict[str, Any]) -> None:
    buckets = {name: r for name, r in sam["Resources"].items() if r["Type"] == "AWS::S3::Bucket"}
    assert {"ImagesBucket", "SiteBucket"} <= set(buckets)
    for name, bucket in buckets.items():
        block = bucket["Properties"]["PublicAccessBlockConfiguration"]
        blocks = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
        assert all(block[k] for k in blocks), name
    policies = [r for r in sam["Resources"].values() if r["Type"] == "AWS::S3::BucketPolicy"]
    for policy in policies:
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Allow":
                # Only CloudFront, and only this distribution (a condition on its ARN).
                assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
                assert statement["Condition"]["StringEquals"]["AWS:SourceArn"] == cdn.distribution_arn()


def test_the_api_may_invalidate_this_distribution_only(sam: dict[str, Any]) -> None:
    statements = sam["Resources"]["CdnInvalidationPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    invalidate = next(s for s in statements if s["Action"] == "cloudfront:CreateInvalidation")
    assert invalidate["Resource"] == cdn.distribution_arn()


def test_the_functions_know_where_to_find_the_distribution(sam: dict[str, Any]) -> None:
    variables = sam["Globals"]["Function"]["Environment"]["Variables"]
    parameter = sam["Resources"]["DistributionIdParameter"]["Properties"]
    assert variables["CDN_DISTRIBUTION_PARAMETER"] == parameter["Name"] == cdn.distribution_parameter_name()
    assert parameter["Value"] == {"Ref": "SiteDistribution"}
