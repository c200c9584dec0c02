"""Comparisons through one service, used by the API, the CLI and the dashboard."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.aggregator.history import AcceptedFeed
from ogp_federation.aggregator.registry import Commune
from ogp_federation.core.db import Database
from ogp_federation.core.errors import InvalidInputError, NotFoundError

from . import stats
from .catalogue import Catalogue, CatalogueIndicator, catalogue
from .current import READ, CurrentValues
from .groups import Member, resolve_group
from .models import BenchObservation
from .schemas import CommuneStanding, Comparison, Profile, ProfileEntry, Value
from .store import keep_current, rebuild

__all__ = ["BenchmarkService"]

_PERIOD = {
    "year": re.compile(r"^[0-9]{4}\Z"),
    "quarter": re.compile(r"^[0-9]{4}-Q[1-4]\Z"),
    "month": re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])\Z"),
}
_EXAMPLE = {"year": "2025", "quarter": "2025-Q3", "month": "2025-09"}
TREND_PERIODS = 5
# Peer-group attributes change rarely (aggregator commune set): the process that changes them rereads them
# at once; another process within this many seconds.
MEMBERS_SECONDS = 30.0


class _TooSmallError(Exception):
    def __init__(self, reporting: int) -> None:
        self.reporting = reporting


class BenchmarkService:
    """The catalogue, comparisons, commune profiles, and the store they read (kept current by the harvest)."""

    def __init__(self, db: Database, *, min_group_size: int, population_bands: list[int], similar: int) -> None:
        self.db = db
        self.min_group_size = min_group_size
        self.bands = population_bands
        self.similar = similar
        self._members_cache: tuple[float, list[Member]] | None = None
        self._current = CurrentValues()

    def forget_members(self) -> None:
        """Read the peer-group attributes again on the next request (the registry changed them)."""
        self._members_cache = None

    @staticmethod
    def catalogue() -> Catalogue:
        """The indicator catalogue."""
        return catalogue()

    async def on_accepted(self, session: AsyncSession, accepted: list[AcceptedFeed]) -> None:
        """History listener: update the store in the transaction that accepts the versions."""
        await keep_current(session, accepted)

    async def rebuild(self) -> int:
        """Recompute the store from the whole accepted history (same result as the incremental path)."""
        count = await rebuild(self.db)
        self._current.forget()
        return count

    async def compare(
        self,
        code: str,
        *,
        period: str | None = None,
        group: str = "todas",
        cut: str | None = None,
        as_of: datetime | None = None,
    ) -> Comparison:
        """``code`` in ``period`` (default: the latest with values) across ``group``; ``cut`` is marked."""
        indicator = _indicator(code)
        async with self.db.sessions() as session:
            members = await self._members(session)
            spec, chosen = resolve_group(group, members, bands=self.bands, similar=self.similar)
            period = _period(indicator, period) if period else await self._latest(session, code, as_of)
            rows = await self._group_rows(session, [(code, period)], [m.cut for m in chosen], as_of)
            history = await _recent(session, cut, as_of, code=code) if cut else []
        try:
            return self._comparison(indicator, period, spec, chosen, rows, history, cut, as_of)
        except _TooSmallError as small:
            raise InvalidInputError(
                f"el grupo {spec} tiene {small.reporting} comunas con valor en {period}; "
                f"se necesitan al menos {self.min_group_size} para compararlas",
                f"group {spec} has {small.reporting} communes reporting in {period}; "
                f"at least {self.min_group_size} are needed to compare them",
                errors=[{"path": "group", "message": "group below the minimum size", "value": spec}],
                code="benchmarks.group_too_small",
            ) from None

    async def profile(self, cut: str, *, group: str = "todas", as_of: datetime | None = None) -> Profile:
        """Every catalogue indicator of ``cut``, in its latest period, against ``group``."""
        async with self.db.sessions() as session:
            members = await self._members(session)
            me = next((m for m in members if m.cut == cut), None)
            if me is None:
                raise NotFoundError(f"la comuna {cut} no existe", f"commune {cut} does not exist")
            spec, chosen = resolve_group(group, members, bands=self.bands, similar=self.similar)
            mine = await _recent(session, cut, as_of)
            latest: dict[str, str] = {}
            for row in mine:
                latest[row.code] = max(latest.get(row.code, row.period), row.period)
            group_rows = await self._group_rows(session, sorted(latest.items()), [m.cut for m in chosen], as_of)
        by_code: dict[str, list[Any]] = {}
        for row in group_rows:
            if row.period == latest.get(row.code):
                by_code.setdefault(row.code, []).append(row)
        own_by_code: dict[str, list[Any]] = {}
        for row in mine:
            own_by_code.setdefault(row.code, []).append(row)
        entries = []
        for indicator in catalogue().indicator:
            period = latest.get(indicator.code)
            rows = by_code.get(indicator.code, [])
            own = own_by_code.get(indicator.code, [])
            entries.append(self._entry(indicator, period, spec, chosen, rows, own, cut, as_of))
        synthetic = any(row.synthetic for row in mine)
        return Profile(cut=cut, name=me.name, group=spec, as_of=as_of, indicators=entries, synthetic=synthetic)

    def _entry(  # noqa: PLR0917 (an assembly step)
        self,
        indicator: CatalogueIndicator,
        period: str | None,
        spec: str,
        chosen: list[Member],
        rows: list[Any],
        own: list[Any],
        cut: str,
        as_of: datetime | None,
    ) -> ProfileEntry:
        base: dict[str, Any] = {
            "code": indicator.code,
            "name_es": indicator.name_es,
            "name_en": indicator.name_en,
            "unit": indicator.unit,
            "direction": indicator.direction,
            "period": period,
        }
        if period is None:
            return ProfileEntry(
                **base,
                reporting=0,
                distribution=None,
                standing=None,
                note_es="sin valor: faltan datos o no alcanza el mínimo del catálogo",
                note_en="no value: data missing or below the catalogue's minimum",
            )
        try:
            comparison = self._comparison(indicator, period, spec, chosen, rows, own, cut, as_of, listing=False)
        except _TooSmallError as small:
            standing = _standing(indicator, cut, [r for r in rows if r.cut == cut], [], own)
            return ProfileEntry(
                **base,
                reporting=small.reporting,
                distribution=None,
                standing=standing,
                note_es=f"el grupo tiene menos de {self.min_group_size} comunas con valor: no se resume",
                note_en=f"fewer than {self.min_group_size} communes of the group report it: not summarised",
            )
        return ProfileEntry(
            **base, reporting=comparison.reporting, distribution=comparison.distribution, standing=comparison.commune
        )

    def _comparison(  # noqa: PLR0917 (an assembly step)
        self,
        indicator: CatalogueIndicator,
        period: str,
        spec: str,
        chosen: list[Member],
        rows: list[Any],
        history: list[Any],
        cut: str | None,
        as_of: datetime | None,
        *,
        listing: bool = True,
    ) -> Comparison:
        """The comparison; without ``listing``, the values are not listed (a profile shows the summary)."""
        units = {row.unit for row in rows}
        if len(units) > 1:  # never mixed: a published value in another unit is refused, not converted
            raise InvalidInputError(
                f"{indicator.code} tiene valores en unidades distintas ({', '.join(sorted(units))})",
                f"{indicator.code} has values in different units ({', '.join(sorted(units))})",
                errors=[{"path": "code", "message": "mixed units", "value": indicator.code}],
                code="benchmarks.mixed_units",
            )
        if len(rows) < self.min_group_size:
            raise _TooSmallError(len(rows))
        values = [row.value for row in rows]
        summary = stats.summarise(values)
        ranker = stats.Ranker(values, indicator.direction)
        names = {m.cut: m.name for m in chosen}
        moment = as_of or datetime.now(UTC)
        listed = sorted(
            (
                Value(
                    cut=row.cut,
                    name=names.get(row.cut, row.cut),
                    value=row.value,
                    rank=ranker.rank(row.value),
                    provisional=row.provisional,
                    outlier=not summary.low_fence <= row.value <= summary.high_fence,
                    observed_at=row.observed_at,
                    age_days=max(0, (moment - row.observed_at).days),
                    version_id=row.version_id,
                    synthetic=row.synthetic,
                )
                for row in (rows if listing else [])
            ),
            key=lambda v: (v.rank if v.rank is not None else 0, -v.value, v.cut),
        )
        standing = None
        if cut is not None:
            standing = _standing(indicator, cut, [r for r in rows if r.cut == cut], values, history)
        return Comparison(
            code=indicator.code,
            name_es=indicator.name_es,
            name_en=indicator.name_en,
            unit=indicator.unit,
            direction=indicator.direction,
            period=period,
            group=spec,
            as_of=as_of,
            members=len(chosen),
            reporting=len(rows),
            coverage=round(len(rows) / len(chosen), 6),
            distribution=summary,
            values=listed,
            commune=standing,
            synthetic=sum(1 for row in rows if row.synthetic),
        )

    async def _members(self, session: AsyncSession) -> list[Member]:
        """The registry's communes and their attributes, read at most every ``MEMBERS_SECONDS`` per process."""
        now = time.monotonic()
        if self._members_cache is not None and now - self._members_cache[0] < MEMBERS_SECONDS:
            return self._members_cache[1]
        columns = (
            Commune.cut,
            Commune.name,
            Commune.region_cut,
            Commune.province_cut,
            func.coalesce(Commune.population, Commune.declared_population),  # the operator's, else the feed's
            func.coalesce(Commune.subdere_group, Commune.declared_subdere_group),
            Commune.groups,
        )
        rows = (await session.execute(select(*columns).order_by(Commune.cut))).all()
        members = [Member(r[0], r[1], r[2], r[3], r[4], r[5], tuple(r[6] or ())) for r in rows]
        self._members_cache = (now, members)
        return members

    async def _group_rows(
        self, session: AsyncSession, pairs: list[tuple[str, str]], cuts: list[str], as_of: datetime | None
    ) -> list[Any]:
        """The rows of ``cuts`` for each ``(code, period)`` valid at ``as_of``; current ones from the shared cache."""
        if as_of is not None:
            codes = sorted({code for code, _ in pairs})
            rows = await _observations(session, sorted({p for _, p in pairs}), cuts, as_of, codes=codes)
            wanted_pairs = set(pairs)
            return [row for row in rows if (row.code, row.period) in wanted_pairs]
        return await self._current.rows(session, pairs, cuts)

    async def _latest(self, session: AsyncSession, code: str, as_of: datetime | None) -> str:
        query = select(BenchObservation.period).where(BenchObservation.code == code, _valid_at(as_of))
        latest = await session.scalar(query.order_by(BenchObservation.period.desc()).limit(1))
        if latest is None:
            raise NotFoundError(f"aún no hay valores de {code}", f"no values of {code} yet", code="benchmarks.no_data")
        return str(latest)


