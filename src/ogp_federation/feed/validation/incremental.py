"""Validating a change page's result by what the page touched, not by the whole feed again.

A change page puts and deletes a few records of a version that was validated when it was accepted.
The findings of the new version can differ from the old one's only on the records the page put or
deleted and on the records whose rules read those (a milestone's commitment, a commitment's plan,
parent, children and milestones, an indicator's observations, every record referring to a deleted
one, a commitment's ancestors for cycles…). Those records — the *scope* — are validated by the very
same semantic and reference rules as a whole feed, on a small feed holding them and the records their
rules read (their *context*); findings are then placed at the records' positions in the whole feed.
Everything else keeps its findings, so the new version's counts are the base's, less what the scope
had in the base, plus what it has now.

Continuity holds by construction (``apply_changes`` keeps the publisher, moves the sequence on, never
moves the time back and buries every deleted record). The page's own bytes go through the byte-level
checks of the structural layer (repeated members, control characters, loosely written moments).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec

from ogp_federation.feed.changes import apply_changes
from ogp_federation.feed.entities import COLLECTIONS, Record
from ogp_federation.feed.enums import Entity
from ogp_federation.feed.model import Assessment, Commitment, Observation, PlanFeed, Tombstone
from ogp_federation.feed.protocol import ChangePage
from ogp_federation.feed.reference import CommuneReference

from .references import REFERENCES, check_references
from .report import Finding, Report, Severity
from .rules import RULESET_VERSION
from .semantics import CHECKS, Context
from .structure import page_findings

__all__ = ["ChangedVersion", "validate_change"]

RecordKey = tuple[str, str]  # (collection, key)
_POSITION = re.compile(r"^\$\.([a-z_]+)\[(\d+)\]")
_ANY_POSITION = re.compile(r"\$\.([a-z_]+)\[(\d+)\]")
# What each collection's records point at: (attribute, collection pointed at), from the reference rules.
_EDGES: dict[str, list[tuple[str, str]]] = {}
_INCOMING: dict[str, list[tuple[str, str]]] = {}  # collection pointed at → (collection, attribute) pointing
for _source, _attribute, _rule, _target in REFERENCES:
    _EDGES.setdefault(_source.value, []).append((_attribute, _target.value))
    _INCOMING.setdefault(_target.value, []).append((_source.value, _attribute))
_COLLECTION = {collection.entity.value: collection for collection in COLLECTIONS}


@dataclass(frozen=True)
class ChangedVersion:
    """The version a change page makes, and its findings where the page touched it."""

    feed: PlanFeed
    report: Report  # findings of the scope (at their positions in ``feed``) and of the feed itself
    scope: frozenset[RecordKey]
    before: Mapping[str, int]  # per severity: what the scope's records had in the base

    def counts(self, base_counts: Mapping[str, int]) -> dict[str, int]:
        """The new version's findings per severity, from the base version's."""
        return {
            # (never below what the scope has now: counts stored by an older ruleset may not hold what it had)
            severity.value: max(
                self.report.count(severity),
                base_counts.get(severity.value, 0) - self.before.get(severity.value, 0) + self.report.count(severity),
            )
            for severity in Severity
        }


def validate_change(
    base: PlanFeed,
    page: ChangePage,
    page_body: bytes | None = None,
    *,
    reference: CommuneReference | None = None,
    now: datetime | None = None,
) -> ChangedVersion:
    """Apply ``page`` to ``base`` (an accepted version) and validate what it changed.

    Raises :class:`~ogp_federation.feed.changes.ChangeError` when the page cannot be applied. The
    result's report is valid exactly when validating the whole new feed (with ``base`` as its
    predecessor) would be, and its findings are the whole validation's on the scope's records.
    """
    feed = apply_changes(base, page)
    seeds = {(change.entity.value, change.id) for change in page.changes}
    old, new = _Index(base), _Index(feed)
    scope = old.around(seeds) | new.around(seeds)
    reference = reference or CommuneReference.packaged()
    now = now or datetime.now(UTC)
    found = _findings(feed, new, scope, reference, now)
    if page_body is not None:
        found = page_findings(page_body) + found
    before = Counter(finding.severity.value for finding in _findings(base, old, scope, reference, now))
    report = Report(
        ruleset_version=RULESET_VERSION,
        spec_version=feed.spec_version,
        findings=found,
        sequence=feed.sequence,
        cut=feed.publisher.cut,
    )
    return ChangedVersion(feed, report, frozenset(scope), dict(before))


class _Index:
    """Look-ups into one feed: records by key and who points at them, each collection's built when first
    needed (a changed milestone never makes the observations be indexed)."""

    def __init__(self, feed: PlanFeed) -> None:
        self.feed = feed
        self._records: dict[str, dict[str, Record]] = {}
        self._pointing: dict[str, dict[str, list[RecordKey]]] = {}  # by the collection pointed at
        self._observations: dict[str, list[RecordKey]] | None = None  # by indicator code

    def record(self, key: RecordKey) -> Record | None:
        """The record ``key``, if the feed has it."""
        by_key = self._records.get(key[0])
        if by_key is None:
            collection = _COLLECTION[key[0]]
            by_key = self._records[key[0]] = {collection.key_of(r): r for r in collection.records(self.feed)}
        return by_key.get(key[1])

    def pointing(self, key: RecordKey) -> list[RecordKey]:
        """The records that refer to ``key``."""
        index = self._pointing.get(key[0])
        if index is None:
            index = self._pointing[key[0]] = self._pointers_to(key[0])
        return index.get(key[1], [])

    def _pointers_to(self, target: str) -> dict[str, list[RecordKey]]:
        out: dict[str, list[RecordKey]] = {}
        for source, attribute in _INCOMING.get(target, ()):
            collection = _COLLECTION[source]
            for record in collection.records(self.feed):
                value = getattr(record, attribute)
                if value is None:
                    continue
                pointer = (source, collection.key_of(record))
                for item in value if isinstance(value, list) else (value,):
                    out.setdefault(item, []).append(pointer)
        for assessment in self.feed.assessments:
            if assessment.target_entity.value == target:
                out.setdefault(assessment.target_id, []).append((Entity.ASSESSMENTS.value, assessment.id))
        return out

    def observations(self, code: str) -> list[RecordKey]:
        """The observations of indicator ``code``."""
        if self._observations is None:
            self._observations = {}
            for observation in self.feed.observations:
                key = (Entity.OBSERVATIONS.value, observation.id)
                self._observations.setdefault(observation.indicator_code, []).append(key)
        return self._observations.get(code, [])

    def around(self, keys: Iterable[RecordKey]) -> set[RecordKey]:
        """``keys`` and every record whose rules read one of them, or that their rules read.

        Rules read along references (both ways: a commitment's plan, a plan's commitments), up a
        commitment's ancestors (cycles) and across an indicator's observations (one per period).
        """
        out = set(keys)
        for key in list(out):
            record = self.record(key)
            if record is not None:
                out.update(target for target in _targets(key[0], record) if self.record(target) is not None)
            out.update(self.pointing(key))
            if isinstance(record, Observation):
                out.update(self.observations(record.indicator_code))
            seen = {key}
            while isinstance(record, Commitment) and record.parent_id is not None:
                parent = (Entity.COMMITMENTS.value, record.parent_id)
                if parent in seen:
                    break
                seen.add(parent)
                out.add(parent)
                record = self.record(parent)
        return out


def _targets(entity: str, record: Record) -> Iterator[RecordKey]:
    """The records ``record`` refers to, by the reference rules (and an assessment's target)."""
    for attribute, target in _EDGES.get(entity, ()):
        value = getattr(record, attribute)
        if isinstance(value, list):
            yield from ((target, item) for item in value)
        elif value is not None:
            yield (target, value)
    if isinstance(record, Assessment):
        yield (record.target_entity.value, record.target_id)


def _findings(
    feed: PlanFeed, index: _Index, scope: set[RecordKey], reference: CommuneReference, now: datetime
) -> list[Finding]:
    """The findings of ``feed``'s scope records (and of the feed itself), at their positions in ``feed``."""
    context = index.around(key for key in scope if index.record(key) is not None)
    part, positions, checked = _part(feed, context, scope)
    ctx = Context(feed=part, reference=reference, now=now)
    found: list[Finding] = []
    for check in CHECKS:
        found.extend(check(ctx))
    found.extend(check_references(ctx))
    checked.add(None)  # the feed's own findings ($.publisher, $.generated_at)
    return [_placed(finding, positions) for finding in found if _place(finding.path) in checked]


_Place = tuple[str, int]


def _place(path: str) -> _Place | None:
    """The (collection, position) a path starts with; ``None`` for the feed itself."""
    match = _POSITION.match(path)
    return None if match is None else (match.group(1), int(match.group(2)))


def _part(
    feed: PlanFeed, context: set[RecordKey], scope: set[RecordKey]
) -> tuple[PlanFeed, dict[_Place, int], set[_Place | None]]:
    """A feed of the ``context`` records in their order, each one's position in ``feed``, and the scope's places.

    Findings of a record outside the scope are left out: its own context is not all there.
    """
    positions: dict[_Place, int] = {}
    checked: set[_Place | None] = set()
    fields: dict[str, object] = {}
    wanted: dict[str, set[str]] = {}
    for entity, name in context:
        wanted.setdefault(entity, set()).add(name)
    for collection in COLLECTIONS:
        entity = collection.entity.value
        kept: list[Record] = []
        names = wanted.get(entity, set())
        for position, record in enumerate(collection.records(feed) if names else ()):
            name = collection.key_of(record)
            if name in names:
                place = (entity, len(kept))
                positions[place] = position
                if (entity, name) in scope:
                    checked.add(place)
                kept.append(record)
        fields[entity] = kept
    tombstones: list[Tombstone] = []
    for position, tombstone in enumerate(feed.tombstones):
        if (tombstone.entity.value, tombstone.id) in scope:
            place = ("tombstones", len(tombstones))
            positions[place] = position
            checked.add(place)
            tombstones.append(tombstone)
    return msgspec.structs.replace(feed, tombstones=tombstones, **fields), positions, checked


def _placed(finding: Finding, positions: Mapping[_Place, int]) -> Finding:
    """``finding`` with every position it names (its path's, a message's "first at") moved to the whole feed's."""

    def moved(match: re.Match[str]) -> str:
        position = positions.get((match.group(1), int(match.group(2))))
        return match.group() if position is None else f"$.{match.group(1)}[{position}]"

    return msgspec.structs.replace(
        finding,
        path=_ANY_POSITION.sub(moved, finding.path),
        message=_ANY_POSITION.sub(moved, finding.message),
        message_en=_ANY_POSITION.sub(moved, finding.message_en),
    )
