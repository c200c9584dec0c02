"""Reads across every commune at once, for researchers: all records as of a moment, and the change stream."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import or_, select, tuple_

from ogp_federation.core.db import Database
from ogp_federation.core.errors import InvalidInputError
from ogp_federation.core.pagination import Page, decode_cursor, encode_cursor

from .models import FeedVersion, RecordState
from .schemas import VersionView

__all__ = ["FederationReads"]

DEFAULT_LIMIT = 500


class _StreamAt(msgspec.Struct, frozen=True, tag="stream"):
    """Where the change stream goes on: the acceptance time and id of the last version listed."""

    at: datetime | None = None
    after: int = 0


class _FederationAt(msgspec.Struct, frozen=True, tag="federation-records"):
    """Where a page of every commune's records starts: the moment it is pinned to, the last state's id."""

    at: datetime
    after: int = 0


def _cursor_conflict() -> InvalidInputError:
    return InvalidInputError(
        "un cursor ya dice desde dónde seguir: no se combina con as_of",
        "a cursor already says where to go on: it is not combined with as_of",
        errors=[{"path": "cursor", "message": "given with as_of"}],
    )


class FederationReads:
    """Every commune's records as of a moment, and every accepted version in acceptance order."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def records(
        self, *, as_of: datetime | None = None, cursor: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page[dict[str, Any]]:
        """Every commune's records as of a moment (now by default), one page at a time.

        The moment is pinned in the cursor and the pages follow the record states' ids, so a reader
        pages through each record exactly once while new versions land.
        """
        if cursor is not None:
            if as_of is not None:
                raise _cursor_conflict()
            position = decode_cursor(cursor, _FederationAt)
        else:
            position = _FederationAt(at=as_of or datetime.now(UTC))
        states = RecordState
        query = (
            select(states.id, states.cut, states.entity, states.key, states.data, states.valid_from_seq)
            .where(
                states.id > position.after,
                states.valid_from <= position.at,
                or_(states.valid_to.is_(None), states.valid_to > position.at),
            )
            .order_by(states.id)
            .limit(limit + 1)
        )
        async with self.db.sessions() as session:
            rows = (await session.execute(query)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        after = encode_cursor(msgspec.structs.replace(position, after=rows[-1].id)) if more else None
        items = [
            {"cut": r.cut, "entity": r.entity, "key": r.key, "sequence": r.valid_from_seq, "record": r.data}
            for r in rows
        ]
        return Page(items, after)

    async def accepted(
        self, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT, settle_seconds: float = 0.0
    ) -> Page[dict[str, Any]]:
        """Every commune's accepted versions in the order they were accepted (the change stream).

        Keyset on (accepted time, id); versions accepted less than ``settle_seconds`` ago are left for a
        later page, so one that commits a moment after a newer one was listed is not skipped.
        """
        position = decode_cursor(cursor, _StreamAt) if cursor is not None else _StreamAt()
        settled = datetime.now(UTC) - timedelta(seconds=settle_seconds)
        accepted_at = FeedVersion.accepted_at
        listed = tuple(getattr(FeedVersion, name) for name in VersionView.__struct_fields__)
        query = select(FeedVersion.cut, *listed, accepted_at).where(
            FeedVersion.status == "accepted", accepted_at.is_not(None), accepted_at <= settled
        )
        if position.at is not None:
            query = query.where(tuple_(accepted_at, FeedVersion.id) > tuple_(position.at, position.after))
        async with self.db.sessions() as session:
            rows = (await session.execute(query.order_by(accepted_at, FeedVersion.id).limit(limit))).all()
        items = [
            {
                "cut": row.cut,
                "accepted_at": row.accepted_at,
                "changes": f"/api/v1/versions/{row.id}/changes",
                **msgspec.to_builtins(
                    VersionView(**{name: getattr(row, name) for name in VersionView.__struct_fields__})
                ),
            }
            for row in rows
        ]
        # Every page that lists something says where to go on (the last page too: a mirror asks again
        # later with it); an empty page is the end, for now.
        after = encode_cursor(_StreamAt(at=rows[-1].accepted_at, after=rows[-1].id)) if rows else None
        return Page(items, after)
