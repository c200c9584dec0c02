"""Full feeds from the stored versions: a change page applies to the feed before it.

Shared by everything that replays the history (the benchmarks' rebuild, the quality scores).
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.feed import PlanFeed, decode
from ogp_federation.feed.changes import ChangeError, apply_changes
from ogp_federation.feed.protocol import ChangePage

from .models import FeedVersion

__all__ = ["current_feed", "feed_of"]


def feed_of(version: Any, previous: PlanFeed | None) -> PlanFeed | None:
    """The full feed a stored version (with ``source`` and ``body``) stands for; None if it cannot be rebuilt."""
    if version.source == "feed":
        return decode(version.body)
    if previous is None:
        return None
    try:
        return apply_changes(previous, msgspec.json.decode(version.body, type=ChangePage))
    except (ChangeError, msgspec.DecodeError, msgspec.ValidationError):
        return None  # cannot happen for an accepted version; a replay never stops on one


async def current_feed(session: AsyncSession, cut: str) -> tuple[PlanFeed, int] | None:
    """The commune's current accepted feed and its version id: its last full feed and the pages after it.

    One read of the versions from the last full feed's sequence on. A change page of that same sequence
    (reached by pages before its full feed arrived) is not replayed: the full feed stands for it.
    """
    accepted = (FeedVersion.cut == cut) & (FeedVersion.status == "accepted")
    last_full = select(func.max(FeedVersion.sequence)).where(accepted, FeedVersion.source == "feed").scalar_subquery()
    versions = (
        await session.execute(
            select(FeedVersion.id, FeedVersion.source, FeedVersion.sequence, FeedVersion.body)
            .where(accepted, FeedVersion.sequence >= last_full)
            .order_by(FeedVersion.sequence, FeedVersion.id)
        )
    ).all()
    base = next((version for version in reversed(versions) if version.source == "feed"), None)
    if base is None:
        return None
    feed, version_id = decode(base.body), base.id
    for version in versions:
        if version.source != "changes" or version.sequence <= base.sequence:
            continue
        rebuilt = feed_of(version, feed)
        if rebuilt is None:
            break
        feed, version_id = rebuilt, version.id
    return feed, version_id
