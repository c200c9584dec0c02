"""Continuity layer: a new version follows on from the last accepted one."""

from __future__ import annotations

from collections.abc import Iterator

from ogp_federation.feed.entities import COLLECTIONS
from ogp_federation.feed.model import PlanFeed

from .report import Finding
from .rules import RULES

__all__ = ["check_continuity"]


def check_continuity(
    current: PlanFeed, previous: PlanFeed, set_aside: dict[str, set[str]] | None = None
) -> Iterator[Finding]:
    """continuity.*: same publisher, increasing sequence, and no record vanishes without a tombstone.

    ``set_aside`` holds the keys of records the schema layer dropped: they did not vanish.
    """
    set_aside = set_aside or {}
    if current.publisher.cut != previous.publisher.cut:
        yield RULES["continuity.publisher_changed"].at(
            "$.publisher.cut", previous=previous.publisher.cut, current=current.publisher.cut
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
        for record in collection.records(previous):
            key = collection.key_of(record)
            if key not in now and (entity, key) not in buried:
                yield RULES["continuity.record_vanished"].at(f"$.{entity}", entity=entity, id=key)
