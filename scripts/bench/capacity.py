"""Capacity model for docs/capacity.md: the load, what reaches each service, the monthly cost, and two local checks.

    .venv/bin/python scripts/bench/capacity.py [--ids 1000000] [--nodes 3,6]

Local checks (measured, with the product's own code):
- the gallery index's shard spread: ``chalicelib.records.gallery_shard_for`` over ``--ids`` random ids, max/mean
  items per shard (1.00 is perfect) for 4, 8 and 16 shards;
- the cache ring's balance: ``chalicelib.cache.ring.HashRing`` with the product's 150 virtual nodes over the same
  keys (``img:v1:<id>``), max/mean keys per node at each ``--nodes`` count.
Everything else is arithmetic on the stated assumptions and prices (printed with the numbers). Ratios only: no
timing is measured, so the output does not depend on the machine's load.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from chalicelib import catalog  # noqa: E402
from chalicelib.cache.metadata import KEY_PREFIX  # noqa: E402
from chalicelib.cache.ring import HashRing  # noqa: E402
from chalicelib.records import READY, Image, gallery_shard_for  # noqa: E402

DAY = 86_400
MONTH_DAYS = 30
GB = 1e9

# --- assumptions ----------------------------------------------------------------------------------------------

UPLOADS_PER_DAY = 10e6
READS_PER_DAY = 1e9  # image fetches: a thumbnail, a display rendition or the file
PEAK_TO_MEAN = 3.0  # busiest hour against the daily mean
PUBLIC_SHARE = 0.6  # uploads that are public (gallery writes)
PAGE_VIEWS_PER_READ = 0.05  # share page loads per image fetch (the rest are embeds, gallery tiles, hotlinks)
GALLERY_PAGES_PER_READ = 0.02  # gallery API pages per image fetch (each page queries every shard)
CDN_HIT_IMAGES = 0.95  # /i/*: immutable, a year's TTL
CDN_HIT_PAGES = 0.80  # share pages of public images, s-maxage 1 h
# Served copy + each thumbnail in its own format and each companion format (catalog.THUMBNAIL_COMPANIONS: AVIF,
# WebP) = 1 + 3 x 3 = 10 (an image with alpha: its thumbnail is the WebP, so 7).
RENDITION_PUTS_PER_UPLOAD = 1 + catalog.thumbnail_files()
PROCESSOR_SECONDS_PER_IMAGE = 0.3  # read + decode + renditions + writes, 12 MP photo, Lambda 1 GB
API_SECONDS_PER_REQUEST = 0.025
API_MEMORY_GB = 1.0


@dataclass(frozen=True)
class Mix:
    """Share of image fetches per rendition, and their mean size in KB."""

    thumbs: float = 0.70
    display: float = 0.25
    files: float = 0.05
    thumb_kb: float = 20  # 300 px JPEG
    display_kb: float = 60  # 600 px JPEG
    file_kb: float = 1500  # a phone photo, location data removed

    @property
    def mean_kb(self) -> float:
        return self.thumbs * self.thumb_kb + self.display * self.display_kb + self.files * self.file_kb


JPEG_MIX = Mix()
WEBP_MIX = replace(JPEG_MIX, thumb_kb=12, display_kb=35)  # WebP ~40 % smaller at the same look

# --- prices: list prices as of 2026-11, from DESIGN.md's brief (tiers below its "falling to" are assumptions) -----

API_GW_TIERS = [(333e6, 3.50), (667e6, 2.80), (19e9, 2.38), (float("inf"), 1.51)]  # $ per million, monthly volume
LAMBDA_PER_MILLION = 0.20
LAMBDA_GB_SECOND = 0.0000166667
CLOUDFRONT_PER_10K_HTTPS = 0.01
CLOUDFRONT_EGRESS_TIERS = [  # (TB in the tier, $ per GB)
    (10, 0.085),
    (40, 0.080),
    (100, 0.060),
    (350, 0.040),
    (524, 0.030),
    (4000, 0.025),
    (float("inf"), 0.020),
]
S3_GET_PER_MILLION = 0.40
S3_PUT_PER_MILLION = 5.00
S3_EGRESS_TIERS = [(10, 0.09), (40, 0.085), (100, 0.07), (float("inf"), 0.05)]


def tiered(amount: float, tiers: list[tuple[float, float]], unit: float) -> float:
    """Cost of ``amount`` through tiers of (size, price per ``unit``)."""
    cost, left = 0.0, amount
    for size, price in tiers:
        used = min(left, size)
        cost += used / unit * price
        left -= used
        if left <= 0:
            break
    return cost


def egress(tb: float, tiers: list[tuple[float, float]]) -> float:
    return tiered(tb * 1000, [(size * 1000, price) for size, price in tiers], 1)


# --- local checks ---------------------------------------------------------------------------------------------


def shard_spread(ids: list[str], shards: int) -> float:
    counts = Counter(
        gallery_shard_for(Image(id=i, status=READY, filename="", content_type="", size=0, created_at=""), shards)
        for i in ids
    )
    return max(counts.values()) / (len(ids) / shards)


def ring_balance(ids: list[str], nodes: int) -> float:
    ring = HashRing([f"redis://10.0.0.{n}:6379/0" for n in range(1, nodes + 1)], vnodes=150)
    counts = Counter(ring.get(KEY_PREFIX + i) for i in ids)
    return max(counts.values()) / (len(ids) / nodes)


# The CDN's edge resolver (Lambda@Edge origin-request on /i/* misses, infra/edge.py) and what dedup saves.
# Prices: Lambda@Edge $0.60 per million requests and $0.00005001 per GB-second (billed per ms); DynamoDB on-demand
# $0.125 per million read request units; S3 Standard $0.023 per GB-month; list prices as of 2026-11 (us-east-1),
# not re-checked from this offline machine.
EDGE_PER_MILLION = 0.60
EDGE_GB_SECOND = 0.00005001
EDGE_MEMORY_GB = 128 / 1024
EDGE_SECONDS_PER_MISS = 0.08  # assumed: a keys-only Query + a consistent GetItem, edge cache -> table region
DYNAMODB_PER_MILLION_RRU = 0.125
RRU_PER_MISS = 0.5 + 1.0  # eventually consistent Query on a keys-only index + strongly consistent GetItem (<= 4 KB)
S3_GB_MONTH = 0.023
STORED_GB_PER_UPLOAD = 2e-3  # served copy + renditions: ~20 TB a day, ~600 TB a month at 10 M uploads a day
HIT_RATIOS = (0.90, 0.95, 0.99)
DUPLICATE_SHARES = (0.05, 0.10, 0.20)


def edge_resolver_costs() -> None:
    month_reads = READS_PER_DAY * MONTH_DAYS
    print(
        f"\n# edge resolver on /i/* misses, {READS_PER_DAY / 1e9:.0f} B reads a day ({EDGE_SECONDS_PER_MISS} s a miss)"
    )
    for hit in HIT_RATIOS:
        misses = month_reads * (1 - hit)
        edge = misses / 1e6 * EDGE_PER_MILLION + misses * EDGE_SECONDS_PER_MISS * EDGE_MEMORY_GB * EDGE_GB_SECOND
        dynamo = misses * RRU_PER_MISS / 1e6 * DYNAMODB_PER_MILLION_RRU
        peak = READS_PER_DAY / DAY * PEAK_TO_MEAN * (1 - hit)
        print(
            f"  hit {hit:.0%}: {misses / 1e9:.2f} B misses/month, peak {peak:,.0f}/s"
            f"  Lambda@Edge ${edge:,.0f}  DynamoDB ${dynamo:,.0f}  total ${edge + dynamo:,.0f}/month"
        )
    uploads_month = UPLOADS_PER_DAY * MONTH_DAYS
    print("# what dedup saves (duplicates store and PUT their renditions once)")
    for share in DUPLICATE_SHARES:
        tb_month = uploads_month * share * STORED_GB_PER_UPLOAD / 1e3
        puts = uploads_month * share * RENDITION_PUTS_PER_UPLOAD / 1e6 * S3_PUT_PER_MILLION
        storage = tb_month * 1e3 * S3_GB_MONTH
        print(
            f"  {share:.0%} duplicates: {tb_month:,.1f} TB less a month -> storage ${storage:,.0f}/month"
            f" after one month, ${12 * storage:,.0f}/month after a year; PUTs ${puts:,.0f}/month"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ids", type=int, default=1_000_000)
    parser.add_argument("--nodes", default="3,6")
    parser.add_argument("--edge-only", action="store_true", help="only the edge resolver's cost and dedup's savings")
    args = parser.parse_args(argv)
    if args.edge_only:
        edge_resolver_costs()
        return 0
    ids = [str(uuid.uuid4()) for _ in range(args.ids)]

    print(f"# local checks over {args.ids:,} random image ids")
    for shards in (4, 8, 16):
        print(f"gallery shards={shards:<2}  max/mean items per shard = {shard_spread(ids, shards):.4f}")
    for nodes in (int(n) for n in args.nodes.split(",")):
        print(f"cache ring nodes={nodes:<2} max/mean keys per node  = {ring_balance(ids, nodes):.4f}")

    mean_rps = READS_PER_DAY / DAY
    peak_rps = mean_rps * PEAK_TO_MEAN
    uploads_peak = UPLOADS_PER_DAY / DAY * PEAK_TO_MEAN
    print("\n# load")
    print(f"image reads: mean {mean_rps:,.0f}/s, peak {peak_rps:,.0f}/s; uploads: peak {uploads_peak:,.0f}/s")
    shard_writes = uploads_peak * PUBLIC_SHARE / 4
    gallery_qps = peak_rps * GALLERY_PAGES_PER_READ
    print(f"gallery index: {shard_writes:,.0f} writes/s per shard (4 shards; partition limit 1,000 WCU/s)")
    rcu_per_query = 25 * 1.0 / 4 * 0.5  # 25 items of ~1 KB per shard, eventually consistent
    print(
        f"gallery pages at peak {gallery_qps:,.0f}/s -> {gallery_qps * rcu_per_query:,.0f} RCU/s per shard "
        "(partition limit 3,000 RCU/s) when uncached"
    )
    puts = uploads_peak * RENDITION_PUTS_PER_UPLOAD
    print(f"S3 PUTs at peak: {puts:,.0f}/s (3,500/s per partitioned prefix)")
    print(f"processor concurrency at peak: {uploads_peak * PROCESSOR_SECONDS_PER_IMAGE:,.0f}")
    print(f"before: API Lambda concurrency at peak: {peak_rps * API_SECONDS_PER_REQUEST:,.0f} (account default 1,000)")
    misses = peak_rps * (1 - CDN_HIT_IMAGES)
    print(f"after: S3 GETs from CDN misses at peak: {misses:,.0f}/s (5,500/s per partitioned prefix)")

    month_reads = READS_PER_DAY * MONTH_DAYS
    page_views = month_reads * PAGE_VIEWS_PER_READ
    gallery_pages = month_reads * GALLERY_PAGES_PER_READ

    def cost_before() -> dict[str, float]:
        tb = month_reads * JPEG_MIX.mean_kb * 1e3 / 1e12
        api_requests = month_reads + page_views + gallery_pages  # every view: API + presign + 302
        return {
            "API Gateway": tiered(api_requests, API_GW_TIERS, 1e6),
            "Lambda": api_requests / 1e6 * LAMBDA_PER_MILLION
            + api_requests * API_SECONDS_PER_REQUEST * API_MEMORY_GB * LAMBDA_GB_SECOND,
            "S3 GET": month_reads / 1e6 * S3_GET_PER_MILLION,
            "S3 egress": egress(tb, S3_EGRESS_TIERS),
        }

    def cost_after(mix: Mix) -> dict[str, float]:
        tb = month_reads * mix.mean_kb * 1e3 / 1e12
        # Share pages that miss the CDN, each human page view's metadata call, every gallery page.
        api_requests = page_views * (1 - CDN_HIT_PAGES) + page_views + gallery_pages
        edge_requests = month_reads + page_views + gallery_pages
        return {
            "CloudFront requests": edge_requests / 1e4 * CLOUDFRONT_PER_10K_HTTPS,
            "CloudFront egress": egress(tb, CLOUDFRONT_EGRESS_TIERS),
            "S3 GET (misses)": month_reads * (1 - CDN_HIT_IMAGES) / 1e6 * S3_GET_PER_MILLION,
            "API Gateway": tiered(api_requests, API_GW_TIERS, 1e6),
            "Lambda": api_requests / 1e6 * LAMBDA_PER_MILLION
            + api_requests * API_SECONDS_PER_REQUEST * API_MEMORY_GB * LAMBDA_GB_SECOND,
        }

    for title, costs, mix in (
        ("before (API + presigned S3)", cost_before(), JPEG_MIX),
        ("after (CDN, JPEG thumbnails)", cost_after(JPEG_MIX), JPEG_MIX),
        ("after (CDN, WebP thumbnails)", cost_after(WEBP_MIX), WEBP_MIX),
    ):
        tb = month_reads * mix.mean_kb * 1e3 / 1e12
        print(f"\n# monthly read-path cost, {title}: {tb:,.0f} TB out, mean {mix.mean_kb:.0f} KB per fetch")
        for item, dollars in costs.items():
            print(f"  {item:<22} ${dollars:>12,.0f}")
        print(f"  {'total':<22} ${sum(costs.values()):>12,.0f}")
    before, after = sum(cost_before().values()), sum(cost_after(WEBP_MIX).values())
    print(f"\nafter/before (WebP) = {after / before:.2f}")
    uploads_month = UPLOADS_PER_DAY * MONTH_DAYS
    print(f"upload path S3 PUTs: ${uploads_month * RENDITION_PUTS_PER_UPLOAD / 1e6 * S3_PUT_PER_MILLION:,.0f}/month")
    edge_resolver_costs()
    return 0


if __name__ == "__main__":
    sys.exit(main())
