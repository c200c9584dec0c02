"""Everything a running node holds: its services, the served-feed cache and the push notifier.

Built by :func:`ogp_federation.node.app.create_app` (or by the CLI for one-off commands) from the
settings; controllers, jobs and CLI commands all go through it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import msgspec

from ogp_federation import __version__
from ogp_federation.core.db import Database
from ogp_federation.core.errors import NotReadyError
from ogp_federation.core.migrations import require_current
from ogp_federation.feed import Entity
from ogp_federation.feed.protocol import (
    CHANGES_TEMPLATE,
    FEED_PATH,
    STATIC_CHANGES_TEMPLATE,
    NodeDescriptor,
)
from ogp_federation.feed.reference import CommuneReference

from .adoption import Adopter
from .auth import StaffService
from .drafts import DraftService
from .evidence import EvidenceStore
from .keyring import KeyRing
from .push import PushNotifier
from .records import Also, Change, PlanService, Published
from .settings import NodeSettings
from .snapshot import Snapshot

__all__ = ["MIGRATIONS", "NodeRuntime"]

MIGRATIONS = "ogp_federation.node:migrations"


@dataclass
class FeedCache:
    """The current publication in memory; re-checked against the database at most every ``interval``."""

    plan: PlanService
    interval: float
    snapshot: Snapshot | None = None
    checked: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self) -> Snapshot | None:
        """The newest publication (one cheap query per interval, none in between)."""
        if self.snapshot is not None and time.monotonic() - self.checked < self.interval:
            return self.snapshot
        async with self.lock:
            if self.snapshot is None or time.monotonic() - self.checked >= self.interval:
                sequence = await self.plan.current_sequence()
                if self.snapshot is None or sequence != self.snapshot.sequence:
                    self.snapshot = await self.plan.latest()
                self.checked = time.monotonic()
        return self.snapshot

    def put(self, snapshot: Snapshot) -> None:
        """Serve ``snapshot`` from now on (this worker just published it)."""
        if self.snapshot is None or snapshot.sequence >= self.snapshot.sequence:
            self.snapshot = snapshot
            self.checked = time.monotonic()


class NodeRuntime:
    """The services of one node, wired from its settings."""

    def __init__(
        self,
        settings: NodeSettings,
        *,
        reference: CommuneReference | None = None,
        push_transport: httpx.AsyncBaseTransport | None = None,
        library_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.reference = reference or CommuneReference.packaged()
        self.db = Database(settings.resolved_database_url)
        self.keyring = KeyRing.load(settings.data_path / "keys")
        self.plan = PlanService(self.db, settings, self.keyring, self.reference)
        self.staff = StaffService(self.db)
        self.evidence = EvidenceStore(self.db, settings.data_path / "evidence", settings.max_upload_bytes)
        self.cache = FeedCache(self.plan, settings.feed_cache_check_seconds)
        self.pusher = PushNotifier(settings.push_urls, self.keyring, transport=push_transport)
        self.drafts = DraftService(self.db)
        self.adopter = Adopter(settings, self.drafts, transport=library_transport)

    @property
    def commune_name(self) -> str:
        """The commune's official name."""
        commune = self.reference.get(self.settings.cut)
        return commune.name if commune else self.settings.cut

    async def start(self) -> None:
        """Check the database is migrated, start background work (push senders) and warm the feed cache."""
        await require_current(self.db, MIGRATIONS)
        self.pusher.start()
        await self.cache.get()

    async def check_ready(self) -> None:
        """Raise a clear error unless the database answers, is migrated, and a feed is published."""
        await require_current(self.db, MIGRATIONS)
        if await self.cache.get() is None:
            raise NotReadyError(
                "el nodo aún no publica su plan (ogp-federation node import o la API)",
                "the node publishes no plan yet (ogp-federation node import, or the API)",
            )

    async def stop(self) -> None:
        """Stop background work and close the database."""
        await self.pusher.stop()
        await self.db.close()

    async def change(
        self, changes: Sequence[Change], *, author: str, summary: str = "", also: Also | None = None
    ) -> Published:
        """Apply and publish ``changes``; serve the result at once and tell the aggregators."""
        before = self.cache.snapshot.sequence if self.cache.snapshot else None
        published = await self.plan.apply(changes, author=author, summary=summary, also=also)
        snapshot = published.snapshot
        self.cache.put(snapshot)
        if snapshot.sequence != before:
            self.pusher.notify(self.settings.cut, snapshot.sequence, self.settings.base_url + FEED_PATH)
        return published

    async def publish_draft(
        self, entity: Entity, key: str, *, author: str, expected_version: int | None = None
    ) -> Published:
        """Publish a draft as a new sequence; the draft is removed in the same transaction."""
        put, remove = await self.drafts.publisher(entity, key, expected_version=expected_version)
        return await self.change([put], author=author, summary=f"publish draft {entity} {key}", also=remove)

    def descriptor(self, base_url: str | None = None, *, static: bool = False) -> NodeDescriptor:
        """The node descriptor, for the live node or for a static copy hosted at ``base_url``."""
        base = (base_url or self.settings.base_url).rstrip("/")
        return NodeDescriptor.at(
            base,
            cut=self.settings.cut,
            name=self.commune_name,
            changes=STATIC_CHANGES_TEMPLATE if static else CHANGES_TEMPLATE,
            contact=msgspec.to_builtins(self.settings.contact),
            software=f"ogp-federation {__version__}",
            static=static,
        )

    def jwks_document(self) -> tuple[bytes, bytes]:
        """The published JWKS bytes, and the JSON list of their endorsements (``jwks.json.sig``)."""
        now, grace = datetime.now(UTC), timedelta(days=self.settings.key_grace_days)
        body = msgspec.json.encode(self.keyring.jwks(now, grace))
        return body, msgspec.json.encode(self.keyring.endorsements(body, now, grace))
