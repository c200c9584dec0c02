"""``validate()``: run every layer over a document and report every finding at once."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from ogp_federation.feed.model import PlanFeed
from ogp_federation.feed.reference import CommuneReference

from .continuity import Predecessor, check_continuity
from .references import check_references
from .report import Finding, Report
from .rules import RULES, RULESET_VERSION
from .semantics import CHECKS, Context
from .structure import parse

__all__ = ["DEFAULT_MAX_BYTES", "validate", "validate_feed"]

DEFAULT_MAX_BYTES = 64 * 1024 * 1024


def validate(
    document: bytes,
    previous: bytes | PlanFeed | Predecessor | None = None,
    *,
    reference: CommuneReference | None = None,
    now: datetime | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Report:
    """Validate ``document`` (the exact feed bytes); with ``previous``, also check continuity.

    Layers run in order: well-formedness, schema, enumerations, semantics, references, continuity.
    A structural problem in one record does not hide the findings of the others: records that fail
    the schema are set aside and the later layers run over the rest.
    """
    return validate_feed(document, previous, reference=reference, now=now, max_bytes=max_bytes)[0]


def validate_feed(
    document: bytes,
    previous: bytes | PlanFeed | Predecessor | None = None,
    *,
    reference: CommuneReference | None = None,
    now: datetime | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> tuple[Report, PlanFeed | None]:
    """Like :func:`validate`, also returning the decoded feed (whole when the report is valid)."""
    parsed = parse(document, max_bytes=max_bytes)
    findings = parsed.findings
    feed = parsed.feed
    if feed is not None:
        ctx = Context(
            feed=feed,
            reference=reference or CommuneReference.packaged(),
            now=now or datetime.now(UTC),
            dropped_keys=parsed.dropped_keys,
        )
        for check in CHECKS:
            findings.extend(check(ctx))
        findings.extend(check_references(ctx))
        if previous is not None:
            findings.extend(_continuity(feed, previous, parsed.dropped_keys))
    report = Report(
        ruleset_version=RULESET_VERSION,
        spec_version=feed.spec_version if feed is not None else None,
        findings=findings,
        sequence=feed.sequence if feed is not None else None,
        cut=feed.publisher.cut if feed is not None else None,
    )
    return report, feed


def _continuity(
    feed: PlanFeed, previous: bytes | PlanFeed | Predecessor, set_aside: dict[str, set[str]]
) -> list[Finding]:
    if isinstance(previous, bytes):
        try:
            previous = msgspec.json.decode(previous, type=PlanFeed)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            return [RULES["continuity.previous_unreadable"].at("$", detail=str(exc))]
    return list(check_continuity(feed, previous, set_aside))
