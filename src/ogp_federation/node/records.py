"""The plan service: read and change records, and publish every change as a new signed sequence.

A change is applied inside one transaction that also builds the new feed, validates it against the
previous publication (the standard's own validator, continuity included), signs it and stores it. If
the new feed would be invalid, the transaction is rolled back: the published feed stays as it was and
the caller gets every blocking finding. Used alike by the admin API, the spreadsheet import and the CLI.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.core.db import Database
from ogp_federation.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
)
from ogp_federation.feed import COLLECTIONS, Collection, Entity, PlanFeed, encode, signing, validate
from ogp_federation.feed.reference import CommuneReference
from ogp_federation.feed.validation import RULES, Finding, check_record

from .keyring import KeyRing
from .models import MilestoneStatusChange, NodeState, Publication, RecordRow
from .settings import NodeSettings
from .snapshot import Snapshot, envelope

__all__ = ["Also", "Delete", "PlanService", "Put", "ReplaceAll", "StoredRecord", "collection_of"]

KEEP_PUBLICATIONS = 20
_BY_ENTITY = {collection.entity: collection for collection in COLLECTIONS}


def collection_of(entity: Entity | str) -> Collection:
    """The collection called ``entity``."""
    return _BY_ENTITY[Entity(entity)]


@dataclass(frozen=True)
class Put:
    """Create (``expected_version`` None) or replace a record."""

    entity: Entity
    data: Any
    expected_version: int | None = None
    path: str = "$"


@dataclass(frozen=True)
class Delete:
    """Delete a record at ``expected_version``."""

    entity: Entity
    key: str
    expected_version: int


@dataclass(frozen=True)
class ReplaceAll:
    """Make the plan exactly these records (a spreadsheet import): upsert them, delete the rest."""

    records: dict[Entity, list[Any]]


Change = Put | Delete | ReplaceAll
Also = Callable[[AsyncSession], Awaitable[None]]


@dataclass(frozen=True)
class StoredRecord:
    """A record as stored, with its version (the ETag of the admin API)."""

    entity: Entity
    key: str
    data: dict[str, Any]
    version: int


def _findings_as_errors(findings: Sequence[Finding]) -> list[dict[str, object]]:
    return [finding.as_error() for finding in findings]


@dataclass(frozen=True)
class Published:
    """What a change published: the publication served now, and the new feed's non-blocking findings."""

    snapshot: Snapshot
    warnings: list[Finding] = field(default_factory=list)


