"""Applying a node's change page to the feed it follows on from (how harvesters use the change feed)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from .entities import COLLECTIONS, Record
from .model import PlanFeed, Tombstone
from .protocol import ChangePage

__all__ = ["ChangeError", "apply_changes"]

_BY_ENTITY = {collection.entity: collection for collection in COLLECTIONS}


class ChangeError(ValueError):
    """A change page that cannot be applied; ``path`` says where (e.g. ``$.changes[3].record``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


def apply_changes(base: PlanFeed, page: ChangePage) -> PlanFeed:
    """The feed at ``page.until``: ``base`` (at ``page.since``) with the page's records put and deleted.

    Deleted records get a tombstone, as the node's own feed gives them. ``generated_at`` is the page's
    (the feed itself is not re-read), never earlier than the base's.
    """
    if page.since != base.sequence:
        raise ChangeError("$.since", f"the page follows sequence {page.since}, not {base.sequence}")
    if page.until <= page.since:
        raise ChangeError("$.until", f"{page.until} does not follow {page.since}")
    collections: dict[str, dict[str, Record]] = {
        c.entity.value: {c.key_of(r): r for r in c.records(base)} for c in COLLECTIONS
    }
    tombstones = {(t.entity.value, t.id): t for t in base.tombstones}
    for index, change in enumerate(page.changes):
        collection = _BY_ENTITY[change.entity]
        records = collections[change.entity.value]
        if change.record is None:
            records.pop(change.id, None)
            deleted_at = change.deleted_at or page.generated_at
            tombstones[(change.entity.value, change.id)] = Tombstone(
                entity=change.entity, id=change.id, deleted_at=deleted_at
            )
            continue
        try:
            record = msgspec.convert(change.record, collection.record_type)
        except msgspec.ValidationError as exc:
            raise ChangeError(f"$.changes[{index}].record", str(exc)) from exc
        if collection.key_of(record) != change.id:
            raise ChangeError(f"$.changes[{index}].id", f"{change.id} is not the record's identifier")
        records[change.id] = record
        tombstones.pop((change.entity.value, change.id), None)
    fields: dict[str, object] = {c.entity.value: list(collections[c.entity.value].values()) for c in COLLECTIONS}
    generated_at: datetime = max(base.generated_at, page.generated_at)
    return msgspec.structs.replace(
        base, sequence=page.until, generated_at=generated_at, tombstones=list(tombstones.values()), **fields
    )
