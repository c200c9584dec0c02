"""Everything a running aggregator holds, wired from its settings (HTTP app, CLI and demo alike).

This is the composition root: it builds each sub-context's service and connects them — the harvest's
state changes to the alerts, its results and pushes to the metrics, a push to an immediate poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Coroutine
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.core.db import Database
from ogp_federation.core.errors import ConfigurationError
from ogp_federation.core.logs import get_logger
from ogp_federation.core.migrations import require_current
from ogp_federation.feed.reference import CommuneReference

from .benchmarks import BenchmarkService
from .common import AggregatorSettings
from .harvest import PUSH_LANE, Harvester, HarvestResult, HarvestScheduler, PushService
from .history import AcceptedFeed, FederationReads, HistoryService
from .library import LibraryService
from .net import Fetcher, FetchLimits, NetworkGuard
from .quality import QualityService
from .registry import RegistryService
from .research import ReleaseService, ResearchService
from .review import ReviewService
from .setup import MIGRATIONS
from .status import AlertSender, Metrics, StatusService
from .web import WebService

__all__ = ["AggregatorRuntime"]

_log = get_logger("ogp_federation.aggregator")


class AggregatorRuntime:
    """The aggregator's services."""

    def __init__(
        self,
        settings: AggregatorSettings,
        *,
        reference: CommuneReference | None = None,
    ) -> None:
        self.settings = settings
        self.reference = reference or communes_of(settings)
        self.db = Database(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout,
        )
        self.guard = NetworkGuard(settings.allowed_networks)
        self.fetcher = Fetcher(
            self.guard,
            FetchLimits(
                connect_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
                total_timeout=settings.total_timeout,
                max_bytes=settings.max_bytes,
                max_decompressed_bytes=settings.max_decompressed_bytes,
                max_redirects=settings.max_redirects,
                max_connections=settings.concurrency + PUSH_LANE,  # a push never waits for a round's connections
            ),
            ssl_context=_ssl_context(settings.ca_file),
        )
        self.registry = RegistryService(
            self.db,
            self.fetcher,
            default_interval=settings.default_poll_interval,
            reference=self.reference,
            check_nodes=settings.check_on_registration,
        )
        self.history = HistoryService(self.db)
        self.federation = FederationReads(self.db)
        self.review = ReviewService(self.db)
        self.benchmarks = BenchmarkService(
            self.db,
            min_group_size=settings.min_group_size,
            population_bands=settings.population_bands,
            similar=settings.similar_communes,
        )
        self.quality = QualityService(self.db)
        self.library = LibraryService(self.db, population_bands=settings.population_bands)
        self.research = ResearchService(self.db, settings)
        self.releases = ReleaseService(self.db, settings, self.research.keys)
        self.harvester = Harvester(self.db, settings, self.fetcher, self.reference)
        self.scheduler = HarvestScheduler(self.db, self.harvester, settings)
        self.metrics = Metrics()
        self.alerts = AlertSender(settings, self.fetcher)
        self.status = StatusService(
            self.db, stale_factor=settings.stale_factor, metrics=self.metrics, ready=self.check_database
        )
        self.pushes = PushService(self.db, min_seconds=settings.push_min_seconds)
        self.pushes.on_new = lambda cut: self.background(self.scheduler.poll_now(cut))
        self.pushes.on_outcome = lambda outcome: self.metrics.pushes.labels(outcome).inc()
        self.harvester.recorder.on_state_change = self.alerts.dispatch
        self.harvester.recorder.on_result = self._count
        self.harvester.recorder.listeners.append(self.benchmarks.on_accepted)  # comparisons stay current
        self.review.listeners.append(self.benchmarks.on_accepted)
        self.harvester.recorder.listeners.append(self._declared)  # population and group a feed declares
        self.review.listeners.append(self._declared)
        self.harvester.recorder.listeners.append(self.library.on_accepted)  # the library follows the harvest
        self.review.listeners.append(self.library.on_accepted)
        self.registry.on_attributes = self.benchmarks.forget_members
        self.scheduler.daily["quality-scores"] = self.quality.compute  # scored once a day, kept as history
        self.scheduler.daily["monthly-release"] = self.releases.monthly  # built on the month's first run
        self.web = WebService(
            self.db,
            status=self.status,
            benchmarks=self.benchmarks,
            library=self.library,
            quality=self.quality,
            history=self.history,
            releases=self.releases,
        )
        self._background: set[asyncio.Task[None]] = set()

    async def _declared(self, session: AsyncSession, accepted: list[AcceptedFeed]) -> None:
        publishers = [(item.cut, item.feed.publisher) for item in accepted]
        declared = [(cut, p.population.value if p.population else None, p.subdere_group) for cut, p in publishers]
        await self.registry.record_declared(session, declared)

    def dependencies(self) -> dict[str, object]:
        """The services handlers ask for by name (each context's controllers name theirs)."""
        return {
            "settings": self.settings,
            "registry": self.registry,
            "history": self.history,
            "federation": self.federation,
            "review": self.review,
            "pushes": self.pushes,
            "status": self.status,
            "benchmarks": self.benchmarks,
            "quality": self.quality,
            "library": self.library,
            "research": self.research,
            "release_service": self.releases,
            "web": self.web,
        }

    def _count(self, result: HarvestResult, seconds: float) -> None:
        # Unchanged polls are most polls and say nothing new: debug level (the metrics still count them).
        log = _log.debug if result.outcome == "unchanged" else _log.info
        log(
            "poll",
            cut=result.cut,
            outcome=result.outcome,
            code=result.code,
            sequence=result.sequence,
            ms=round(seconds * 1000),
            bytes=result.bytes,
        )
        self.metrics.polls.labels(result.outcome).inc()
        self.metrics.duration.observe(seconds)
        self.metrics.bytes.inc(result.bytes)

    def background(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run ``coroutine`` in the background, keeping a reference until it ends."""
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def check_database(self) -> None:
        """Raise a clear error unless the database answers and is at the current migration."""
        await require_current(self.db, MIGRATIONS)

    async def start(self) -> None:
        """Check the database is migrated, then start the scheduler if this process runs one."""
        await self.check_database()
        if self.settings.scheduler:
            self.scheduler.start()

    async def stop(self) -> None:
        """Stop scheduling and the harvests underway (before their connections close), then the rest."""
        self.scheduler.stop()
        await self.scheduler.drain()  # else in-flight polls would fail on the closed pool and count as errors
        for task in list(self._background):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.alerts.close()
        await self.fetcher.close()
        await self.db.close()


def _ssl_context(ca_file: str | None) -> ssl.SSLContext | None:
    """The system's trusted authorities plus those of ``ca_file`` (None: the system's alone)."""
    if ca_file is None:
        return None
    context = ssl.create_default_context()
    try:
        context.load_verify_locations(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"ca_file: {ca_file} no es un archivo PEM de autoridades legible",
            f"ca_file: {ca_file} is not a readable PEM file of authorities",
            detail=str(exc)[:200],
        ) from exc
    return context


_MAX_COMMUNES_FILE = 10 * 1024 * 1024


def communes_of(settings: AggregatorSettings) -> CommuneReference:
    """The communes the aggregator knows: ``communes_file`` when set, else the packaged DPA reference."""
    path = settings.communes_file
    if path is None:
        return CommuneReference.packaged()
    try:
        with open(path, encoding="utf-8", newline="") as file:
            text = file.read(_MAX_COMMUNES_FILE + 1)
        if len(text) > _MAX_COMMUNES_FILE:
            raise ValueError(f"larger than {_MAX_COMMUNES_FILE // 1024 // 1024} MB")
        return CommuneReference.from_csv(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigurationError(
            f"communes_file: {path} no es un CSV de comunas legible",
            f"communes_file: {path} is not a readable CSV of communes",
            detail=str(exc)[:200],
        ) from exc