class PlanService:
    """Records and publications of one node."""

    def __init__(self, db: Database, settings: NodeSettings, keyring: KeyRing, reference: CommuneReference) -> None:
        self.db = db
        self.settings = settings
        self.keyring = keyring
        self.reference = reference

    # Reading ------------------------------------------------------------------------------------

    async def latest(self) -> Snapshot | None:
        """The latest publication, if any."""
        async with self.db.sessions() as session:
            row = await session.scalar(select(Publication).order_by(Publication.sequence.desc()).limit(1))
        if row is None:
            return None
        return Snapshot.of(row.sequence, row.generated_at, row.body, row.signature, row.kid)

    async def current_sequence(self) -> int:
        """The sequence of the latest publication (0 before the first)."""
        async with self.db.sessions() as session:
            value = await session.scalar(select(NodeState.sequence).where(NodeState.id == 1))
        return value or 0

    async def list_records(self, entity: Entity) -> list[StoredRecord]:
        """The live records of a collection, in feed order."""
        async with self.db.sessions() as session:
            rows = await session.scalars(
                select(RecordRow)
                .where(RecordRow.entity == entity.value, RecordRow.deleted_at.is_(None))
                .order_by(RecordRow.position, RecordRow.id)
            )
            return [StoredRecord(entity, row.key, row.data, row.version) for row in rows]

    async def get_record(self, entity: Entity, key: str) -> StoredRecord:
        """One live record, or :class:`NotFoundError`."""
        async with self.db.sessions() as session:
            row = await session.scalar(
                select(RecordRow).where(
                    RecordRow.entity == entity.value, RecordRow.key == key, RecordRow.deleted_at.is_(None)
                )
            )
        if row is None:
            raise NotFoundError(f"{entity.value} «{key}» no existe", f"{entity.value} '{key}' does not exist")
        return StoredRecord(entity, row.key, row.data, row.version)

    async def changed_since(self, since: int, until: int, after: tuple[int, int], limit: int) -> list[RecordRow]:
        """Rows changed after ``since`` up to ``until``, past the ``after`` (sequence, row id) cursor."""
        async with self.db.sessions() as session:
            rows = await session.scalars(
                select(RecordRow)
                .where(
                    RecordRow.changed_seq > since,
                    RecordRow.changed_seq <= until,
                    tuple_(RecordRow.changed_seq, RecordRow.id) > tuple_(*after),
                )
                .order_by(RecordRow.changed_seq, RecordRow.id)
                .limit(limit)
            )
            return list(rows)

    async def milestone_history(self, key: str) -> list[MilestoneStatusChange]:
        """Every status change of milestone ``key``, oldest first."""
        async with self.db.sessions() as session:
            rows = await session.scalars(
                select(MilestoneStatusChange)
                .where(MilestoneStatusChange.milestone_key == key)
                .order_by(MilestoneStatusChange.id)
            )
            return list(rows)

    # Changing -----------------------------------------------------------------------------------

    async def apply(
        self, changes: Sequence[Change], *, author: str, summary: str = "", also: Also | None = None
    ) -> Published:
        """Apply ``changes`` as one published change; return the new (or unchanged) publication.

        The new feed is built, validated (against the previous publication) and signed once, here.
        ``also`` runs in the same transaction (a draft published is removed with it, or not at all).
        """
        async with self.db.transaction() as session:
            state = await session.scalar(select(NodeState).where(NodeState.id == 1).with_for_update())
            if state is None:
                state = NodeState(id=1, sequence=0)
                session.add(state)
            sequence, now = state.sequence + 1, datetime.now(UTC)
            rows = list(await session.scalars(select(RecordRow).order_by(RecordRow.position, RecordRow.id)))
            # Read before the batch touches any row: no query may flush a change the validation has not seen.
            previous = await session.scalar(select(Publication).order_by(Publication.sequence.desc()).limit(1))
            batch = _Batch(session, rows, sequence, now, author)
            for change in changes:
                batch.apply(change)
            if batch.errors:
                raise InvalidInputError(
                    "los datos no cumplen el estándar",
                    "the data does not meet the standard",
                    code="feed.invalid",
                    errors=self._every_problem(changes, sequence, now) or batch.errors,
                )
            if also is not None:
                await also(session)
            if not batch.changed and previous is not None:
                return Published(
                    Snapshot.of(
                        previous.sequence, previous.generated_at, previous.body, previous.signature, previous.kid
                    )
                )
            body = self._build(batch.rows, sequence, now)
            report = validate(body, previous.body if previous else None, reference=self.reference, now=now)
            if not report.valid:
                raise InvalidInputError(
                    "el cambio dejaría el feed inválido; el feed publicado no cambió",
                    "the change would make the feed invalid; the published feed is unchanged",
                    code="feed.invalid",
                    errors=_findings_as_errors([f for f in report.findings if f.severity.blocking]),
                )
            signature = signing.sign(body, self.keyring.current)
            session.add(
                Publication(
                    sequence=sequence,
                    generated_at=now,
                    body=body,
                    signature=signature,
                    kid=self.keyring.kid,
                    author=author,
                    summary=summary[:500],
                )
            )
            await session.execute(delete(Publication).where(Publication.sequence <= sequence - KEEP_PUBLICATIONS))
            state.sequence, state.published_at = sequence, now
        snapshot = Snapshot.of(sequence, now, body, signature, self.keyring.kid)
        return Published(snapshot, [f for f in report.findings if not f.severity.blocking])

    def problems(self, plan: ReplaceAll) -> list[dict[str, object]]:
        """Every blocking finding of ``plan`` as given, as error payloads; nothing is stored or published."""
        return self._every_problem([plan], 1, datetime.now(UTC))

    def _every_problem(self, changes: Sequence[Change], sequence: int, now: datetime) -> list[dict[str, object]]:
        """Every blocking finding of a whole new plan (a :class:`ReplaceAll`) some of whose records are malformed.

        Those records cannot be stored, so the feed is not built from the rows: the plan as given is
        validated instead, so that one malformed record hides none of the other problems (its references
        and semantics included). Empty for a change of single records, whose own findings are enough.
        """
        whole = [change for change in changes if isinstance(change, ReplaceAll)]
        if not whole:
            return []
        document: dict[str, Any] = {
            **envelope(self.settings, self.reference),
            "generated_at": now.isoformat(),
            "sequence": sequence,
            **{entity.value: items for entity, items in whole[-1].records.items()},
        }
        report = validate(msgspec.json.encode(document), reference=self.reference, now=now)
        return _findings_as_errors([f for f in report.findings if f.severity.blocking])

    def _build(self, rows: Sequence[RecordRow], sequence: int, now: datetime) -> bytes:
        document: dict[str, Any] = {
            **envelope(self.settings, self.reference),
            "generated_at": now,
            "sequence": sequence,
        }
        live = sorted((r for r in rows if r.deleted_at is None), key=lambda r: (r.position, r.id or 0))
        for collection in COLLECTIONS:
            document[collection.entity.value] = [r.data for r in live if r.entity == collection.entity.value]
        document["tombstones"] = [
            {"entity": r.entity, "id": r.key, "deleted_at": r.deleted_at}
            for r in sorted((r for r in rows if r.deleted_at is not None), key=lambda r: (r.deleted_at, r.key))
        ]
        return encode(msgspec.convert(document, PlanFeed))


