"""The history of the keys pinned for each node: a harvested version stays checkable after a rotation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import NodeKey

__all__ = ["remember_keys"]


async def remember_keys(session: AsyncSession, cut: str, jwks: dict[str, Any]) -> None:
    """Keep every key of ``jwks`` (a pinned JWKS) in the node's key history, in the caller's transaction."""
    known = set(await session.scalars(select(NodeKey.kid).where(NodeKey.cut == cut)))
    now = datetime.now(UTC)
    for key in jwks.get("keys", []):
        kid = key.get("kid") if isinstance(key, dict) else None
        if isinstance(kid, str) and kid not in known:
            session.add(NodeKey(cut=cut, kid=kid, jwk=dict(key), first_pinned_at=now))
            known.add(kid)
