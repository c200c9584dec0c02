"""Change pages: the records changed or deleted after a sequence, shared by the API and static export."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from ogp_federation.feed import Entity
from ogp_federation.feed.protocol import Change, ChangePage

from .records import PlanService

__all__ = ["change_page", "encode_page"]


async def change_page(
    plan: PlanService,
    cut: str,
    *,
    since: int,
    until: int,
    after: tuple[int, int],
    limit: int,
) -> tuple[ChangePage, tuple[int, int] | None]:
    """One page of changes in ``(since, until]`` after the ``after`` cursor; the next cursor if more remain."""
    rows = await plan.changed_since(since, until, after, limit + 1)
    more, rows = len(rows) > limit, rows[:limit]
    page = ChangePage(
        cut=cut,
        since=since,
        until=until,
        generated_at=datetime.now(UTC),
        changes=[
            Change(
                entity=Entity(row.entity),
                id=row.key,
                sequence=row.changed_seq,
                record=row.data if row.deleted_at is None else None,
                deleted_at=row.deleted_at,
            )
            for row in rows
        ],
    )
    return page, ((rows[-1].changed_seq, rows[-1].id) if more else None)


def encode_page(page: ChangePage, next_url: str | None) -> bytes:
    """The page's bytes with its ``next`` link set."""
    return msgspec.json.encode(msgspec.structs.replace(page, next=next_url))
