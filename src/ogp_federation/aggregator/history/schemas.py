"""What the history's read side answers: feed documents, versions, record changes and polls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from ogp_federation.feed.protocol import SEQUENCE_HEADER, SIGNATURE_HEADER, VERSION_HEADER

__all__ = ["ChangeView", "EventView", "FeedDocument", "VersionView"]


@dataclass(frozen=True)
class FeedDocument:
    """A harvested version's exact signed bytes, its detached signature, and where it sits in history."""

    body: bytes
    signature: str
    kid: str
    sequence: int
    version_id: int
    source: str  # feed: a full feed; changes: a change page applied to the version before

    def headers(self) -> dict[str, str]:
        """The protocol headers that go with the bytes."""
        return {
            SIGNATURE_HEADER: self.signature,
            SEQUENCE_HEADER: str(self.sequence),
            VERSION_HEADER: str(self.version_id),
        }


class VersionView(msgspec.Struct, kw_only=True):
    """A harvested version without its body (accepted, quarantined or discarded)."""

    id: int
    sequence: int
    generated_at: datetime
    status: str
    source: str
    reason: str | None
    sha256: str
    kid: str
    counts: dict[str, Any]


class ChangeView(msgspec.Struct, kw_only=True):
    """One record added (with its content), changed (with the fields that differ) or deleted."""

    entity: str
    id: str
    kind: str  # added | changed | deleted
    fields: list[str]
    old: dict[str, Any] | None
    new: dict[str, Any] | None


class EventView(msgspec.Struct, kw_only=True):
    """One poll of a node: outcome, error code and message, duration, size."""

    at: datetime
    outcome: str
    code: str | None
    message: str | None
    duration_ms: int
    bytes: int
    worker: str
