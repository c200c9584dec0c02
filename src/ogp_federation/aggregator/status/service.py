"""Federation health: each commune's node state for the status page, its JSON twin and the metrics."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from prometheus_client import generate_latest
from sqlalchemy import func, select

from ogp_federation.aggregator.common import CHILE, advise, describe, describe_es
from ogp_federation.aggregator.registry import Commune, Node
from ogp_federation.core.db import Database
from ogp_federation.core.i18n import DEFAULT_LOCALE, Language, language

from .metrics import Metrics
from .schemas import FederationStatus, LastError, StatusRow

__all__ = ["STATE_ES", "StatusService", "chile_time"]


def chile_time(moment: datetime, lang: Language | None = None) -> str:
    """``moment`` as a reader in Chile says it, with its zone named: ``01-12-2026 16:30 (hora de Chile, UTC−3)``."""
    local = moment.astimezone(CHILE)
    total = int((local.utcoffset() or timedelta(0)).total_seconds()) // 60
    hours, minutes = divmod(abs(total), 60)
    zone = f"UTC{'+' if total >= 0 else '−'}{hours}" + (f":{minutes:02d}" if minutes else "")
    shown = local.strftime("%d-%m-%Y %H:%M")
    return (lang or language()).gettext("{moment} (hora de Chile, {zone})", moment=shown, zone=zone)


STATE_ES = {
    "never_harvested": "Nunca cosechado",
    "ok": "Al día",
    "stale": "Desactualizado",
    "failing": "Con fallas",
    "invalid": "Feed inválido",
    "quarantined": "En cuarentena",
    "removed": "Dado de baja",
    "not_publishing": "No publica",
}


# What a status row shows: the commune, and its node's state and last outcomes (not its keys or report).
_READ = (
    Commune.cut,
    Commune.name,
    Commune.region,
    Node.id.label("node_id"),
    Node.state,
    Node.poll_interval,
    Node.sequence,
    Node.last_success_at,
    Node.last_error_code,
    Node.last_error_message,
    Node.last_error_at,
    Node.failing_since,
    Node.last_fix_seconds,
)


class StatusService:
    """The federation's health; shared by the status page, ``/status.json``, the read API and ``/metrics``."""

    def __init__(
        self, db: Database, *, stale_factor: float, metrics: Metrics, ready: Callable[[], Awaitable[None]]
    ) -> None:
        self.db = db
        self.stale_factor = stale_factor
        self.metrics = metrics
        self._ready = ready
        self._templates: dict[str, Environment] = {}

    def _environment(self, locale: str) -> Environment:
        """The status templates in ``locale`` (one environment per language)."""
        if locale not in self._templates:
            lang = language(locale)
            environment = Environment(
                loader=PackageLoader("ogp_federation.aggregator.status", "templates"),
                autoescape=select_autoescape(default=True),
            )
            environment.filters["chile"] = lambda moment: chile_time(moment, lang)

            @cache  # a page says the same few states and error codes hundreds of times
            def state_label(state: str) -> str:
                return lang.gettext(STATE_ES.get(state, state))

            environment.globals.update(
                _=lang.gettext,
                ngettext=lang.ngettext,
                lang=lang,
                explain=cache(lambda code: describe(code, lang)),
                advise=cache(lambda code: advise(code, lang)),
                state_label=state_label,
            )
            self._templates[locale] = environment
        return self._templates[locale]

    async def rows(self) -> list[StatusRow]:
        """One row per commune (346), with its node's health when it has one."""
        now = datetime.now(UTC)
        async with self.db.sessions() as session:
            rows = (
                await session.execute(select(*_READ).outerjoin(Node, Node.cut == Commune.cut).order_by(Commune.cut))
            ).all()
        return [self._row(row, now) for row in rows]

    async def row(self, cut: str) -> StatusRow | None:
        """One commune's row (None for a CUT not in the registry)."""
        async with self.db.sessions() as session:
            found = (
                await session.execute(select(*_READ).outerjoin(Node, Node.cut == Commune.cut).where(Commune.cut == cut))
            ).first()
        return self._row(found, datetime.now(UTC)) if found else None

    async def federation(self) -> FederationStatus:
        """Counts by state and every commune's row."""
        rows = await self.rows()
        return FederationStatus(counts=dict(Counter(row.state for row in rows)), communes=rows)

    async def page(self, locale: str = DEFAULT_LOCALE, *, region: str = "", state: str = "") -> str:
        """The status page in ``locale`` (es-CL unless asked otherwise), filtered by region and state."""
        status = await self.federation()
        published = [row for row in status.communes if row.state != "not_publishing" or state == "not_publishing"]
        shown = [row for row in published if (not region or row.region == region) and (not state or row.state == state)]
        return (
            self._environment(locale)
            .get_template("status.html")
            .render(
                rows=shown,
                counts=status.counts,
                total=len(status.communes),
                states=STATE_ES,
                regions=sorted({row.region for row in status.communes}),
                region=region,
                state=state,
                now=datetime.now(UTC),
            )
        )

    async def queue_lag(self) -> float:
        """Seconds the most overdue poll is late (0 when nothing is due)."""
        async with self.db.sessions() as session:
            oldest = await session.scalar(
                select(func.min(Node.next_poll_at)).where(Node.keys_confirmed.is_(True), Node.state != "removed")
            )
        if oldest is None:
            return 0.0
        return max(0.0, (datetime.now(UTC) - oldest).total_seconds())

    async def metrics_text(self) -> bytes:
        """This process's Prometheus metrics, with the queue lag read now."""
        self.metrics.queue_lag.set(await self.queue_lag())
        return generate_latest(self.metrics.registry)

    async def ready(self) -> None:
        """Raise a clear error unless the database answers and is migrated."""
        await self._ready()

    def _row(self, row: Any, now: datetime) -> StatusRow:
        """A row of ``_READ`` (a commune without a node has its node's columns empty)."""
        state = "not_publishing" if row.node_id is None else row.state
        late = row.last_success_at is not None and (
            now - row.last_success_at > timedelta(seconds=row.poll_interval * self.stale_factor)
        )
        if state == "ok" and late:
            state = "stale"
        error = None
        if row.last_error_code:
            error = LastError(
                code=row.last_error_code,
                explanation_es=describe_es(row.last_error_code),
                message=row.last_error_message,
                at=row.last_error_at,
            )
        return StatusRow(
            cut=row.cut,
            name=row.name,
            region=row.region,
            state=state,
            state_es=STATE_ES.get(state, state),
            sequence=row.sequence,
            last_success_at=row.last_success_at,
            last_error=error,
            failing_since=row.failing_since,
            last_time_to_fix_seconds=row.last_fix_seconds,
        )
