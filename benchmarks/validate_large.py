"""Validate a ~10 MB synthetic feed and print the time (goal: under one second on the 2-core machine).

Also prints, for the same document: decode alone, a full validation against a previous version
(continuity), the slow path taken by a document with one structural error, and signing/verifying.

Run: ``python benchmarks/validate_large.py [--bytes 10000000] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import msgspec

from ogp_federation.feed import PlanFeed, decode, encode, signing, validate
from ogp_federation.feed.synth import commitments_for_bytes, generate_feed


def timed(label: str, repeat: int, action: Callable[[], object]) -> None:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    print(f"{label:<52} best {min(times):6.3f} s   median {statistics.median(times):6.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bytes", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    count = commitments_for_bytes(args.bytes)
    previous = encode(generate_feed("13122", commitments=count, sequence=1))
    document = encode(generate_feed("13122", commitments=count, sequence=2))
    feed = decode(document)
    records = sum(
        len(getattr(feed, name)) for name in PlanFeed.__struct_fields__ if isinstance(getattr(feed, name), list)
    )
    print(f"document: {len(document):,} bytes, {count:,} commitments, {records:,} records")

    report = validate(document)
    assert report.valid, report.findings[:3]
    broken = msgspec.json.decode(document)
    broken["milestones"][0]["status"] = "hecho"
    broken_bytes = msgspec.json.encode(broken)
    assert validate(broken_bytes).rules() == {"enum.value"}

    timed("decode only (msgspec, typed)", args.repeat, lambda: decode(document))
    timed("validate (all layers)", args.repeat, lambda: validate(document))
    timed("validate with previous (+ continuity)", args.repeat, lambda: validate(document, previous))
    timed("validate, one bad record (slow structural path)", args.repeat, lambda: validate(broken_bytes))
    key = signing.generate_key()
    keys = {key.thumbprint(): key}
    signature = signing.sign(document, key)
    timed("sign (detached Ed25519 JWS)", args.repeat, lambda: signing.sign(document, key))
    timed("verify", args.repeat, lambda: signing.verify(document, signature, keys))


if __name__ == "__main__":
    main()