def _indicator(code: str) -> CatalogueIndicator:
    indicator = catalogue().get(code)
    if indicator is None:
        raise NotFoundError(
            f"indicador desconocido: {code[:64]} (vea /api/v1/indicators)",
            f"unknown indicator: {code[:64]} (see /api/v1/indicators)",
            code="benchmarks.unknown_indicator",
        )
    return indicator


def _period(indicator: CatalogueIndicator, period: str) -> str:
    if not _PERIOD[indicator.period].match(period):
        example = _EXAMPLE[indicator.period]
        raise InvalidInputError(
            f"período inválido para {indicator.code}: se espera la forma {example}",
            f"invalid period for {indicator.code}: expected the form {example}",
            errors=[{"path": "period", "message": f"expected e.g. {example}", "value": period[:20]}],
            code="benchmarks.period",
        )
    return period


def _valid_at(as_of: datetime | None) -> Any:
    if as_of is None:
        return BenchObservation.valid_to.is_(None)
    return and_(
        BenchObservation.valid_from <= as_of,
        or_(BenchObservation.valid_to.is_(None), BenchObservation.valid_to > as_of),
    )


SQL_GROUP_LIMIT = 64  # groups up to this size are filtered in the query, larger ones after it


async def _observations(
    session: AsyncSession, periods: list[str], cuts: list[str], as_of: datetime, *, codes: list[str]
) -> list[Any]:
    """The rows of ``cuts`` of ``codes`` in ``periods`` valid at ``as_of`` (plain rows a comparison reads).

    A small group is filtered in SQL; a large one here: an indicator has at most one current row per
    commune and period, so a list of hundreds of communes in the query would cost more to send and plan
    than the few rows it leaves out. Core rows, not ORM ones: a profile reads thousands.
    """
    in_sql = len(cuts) <= SQL_GROUP_LIMIT
    query = select(*READ).where(_valid_at(as_of))
    if len(cuts) == 1:
        query = query.where(BenchObservation.cut == cuts[0])
    elif in_sql:
        query = query.where(BenchObservation.cut.in_(cuts))
    query = query.where(BenchObservation.code.in_(codes), BenchObservation.period.in_(periods))
    connection = await session.connection()
    rows = (await connection.execute(query.order_by(BenchObservation.cut, BenchObservation.period))).all()
    if in_sql:
        return list(rows)
    wanted = set(cuts)
    return [row for row in rows if row.cut in wanted]


