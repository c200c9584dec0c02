"""Admin review of quarantined versions: apply one (it becomes the accepted version) or discard it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import func, select

from ogp_federation.aggregator.history import FeedVersion, VersionListener, apply_records
from ogp_federation.aggregator.registry import Node
from ogp_federation.core.db import Database
from ogp_federation.core.errors import ConflictError, NotFoundError
from ogp_federation.core.pagination import Page, decode_cursor, encode_cursor
from ogp_federation.feed import decode

from .schemas import QuarantinedView

__all__ = ["ReviewService"]


class _PendingAt(msgspec.Struct, frozen=True, tag="quarantine"):
    id: int


class ReviewService:
    """Quarantined versions waiting for an operator; shared by the admin API and the CLI."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.listeners: list[VersionListener] = []  # kept current with an approved version (runtime wires)

    async def pending(self, *, cursor: str | None = None, limit: int = 500) -> Page[QuarantinedView]:
        """The quarantined versions, oldest first, a page at a time."""
        after = decode_cursor(cursor, _PendingAt).id if cursor is not None else 0
        columns = [getattr(FeedVersion, name) for name in QuarantinedView.__struct_fields__]
        async with self.db.sessions() as session:  # the columns listed, not the documents
            rows = (
                await session.execute(
                    select(*columns)
                    .where(FeedVersion.status == "quarantined", FeedVersion.id > after)
                    .order_by(FeedVersion.id)
                    .limit(limit + 1)
                )
            ).all()
        items = [QuarantinedView(**row._asdict()) for row in rows[:limit]]
        return Page(items, encode_cursor(_PendingAt(id=items[-1].id)) if len(rows) > limit else None)

    async def approve(self, version_id: int) -> None:
        """Apply a quarantined version that is newer than the accepted one (e.g. a deliberate mass deletion)."""
        async with self.db.transaction() as session:
            version = await self._quarantined(session, version_id)
            node = await session.scalar(select(Node).where(Node.id == version.node_id).with_for_update())
            if node is None:
                raise NotFoundError("el nodo ya no existe", "the node no longer exists")
            if node.sequence is not None and version.sequence <= node.sequence:
                raise ConflictError(
                    "la versión es anterior a la aceptada: solo puede descartarse",
                    "the version is older than the accepted one: it can only be discarded",
                )
            if version.source != "feed":
                raise ConflictError(
                    "un cambio parcial no se aplica solo: apruebe la versión completa que traiga la próxima cosecha",
                    "a change page is not applied alone: approve the full version the next harvest brings",
                )
            version.status, version.accepted_at = "accepted", datetime.now(UTC)
            await apply_records(session, node, decode(version.body), version, self.listeners)
            node.state, node.last_error_code, node.last_error_message = "ok", None, None

    async def discard(self, version_id: int) -> None:
        """Keep a quarantined version out for good (it stays stored, marked discarded).

        The node leaves the quarantined state once none of its versions waits for review any more.
        """
        async with self.db.transaction() as session:
            version = await self._quarantined(session, version_id)
            node = await session.scalar(select(Node).where(Node.id == version.node_id).with_for_update())
            version.status = "discarded"
            waiting = await session.scalar(
                select(func.count())
                .select_from(FeedVersion)
                .where(FeedVersion.node_id == version.node_id, FeedVersion.status == "quarantined")
            )
            if node is not None and node.state == "quarantined" and not waiting:
                node.state = "ok"

    @staticmethod
    async def _quarantined(session: Any, version_id: int) -> FeedVersion:
        version: FeedVersion | None = await session.get(FeedVersion, version_id)
        if version is None or version.status != "quarantined":
            raise NotFoundError("no hay versión en cuarentena con ese id", "no quarantined version with that id")
        return version
