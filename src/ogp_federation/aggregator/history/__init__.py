"""The history: every harvested version with its exact signed bytes, record states through time, diffs, polls.

The write side (``writer``) is called by the harvest and the review inside their transactions; the read
side (:class:`HistoryService`) answers the API, the CLI and the features built on the history.
"""

from __future__ import annotations

from .digests import Digests, body_digests, known_digests
from .federation import FederationReads
from .feeds import current_feed, feed_of
from .models import CurrentDigests, FeedVersion, HarvestEvent, RecordState, VersionChange
from .schemas import ChangeView, EventView, FeedDocument, VersionView
from .service import DEFAULT_LIMIT, HistoryService
from .writer import (
    AcceptedFeed,
    Applied,
    OpenRecord,
    RecordKey,
    Snapshot,
    VersionListener,
    apply_records,
    apply_versions,
    dropped_share,
    open_records,
    snapshot_records,
)

__all__ = [
    "DEFAULT_LIMIT",
    "AcceptedFeed",
    "Applied",
    "ChangeView",
    "CurrentDigests",
    "Digests",
    "EventView",
    "FederationReads",
    "FeedDocument",
    "FeedVersion",
    "HarvestEvent",
    "HistoryService",
    "OpenRecord",
    "RecordKey",
    "RecordState",
    "Snapshot",
    "VersionChange",
    "VersionListener",
    "VersionView",
    "apply_records",
    "apply_versions",
    "body_digests",
    "current_feed",
    "dropped_share",
    "feed_of",
    "known_digests",
    "open_records",
    "snapshot_records",
]