async def _recent(session: AsyncSession, cut: str, as_of: datetime | None, *, code: str | None = None) -> list[Any]:
    """The commune's last ``TREND_PERIODS`` values of each indicator (or of ``code``) valid at ``as_of``."""
    table = BenchObservation
    position = func.row_number().over(partition_by=table.code, order_by=table.period.desc()).label("position")
    inner = select(table.code, table.period, table.value, table.provisional, table.synthetic, position).where(
        table.cut == cut, _valid_at(as_of)
    )
    if code is not None:
        inner = inner.where(table.code == code)
    ranked = inner.subquery()
    query = select(ranked.c.code, ranked.c.period, ranked.c.value, ranked.c.provisional, ranked.c.synthetic)
    connection = await session.connection()
    return list((await connection.execute(query.where(ranked.c.position <= TREND_PERIODS))).all())


def _standing(
    indicator: CatalogueIndicator, cut: str, own_now: list[Any], values: list[float], history: list[Any]
) -> CommuneStanding:
    row = own_now[0] if own_now else None
    points = sorted((r.period, r.value) for r in history if r.code == indicator.code)[-TREND_PERIODS:]
    trend = None
    direction = indicator.direction
    line = stats.slope([(float(index), value) for index, (_, value) in enumerate(points)])
    if line is not None and direction != "neutral":
        good = line > 0 if direction == "higher_better" else line < 0
        trend = "steady" if abs(line) < 1e-9 else ("improving" if good else "worsening")
    return CommuneStanding(
        cut=cut,
        value=row.value if row else None,
        rank=stats.rank(row.value, values, direction) if row and values else None,
        better_than_percent=stats.better_than(row.value, values, direction) if row and values else None,
        provisional=row.provisional if row else None,
        trend=trend,
        trend_points=points,
    )
