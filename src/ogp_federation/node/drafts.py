"""Drafts: records the staff prepare before they are published (a methodology adopted from the library).

A draft is a well-formed record of the standard that is not in the feed. Editing it publishes nothing;
publishing it is an ordinary change of the plan (built, validated against the previous publication and
signed), and the draft is removed in that same transaction, so it is either published and gone, or
still a draft.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.core.db import Database
from ogp_federation.core.errors import ConflictError, InvalidInputError, NotFoundError, PreconditionFailedError
from ogp_federation.feed import Entity
from ogp_federation.feed.validation import check_record

from .models import Draft, RecordRow
from .records import Also, Put, collection_of

__all__ = ["DraftService", "DraftView"]


class DraftView(msgspec.Struct, kw_only=True):
    """A draft as the admin API and the CLI show it; ``version`` is its ETag."""

    entity: str
    key: str
    record: dict[str, Any]
    version: int
    origin: dict[str, Any]
    updated_at: datetime
    updated_by: str

    @classmethod
    def of(cls, row: Draft) -> DraftView:
        """The view of a stored draft."""
        return cls(
            entity=row.entity,
            key=row.key,
            record=row.data,
            version=row.version,
            origin=row.origin,
            updated_at=row.updated_at,
            updated_by=row.updated_by,
        )


def _not_found(entity: Entity, key: str) -> NotFoundError:
    return NotFoundError(f"no hay borrador de {entity.value} «{key}»", f"there is no draft of {entity.value} '{key}'")


def _typed(entity: Entity, data: Any) -> tuple[str, dict[str, Any]]:
    """The key and the normalised content of a well-formed record, or every structural problem."""
    collection = collection_of(entity)
    record, findings = check_record(collection, data)
    if record is None:
        raise InvalidInputError(
            "el borrador no cumple el estándar",
            "the draft does not meet the standard",
            code="feed.invalid",
            errors=[finding.as_error() for finding in findings],
        )
    return collection.key_of(record), msgspec.to_builtins(record)


class DraftService:
    """Drafts of one node: create, edit, list, discard; :meth:`publisher` turns one into a change."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(self) -> list[DraftView]:
        """Every draft, oldest first."""
        async with self.db.sessions() as session:
            rows = await session.scalars(select(Draft).order_by(Draft.created_at, Draft.id))
            return [DraftView.of(row) for row in rows]

    async def get(self, entity: Entity, key: str) -> DraftView:
        """One draft, or :class:`NotFoundError`."""
        async with self.db.sessions() as session:
            return DraftView.of(await self._row(session, entity, key))

    async def taken(self, entity: Entity, key: str) -> bool:
        """Whether ``key`` names a live record or a draft of ``entity``."""
        async with self.db.sessions() as session:
            return await _holder(session, entity, key) is not None

    async def create(self, entity: Entity, data: Any, *, author: str, origin: dict[str, Any]) -> DraftView:
        """Keep ``data`` as a new draft; its key may name neither a live record nor another draft."""
        key, content = _typed(entity, data)
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            await self._refuse_taken(session, entity, key)
            row = Draft(
                entity=entity.value,
                key=key,
                data=content,
                origin=origin,
                version=1,
                created_at=now,
                updated_at=now,
                updated_by=author,
            )
            session.add(row)
            await session.flush()
            return DraftView.of(row)

    async def replace(self, entity: Entity, key: str, data: Any, *, expected_version: int, author: str) -> DraftView:
        """Edit a draft at ``expected_version`` (nothing is published)."""
        new_key, content = _typed(entity, data)
        if new_key != key:
            raise InvalidInputError(
                "el identificador del cuerpo no coincide con la URL",
                "the body's identifier does not match the URL",
                errors=[{"path": f"$.{collection_of(entity).key}", "message": f"expected {key!r}"}],
            )
        async with self.db.transaction() as session:
            row = await self._row(session, entity, key)
            _check_version(row, expected_version)
            row.data, row.version = content, row.version + 1
            row.updated_at, row.updated_by = datetime.now(UTC), author
            await session.flush()
            return DraftView.of(row)

    async def discard(self, entity: Entity, key: str, *, expected_version: int | None = None) -> None:
        """Drop a draft without publishing it."""
        async with self.db.transaction() as session:
            row = await self._row(session, entity, key)
            if expected_version is not None:
                _check_version(row, expected_version)
            await session.delete(row)

    async def publisher(self, entity: Entity, key: str, *, expected_version: int | None = None) -> tuple[Put, Also]:
        """The change that publishes a draft, and the step that removes it in the same transaction."""
        draft = await self.get(entity, key)
        if expected_version is not None and draft.version != expected_version:
            raise _stale(entity, key, draft.version, expected_version)

        async def remove(session: AsyncSession) -> None:
            gone = await session.execute(
                delete(Draft).where(Draft.entity == entity.value, Draft.key == key, Draft.version == draft.version)
            )
            if getattr(gone, "rowcount", 0) != 1:  # edited or discarded meanwhile: publish nothing
                raise _stale(entity, key, None, draft.version)

        return Put(entity, draft.record), remove

    async def _row(self, session: AsyncSession, entity: Entity, key: str) -> Draft:
        row = await session.scalar(select(Draft).where(Draft.entity == entity.value, Draft.key == key))
        if row is None:
            raise _not_found(entity, key)
        return row

    @staticmethod
    async def _refuse_taken(session: AsyncSession, entity: Entity, key: str) -> None:
        holder = await _holder(session, entity, key)
        if holder == "record":
            raise ConflictError(
                f"{entity.value} «{key}» ya existe en el plan", f"{entity.value} '{key}' already exists in the plan"
            )
        if holder == "draft":
            raise ConflictError(
                f"ya hay un borrador de {entity.value} «{key}»", f"there is already a draft of {entity.value} '{key}'"
            )


async def _holder(session: AsyncSession, entity: Entity, key: str) -> str | None:
    """What holds ``key`` among ``entity``'s live records and drafts: ``record``, ``draft`` or nobody."""
    live = await session.scalar(
        select(RecordRow.id).where(
            RecordRow.entity == entity.value, RecordRow.key == key, RecordRow.deleted_at.is_(None)
        )
    )
    if live is not None:
        return "record"
    draft = await session.scalar(select(Draft.id).where(Draft.entity == entity.value, Draft.key == key))
    return "draft" if draft is not None else None


def _check_version(row: Draft, expected: int) -> None:
    if row.version != expected:
        raise _stale(Entity(row.entity), row.key, row.version, expected)


def _stale(entity: Entity, key: str, current: int | None, expected: int) -> PreconditionFailedError:
    now = f" (versión {current})" if current is not None else ""
    now_en = f" (version {current})" if current is not None else ""
    return PreconditionFailedError(
        f"el borrador de {entity.value} «{key}» cambió{now}, no es la versión {expected}",
        f"the draft of {entity.value} '{key}' changed{now_en}, it is not version {expected}",
    )