class _Batch:
    """The rows of one transaction and the changes applied to them."""

    def __init__(self, session: AsyncSession, rows: list[RecordRow], sequence: int, now: datetime, author: str) -> None:
        self.session = session
        self.rows = rows
        self.index = {(row.entity, row.key): row for row in rows}
        self.sequence = sequence
        self.now = now
        self.author = author
        self.errors: list[dict[str, object]] = []
        self.changed = False
        self.next_position = max((row.position for row in rows), default=0) + 1

    def apply(self, change: Change) -> None:
        if isinstance(change, Put):
            self.put(change)
        elif isinstance(change, Delete):
            self.delete(change)
        else:
            self.replace_all(change)

    def put(self, change: Put, *, position: int | None = None, check_version: bool = True) -> str | None:
        collection = collection_of(change.entity)
        record, findings = check_record(collection, change.data, change.path)
        if record is None:
            self.errors += _findings_as_errors(findings)
            return None
        key = collection.key_of(record)
        data: dict[str, Any] = msgspec.to_builtins(record)
        row = self.index.get((change.entity.value, key))
        live = row is not None and row.deleted_at is None
        if check_version and change.expected_version is None and live:
            raise ConflictError(
                f"{change.entity.value} «{key}» ya existe", f"{change.entity.value} '{key}' already exists"
            )
        if check_version and change.expected_version is not None:
            if row is None or not live:
                raise NotFoundError(
                    f"{change.entity.value} «{key}» no existe", f"{change.entity.value} '{key}' does not exist"
                )
            if row.version != change.expected_version:
                raise PreconditionFailedError(
                    f"{change.entity.value} «{key}» cambió (versión {row.version}, no {change.expected_version})",
                    f"{change.entity.value} '{key}' changed (version {row.version}, not {change.expected_version})",
                )
        if row is None:
            row = RecordRow(
                entity=change.entity.value,
                key=key,
                position=position if position is not None else self._take_position(),
                data=data,
                version=1,
                changed_seq=self.sequence,
                updated_at=self.now,
                updated_by=self.author,
            )
            self.session.add(row)
            self.rows.append(row)
            self.index[(row.entity, key)] = row
            self._history(change.entity, key, None, data)
            self.changed = True
            return key
        if position is not None and row.position != position:
            row.position = position
            self.changed = True
        if live and row.data == data:
            return key
        self._history(change.entity, key, row.data if live else None, data)
        row.data, row.deleted_at = data, None
        row.version += 1
        row.changed_seq, row.updated_at, row.updated_by = self.sequence, self.now, self.author
        self.changed = True
        return key

    def delete(self, change: Delete, *, check_version: bool = True) -> None:
        row = self.index.get((change.entity.value, change.key))
        if row is None or row.deleted_at is not None:
            raise NotFoundError(
                f"{change.entity.value} «{change.key}» no existe",
                f"{change.entity.value} '{change.key}' does not exist",
            )
        if check_version and row.version != change.expected_version:
            raise PreconditionFailedError(
                f"{change.entity.value} «{change.key}» cambió (versión {row.version})",
                f"{change.entity.value} '{change.key}' changed (version {row.version})",
            )
        self._history(change.entity, change.key, row.data, None)
        row.deleted_at = self.now
        row.version += 1
        row.changed_seq, row.updated_at, row.updated_by = self.sequence, self.now, self.author
        self.changed = True

    def replace_all(self, change: ReplaceAll) -> None:
        keep: set[tuple[str, str]] = set()
        position = 0
        for collection in COLLECTIONS:
            first: dict[str, int] = {}
            for index, data in enumerate(change.records.get(collection.entity, [])):
                position += 1
                path = f"$.{collection.entity.value}[{index}]"
                key = data.get(collection.key) if isinstance(data, dict) else None
                if isinstance(key, str) and key in first:
                    duplicate = RULES["ids.duplicate"].at(
                        f"{path}.{collection.key}",
                        id=key,
                        entity=collection.entity.value,
                        first=f"$.{collection.entity.value}[{first[key]}]",
                    )
                    self.errors += _findings_as_errors([duplicate])
                    continue
                if isinstance(key, str):
                    first[key] = index
                put = Put(collection.entity, data, path=path)
                key = self.put(put, position=position, check_version=False)
                if key is not None:
                    keep.add((collection.entity.value, key))
        if self.errors:
            return
        for row in list(self.rows):
            if row.deleted_at is None and (row.entity, row.key) not in keep:
                self.delete(Delete(Entity(row.entity), row.key, row.version), check_version=False)

    def _take_position(self) -> int:
        self.next_position += 1
        return self.next_position - 1

    def _history(self, entity: Entity, key: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if entity is not Entity.MILESTONES:
            return
        old_status = old.get("status") if old else None
        new_status = new.get("status") if new else None
        if old_status != new_status:
            self.session.add(
                MilestoneStatusChange(
                    milestone_key=key,
                    old_status=old_status,
                    new_status=new_status,
                    sequence=self.sequence,
                    changed_at=self.now,
                    changed_by=self.author,
                )
            )
