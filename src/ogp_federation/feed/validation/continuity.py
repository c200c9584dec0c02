"""Continuity layer: a new version follows on from the last accepted one."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from ogp_federation.feed.entities import COLLECTIONS
from ogp_federation.feed.model import PlanFeed

from .report import Finding
from .rules import RULES

__all__ = ["Predecessor", "check_continuity"]


@dataclass(frozen=True)
class Predecessor:
    """What continuity needs of the version before: its publisher, sequence, time, and record keys.

    A consumer that keeps the accepted records (the aggregator) builds it from what it stored instead
    of decoding the previous document again.
    """

    cut: str
    sequence: int
    generated_at: datetime
    keys: Mapping[str, Collection[str]]  # collection name → keys of its records

    @classmethod
    def of(cls, feed: PlanFeed) -> Predecessor:
        """The predecessor data of a decoded feed."""
        keys = {c.entity.value: [c.key_of(r) for r in c.records(feed)] for c in COLLECTIONS}
        return cls(feed.publisher.cut, feed.sequence, feed.generated_at, keys)


def check_continuity(
    current: PlanFeed, previous: PlanFeed | Predecessor, set_aside: dict[str, set[str]] | None = None
) -> Iterator[Finding]:
    """continuity.*: same publisher, increasing sequence, and no record vanishes without a tombstone.

    ``set_aside`` holds the keys of records the schema layer dropped: they did not vanish.
    """
    set_aside = set_aside or {}
    if isinstance(previous, PlanFeed):
        previous = Predecessor.of(previous)
    if current.publisher.cut != previous.cut:
        yield RULES["continuity.publisher_changed"].at(
            "$.publisher.cut", previous=previous.cut, current=current.publisher.cut
        )
        return
    if current.sequence <= previous.sequence:
        yield RULES["continuity.sequence_not_increasing"].at(
            "$.sequence", sequence=current.sequence, previous=previous.sequence
        )
    if current.generated_at < previous.generated_at:
        yield RULES["continuity.generated_at_backwards"].at(
            "$.generated_at", value=current.generated_at.isoformat(), previous=previous.generated_at.isoformat()
        )
    buried = {(tombstone.entity.value, tombstone.id) for tombstone in current.tombstones}
    for collection in COLLECTIONS:
        entity = collection.entity.value
        now = {collection.key_of(record) for record in collection.records(current)} | set_aside.get(entity, set())
        for key in previous.keys.get(entity, ()):
            if key not in now and (entity, key) not in buried:
                yield RULES["continuity.record_vanished"].at(f"$.{entity}", entity=entity, id=key)
