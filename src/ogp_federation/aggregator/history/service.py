"""The history's read side: every read of harvested history that the API, the CLI and jobs need.

Lists are pages with opaque cursors (keyset pagination). A records cursor is pinned to the sequence (or
moment) its first page was read at: paging on while a new version lands still yields that state, each
record exactly once; the new version shows from a request without a cursor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import and_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.aggregator.registry import Node, NodeKey
from ogp_federation.core.db import Database
from ogp_federation.core.errors import InvalidInputError, NotFoundError
from ogp_federation.core.pagination import Page, decode_cursor, encode_cursor
from ogp_federation.feed import Entity

from .models import FeedVersion, HarvestEvent, RecordState, VersionChange
from .schemas import ChangeView, EventView, FeedDocument, VersionView

__all__ = ["DEFAULT_LIMIT", "HistoryService"]

DEFAULT_LIMIT = 500


class _RecordsAt(msgspec.Struct, frozen=True, tag="records"):
    """Where a records page starts: the list (commune, collection), the state it is pinned to, the last key."""

    cut: str
    entity: str
    sequence: int | None = None  # pinned to a sequence…
    at: datetime | None = None  # …or to a moment
    key: str = ""


class _VersionsAt(msgspec.Struct, frozen=True, tag="versions"):
    cut: str
    id: int


class _ChangesAt(msgspec.Struct, frozen=True, tag="changes"):
    version: int
    added: bool  # still in the records the version added (then in the changed and deleted ones)
    id: int


class _DiffAt(msgspec.Struct, frozen=True, tag="diff"):
    cut: str
    since: int
    until: int
    entity: str
    key: str


class _EventsAt(msgspec.Struct, frozen=True, tag="events"):
    cut: str
    id: int  # newest first: the next page has smaller ids


class HistoryService:
    """Reads of the harvested history; shared by the read API, the CLI, and the features built on them."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def feed(self, cut: str, *, as_of: datetime | None = None) -> FeedDocument:
        """The latest accepted full feed of ``cut`` (or the one accepted as of ``as_of``), as signed."""
        query = select(FeedVersion).where(
            FeedVersion.cut == cut, FeedVersion.status == "accepted", FeedVersion.source == "feed"
        )
        if as_of is not None:
            query = query.where(FeedVersion.generated_at <= as_of)
        async with self.db.sessions() as session:
            version = await session.scalar(query.order_by(FeedVersion.sequence.desc(), FeedVersion.id.desc()).limit(1))
        if version is None:
            raise NotFoundError(f"sin versión aceptada de {cut}", f"no accepted version of {cut}")
        return _document(version)

    async def document(self, version_id: int) -> FeedDocument:
        """The exact signed bytes of any harvested version (a full feed or a change page)."""
        async with self.db.sessions() as session:
            version = await session.get(FeedVersion, version_id)
        if version is None:
            raise _version_not_found()
        return _document(version)

    async def version_keys(self, version_id: int) -> dict[str, Any]:
        """The JWKS holding the key that signed a harvested version (kept after the node rotated it away)."""
        async with self.db.sessions() as session:
            version = await session.get(FeedVersion, version_id)
            if version is None:
                raise _version_not_found()
            key = await session.get(NodeKey, (version.cut, version.kid))
        if key is None:
            raise NotFoundError(
                f"la clave {version.kid} de la versión {version_id} no está registrada",
                f"key {version.kid} of version {version_id} is not on record",
            )
        return {"keys": [key.jwk]}

    async def version(self, version_id: int) -> VersionView:
        """One harvested version, without its body."""
        async with self.db.sessions() as session:
            row = (await session.execute(select(*_LISTED).where(FeedVersion.id == version_id))).first()
        if row is None:
            raise _version_not_found()
        return _version_view(row)

    async def records(
        self,
        cut: str,
        entity: Entity | str,
        *,
        as_of: datetime | None = None,
        sequence: int | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Page[dict[str, Any]]:
        """A commune's records of one collection, by key: now, as of a moment, or as of a sequence."""
        entity = Entity(entity).value
        if cursor is not None:
            if as_of is not None or sequence is not None:
                raise _cursor_conflict()
            position = decode_cursor(cursor, _RecordsAt)
            if (position.cut, position.entity) != (cut, entity):
                raise _foreign_cursor()
        elif as_of is not None:
            position = _RecordsAt(cut=cut, entity=entity, at=as_of)
        else:
            pinned = sequence if sequence is not None else await self._current_sequence(cut)
            if pinned is None:
                return Page([])
            position = _RecordsAt(cut=cut, entity=entity, sequence=pinned)
        states = RecordState
        query = select(states.key, states.data).where(
            states.cut == cut, states.entity == entity, states.key > position.key
        )
        if position.sequence is not None:
            query = query.where(_valid_at(position.sequence))
        else:
            query = query.where(
                states.valid_from <= position.at, or_(states.valid_to.is_(None), states.valid_to > position.at)
            )
        async with self.db.sessions() as session:
            rows = (await session.execute(query.order_by(states.key).limit(limit + 1))).all()
        more = len(rows) > limit
        rows = rows[:limit]
        after = encode_cursor(msgspec.structs.replace(position, key=rows[-1].key)) if more else None
        return Page([row.data for row in rows], after)

    async def versions(self, cut: str, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> Page[VersionView]:
        """The versions harvested from a commune (accepted, quarantined, discarded), oldest first."""
        after = 0
        if cursor is not None:
            position = decode_cursor(cursor, _VersionsAt)
            if position.cut != cut:
                raise _foreign_cursor()
            after = position.id
        async with self.db.sessions() as session:  # the columns listed, never the documents
            rows = (
                await session.execute(
                    select(*_LISTED)
                    .where(FeedVersion.cut == cut, FeedVersion.id > after)
                    .order_by(FeedVersion.id)
                    .limit(limit + 1)
                )
            ).all()
        items = [_version_view(row) for row in rows[:limit]]
        more = len(rows) > limit
        return Page(items, encode_cursor(_VersionsAt(cut=cut, id=items[-1].id)) if more else None)

    async def changes(
        self, version_id: int, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page[ChangeView]:
        """What a version added (with content), changed (with the fields) and deleted, against the one before.

        Records added come first (in the order they were stored), then the changed and deleted ones.
        """
        position = _ChangesAt(version=version_id, added=True, id=0)
        if cursor is not None:
            position = decode_cursor(cursor, _ChangesAt)
            if position.version != version_id:
                raise _foreign_cursor()
        async with self.db.sessions() as session:
            version = await session.get(FeedVersion, version_id)
            if version is None:
                raise _version_not_found()
            items: list[tuple[bool, int, ChangeView]] = []
            if position.added:
                items = await _added(session, version, after=position.id, limit=limit + 1)
                if len(items) <= limit:  # the added ones end in this page: the changed and deleted follow
                    items += await _diffs(session, version_id, after=0, limit=limit + 1 - len(items))
            else:
                items = await _diffs(session, version_id, after=position.id, limit=limit + 1)
        page = items[:limit]
        following = None
        if len(items) > limit:
            added, last_id, _ = page[-1]
            following = encode_cursor(_ChangesAt(version=version_id, added=added, id=last_id))
        return Page([view for _, _, view in page], following)

    async def diff(
        self, cut: str, since: int, until: int, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page[ChangeView]:
        """What changed in a commune's records from sequence ``since`` to sequence ``until``, by record."""
        if since >= until:
            raise InvalidInputError(
                "la secuencia de origen debe ser menor que la de destino",
                "the first sequence must be smaller than the second",
                errors=[{"path": "since", "message": f"{since} is not below {until}"}],
            )
        start = ("", "")
        if cursor is not None:
            position = decode_cursor(cursor, _DiffAt)
            if (position.cut, position.since, position.until) != (cut, since, until):
                raise _foreign_cursor()
            start = (position.entity, position.key)
        states = RecordState
        started = and_(states.valid_from_seq > since, states.valid_from_seq <= until)
        ended = and_(states.valid_to_seq > since, states.valid_to_seq <= until)
        async with self.db.sessions() as session:
            keys = (
                await session.execute(
                    select(states.entity, states.key)
                    .where(states.cut == cut, or_(started, ended), tuple_(states.entity, states.key) > start)
                    .group_by(states.entity, states.key)
                    .order_by(states.entity, states.key)
                    .limit(limit + 1)
                )
            ).all()
            page_keys = [(row.entity, row.key) for row in keys[:limit]]
            before: dict[tuple[str, str], dict[str, Any]] = {}
            after: dict[tuple[str, str], dict[str, Any]] = {}
            if page_keys:
                rows = await session.execute(
                    select(states.entity, states.key, states.data, states.valid_from_seq).where(
                        states.cut == cut,
                        tuple_(states.entity, states.key).in_(page_keys),
                        or_(_valid_at(since), _valid_at(until)),
                    )
                )
                for entity, key, data, valid_from in rows:
                    (before if valid_from <= since else after)[(entity, key)] = data
        items = []
        for key in page_keys:
            old, new = before.get(key), after.get(key)
            if old == new:  # changed, then changed back
                continue
            items.append(_change_view(key, old, new))
        more = len(keys) > limit
        last = page_keys[-1] if more else None
        following = (
            encode_cursor(_DiffAt(cut=cut, since=since, until=until, entity=last[0], key=last[1])) if last else None
        )
        return Page(items, following)

    async def events(self, cut: str, *, cursor: str | None = None, limit: int = 50) -> Page[EventView]:
        """A node's poll history, newest first."""
        before: int | None = None
        if cursor is not None:
            position = decode_cursor(cursor, _EventsAt)
            if position.cut != cut:
                raise _foreign_cursor()
            before = position.id
        columns = [getattr(HarvestEvent, name) for name in EventView.__struct_fields__]
        query = select(HarvestEvent.id, *columns).join(Node, Node.id == HarvestEvent.node_id).where(Node.cut == cut)
        if before is not None:
            query = query.where(HarvestEvent.id < before)
        async with self.db.sessions() as session:
            rows = (await session.execute(query.order_by(HarvestEvent.id.desc()).limit(limit + 1))).all()
        items = [
            EventView(**{name: getattr(row, name) for name in EventView.__struct_fields__}) for row in rows[:limit]
        ]
        more = len(rows) > limit
        return Page(items, encode_cursor(_EventsAt(cut=cut, id=rows[limit - 1].id)) if more else None)

    async def _current_sequence(self, cut: str) -> int | None:
        async with self.db.sessions() as session:
            return await session.scalar(select(Node.sequence).where(Node.cut == cut))


# The columns a version is listed with: those of its view, never the body.
_LISTED = tuple(getattr(FeedVersion, name) for name in VersionView.__struct_fields__)


def _version_view(row: Any) -> VersionView:
    return VersionView(**row._asdict())


def _document(version: FeedVersion) -> FeedDocument:
    return FeedDocument(
        body=version.body,
        signature=version.signature,
        kid=version.kid,
        sequence=version.sequence,
        version_id=version.id,
        source=version.source,
    )


def _valid_at(sequence: int) -> Any:
    states = RecordState
    return and_(states.valid_from_seq <= sequence, or_(states.valid_to_seq.is_(None), states.valid_to_seq > sequence))


def _change_view(key: tuple[str, str], old: dict[str, Any] | None, new: dict[str, Any] | None) -> ChangeView:
    if old is None:
        return ChangeView(entity=key[0], id=key[1], kind="added", fields=[], old=None, new=new)
    if new is None:
        return ChangeView(entity=key[0], id=key[1], kind="deleted", fields=[], old=old, new=None)
    fields = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return ChangeView(entity=key[0], id=key[1], kind="changed", fields=fields, old=old, new=new)


async def _added(
    session: AsyncSession, version: FeedVersion, *, after: int, limit: int
) -> list[tuple[bool, int, ChangeView]]:
    """The records ``version`` added: opened at its sequence and not a change of an existing record."""
    twin_of = await session.scalar(  # the full feed of a sequence first reached through a change page
        select(FeedVersion.id)
        .where(
            FeedVersion.cut == version.cut,
            FeedVersion.sequence == version.sequence,
            FeedVersion.status == "accepted",
            FeedVersion.id < version.id,
        )
        .limit(1)
    )
    if twin_of is not None or version.status != "accepted":  # it opened no records of its own
        return []
    changed = select(VersionChange.id).where(
        VersionChange.version_id == version.id,
        VersionChange.entity == RecordState.entity,
        VersionChange.key == RecordState.key,
    )
    rows = await session.execute(
        select(RecordState.id, RecordState.entity, RecordState.key, RecordState.data)
        .where(
            RecordState.cut == version.cut,
            RecordState.valid_from_seq == version.sequence,
            RecordState.id > after,
            ~changed.exists(),
        )
        .order_by(RecordState.id)
        .limit(limit)
    )
    return [
        (True, id_, ChangeView(entity=entity, id=key, kind="added", fields=[], old=None, new=data))
        for id_, entity, key, data in rows
    ]


async def _diffs(
    session: AsyncSession, version_id: int, *, after: int, limit: int
) -> list[tuple[bool, int, ChangeView]]:
    """The records ``version_id`` changed or deleted."""
    if limit <= 0:
        return []
    rows = await session.scalars(
        select(VersionChange)
        .where(VersionChange.version_id == version_id, VersionChange.id > after)
        .order_by(VersionChange.id)
        .limit(limit)
    )
    return [
        (False, c.id, ChangeView(entity=c.entity, id=c.key, kind=c.kind, fields=c.fields, old=c.old, new=c.new))
        for c in rows
    ]


def _version_not_found() -> NotFoundError:
    return NotFoundError("versión no encontrada", "version not found")


def _foreign_cursor() -> InvalidInputError:
    return InvalidInputError(
        "el cursor es de otra lista: use el que entregó esta misma consulta",
        "the cursor belongs to another list: use the one this same query gave",
        errors=[{"path": "cursor", "message": "cursor of another list"}],
    )


def _cursor_conflict() -> InvalidInputError:
    return InvalidInputError(
        "un cursor ya fija el momento de la lista: no lo combine con as_of ni sequence",
        "a cursor already pins the list's moment: do not combine it with as_of or sequence",
        errors=[{"path": "cursor", "message": "given with as_of or sequence"}],
    )
