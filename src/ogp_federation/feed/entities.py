"""The record collections of a feed and how each record is identified."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .enums import Entity
from .model import (
    ActionPlan,
    Assessment,
    Commitment,
    Indicator,
    Input,
    Methodology,
    Milestone,
    Observation,
    Organization,
    ParticipationEvent,
    PlanFeed,
)

__all__ = ["COLLECTIONS", "Collection", "Record", "iter_records", "keys_by_collection"]

Record = (
    Organization
    | ActionPlan
    | Commitment
    | Milestone
    | Assessment
    | ParticipationEvent
    | Input
    | Indicator
    | Observation
    | Methodology
)


@dataclass(frozen=True, slots=True)
class Collection:
    """One record collection: its entity name, record type and identifying field."""

    entity: Entity
    record_type: type[Record]
    key: str = "id"

    def records(self, feed: PlanFeed) -> Sequence[Record]:
        """The collection's records in ``feed``."""
        records: Sequence[Record] = getattr(feed, self.entity.value)
        return records

    def key_of(self, record: Record) -> str:
        """The identifier of ``record`` within its collection."""
        key: str = getattr(record, self.key)
        return key


COLLECTIONS: tuple[Collection, ...] = (
    Collection(Entity.ORGANIZATIONS, Organization),
    Collection(Entity.ACTION_PLANS, ActionPlan),
    Collection(Entity.COMMITMENTS, Commitment),
    Collection(Entity.MILESTONES, Milestone),
    Collection(Entity.ASSESSMENTS, Assessment),
    Collection(Entity.PARTICIPATION_EVENTS, ParticipationEvent),
    Collection(Entity.INPUTS, Input),
    Collection(Entity.INDICATORS, Indicator, key="code"),
    Collection(Entity.OBSERVATIONS, Observation),
    Collection(Entity.METHODOLOGIES, Methodology),
)


def iter_records(feed: PlanFeed) -> Iterator[tuple[Collection, int, Record]]:
    """Every record of ``feed`` with its collection and position."""
    for collection in COLLECTIONS:
        for index, record in enumerate(collection.records(feed)):
            yield collection, index, record


def keys_by_collection(feed: PlanFeed) -> dict[str, set[str]]:
    """The record keys of every collection of ``feed``, by entity name."""
    return {c.entity.value: {c.key_of(record) for record in c.records(feed)} for c in COLLECTIONS}
