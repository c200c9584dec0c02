"""The dashboard: server-rendered pages in es-CL and English over the other contexts' services.

Every text a node sent reaches the page through Jinja's autoescaping (the library's highlighted
snippets are built escaped by the library itself); charts are SVG drawn here (``charts``).
"""

from __future__ import annotations

import enum
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from ogp_federation.aggregator.benchmarks import BenchmarkService
from ogp_federation.aggregator.common import describe
from ogp_federation.aggregator.common.chile import CHILE
from ogp_federation.aggregator.history import HistoryService
from ogp_federation.aggregator.library import Filters, LibraryService
from ogp_federation.aggregator.quality import QualityService
from ogp_federation.aggregator.registry import Commune
from ogp_federation.aggregator.research import ReleaseService
from ogp_federation.aggregator.status import STATE_ES, StatusService
from ogp_federation.core.db import Database
from ogp_federation.core.errors import InvalidInputError, NotFoundError, OGPError
from ogp_federation.core.i18n import Language, language
from ogp_federation.feed.enums import CommitmentStatus, InputState, MilestoneStatus, Pillar
from ogp_federation.feed.labels import label

from . import reads
from .charts import distribution_svg, map_svg, sparkline_svg, trend_svg

__all__ = ["WebService"]

MOST_MILESTONES = 60  # shown per commitment; the rest are counted
MOST_INPUTS = 100  # citizen inputs shown on a profile; the rest are counted
STATE_COLOURS = {  # the map's fill by node state (the legend and the table by region say it in words too)
    "ok": "#2e7d32",
    "stale": "#f9a825",
    "failing": "#c62828",
    "invalid": "#ad1457",
    "quarantined": "#6a1b9a",
    "never_harvested": "#78909c",
    "not_publishing": "#e0e0e0",
}
QUINTILE_COLOURS = ("#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c")  # light (low) to dark (high)
OVERVIEW_SECONDS = 10.0  # the overview's figures are read again at most this often


@dataclass(frozen=True)
class _Services:
    status: StatusService
    benchmarks: BenchmarkService
    library: LibraryService
    quality: QualityService
    history: HistoryService
    releases: ReleaseService


class WebService:
    """Renders each page in a locale."""

    def __init__(self, db: Database, **services: Any) -> None:
        self.db = db
        self.services = _Services(**services)
        self._environments: dict[str, Environment] = {}
        self._overview: tuple[float, tuple[Any, datetime, Any, Any]] | None = None

    def _environment(self, locale: str) -> Environment:
        if locale not in self._environments:
            lang = language(locale)
            environment = Environment(
                loader=PackageLoader("ogp_federation.aggregator.web", "templates"),
                autoescape=select_autoescape(default=True),
            )
            environment.globals.update(
                _=lang.gettext,
                ngettext=lang.ngettext,
                lang=lang,
                english=lang.locale == "en",
                state_label=lambda state: lang.gettext(STATE_ES.get(state) or state),
                explain=lambda code: describe(code, lang),
                number=lambda value, digits=1: "—" if value is None else lang.number(round(value, digits)),
                vocabulary=lambda kind, value: _label(kind, value, lang),
                pillars=[(pillar.value, lang.gettext(label(pillar))) for pillar in Pillar],
            )
            environment.filters["chile"] = lambda moment: _chile(moment, lang)
            environment.filters["day"] = lang.day
            self._environments[locale] = environment
        return self._environments[locale]

    def _render(self, locale: str, template: str, **context: Any) -> str:
        return self._environment(locale).get_template(template).render(page=template, **context)

    # Pages -----------------------------------------------------------------------------------------

    async def overview(self, locale: str, indicator: str | None = None) -> str:
        """Federation health, the month's activity, the communes most behind, publishing by region.

        The same for every visitor and slow to change: read at most every ``OVERVIEW_SECONDS``.
        """
        now = datetime.now(UTC)
        if self._overview is None or time.monotonic() - self._overview[0] > OVERVIEW_SECONDS:
            status = await self.services.status.federation()
            month = now.astimezone(CHILE).replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
            async with self.db.sessions() as session:
                activity = await reads.month_activity(session, month)
                behind = await reads.behind(session, now.astimezone(CHILE).date())
            self._overview = (time.monotonic(), (status, month, activity, behind))
        status, month, activity, behind = self._overview[1]
        lang = language(locale)
        names = {row.cut: row.name for row in status.communes}
        comparison = await self._optional(self.services.benchmarks.compare(indicator)) if indicator else None
        if comparison is not None:
            drawn, legend = _indicator_map(comparison, names, lang)
        else:
            drawn, legend = _state_map(status, lang)
        missing = [(cut, name, next((r.state for r in status.communes if r.cut == cut), "not_publishing"))
                   for cut, name in _shapes()["missing"].items()]  # fmt: skip
        regions: dict[str, dict[str, int]] = {}
        for row in status.communes:
            counts = regions.setdefault(row.region, {"total": 0, "publishing": 0, "ok": 0})
            counts["total"] += 1
            counts["publishing"] += row.state != "not_publishing"
            counts["ok"] += row.state == "ok"
        return self._render(
            locale,
            "overview.html",
            counts=status.counts,
            total=len(status.communes),
            states=list(STATE_ES),
            activity=activity,
            month=month,
            behind=behind,
            regions=sorted(regions.items()),
            failing=[row for row in status.communes if row.state in ("failing", "invalid", "quarantined", "stale")],
            map=drawn,
            legend=legend,
            missing=missing,
            indicator=indicator or "",
            catalogue=self.services.benchmarks.catalogue(),
        )

    async def commune(self, cut: str, locale: str, group: str | None = None) -> str:
        """A commune's plan, indicators against a peer group, quality, versions, harvest and cooperation."""
        lang = language(locale)
        async with self.db.sessions() as session:
            commune = await session.get(Commune, cut)
            if commune is None:
                raise NotFoundError(f"no existe la comuna {cut}", f"there is no commune {cut}")
            commitments, total_commitments = await reads.plan_records(session, cut, "commitments", most=200)
            milestones, total_milestones = await reads.plan_records(session, cut, "milestones", most=5000)
            inputs, _ = await reads.plan_records(session, cut, "inputs", most=5000)
            versions = await reads.recent_versions(session, cut)
        chosen_group = group or f"region:{commune.region_cut}"
        today = datetime.now(CHILE).date().isoformat()
        by_commitment: dict[str, list[dict[str, Any]]] = {}
        for milestone in milestones:
            by_commitment.setdefault(str(milestone.get("commitment_id")), []).append(milestone)
        profile = await self._optional(self.services.benchmarks.profile(cut, group=chosen_group))
        quality = await self._optional(self.services.quality.quality(cut))
        cooperation = await self._optional(self.services.library.cooperation(cut))
        changes = []
        latest = next((v for v in versions if v.status == "accepted"), None)
        if latest is not None:
            page = await self.services.history.changes(latest.id, limit=50)
            changes = [_sentence(change, lang) for change in page.items]
        health = await self.services.status.row(cut)
        charts = {}
        trends = {}
        for entry in profile.indicators if profile is not None else []:
            name = entry.name_en if lang.locale == "en" else entry.name_es
            points = entry.standing.trend_points if entry.standing else []
            if len(points) > 1:
                trends[entry.code] = Markup(  # noqa: S704 (built by charts, which escapes every text)
                    sparkline_svg(
                        points,
                        title=lang.gettext("{name}: tendencia de {commune}", name=name, commune=commune.name),
                        description="; ".join(f"{period}: {lang.number(round(value, 2))}" for period, value in points),
                    )
                )
            if entry.distribution is None:
                continue
            d = entry.distribution
            value = entry.standing.value if entry.standing else None
            charts[entry.code] = Markup(  # noqa: S704 (built by charts, which escapes every text)
                distribution_svg(
                    values=[d.min, d.p10, d.q1, d.median, d.q3, d.p90, d.max],
                    q1=d.q1,
                    median=d.median,
                    q3=d.q3,
                    marked=value,
                    marked_label=commune.name,
                    title=name,
                    description=lang.gettext(
                        "{name}: mediana del grupo {median}; {commune}: {value}",
                        name=name,
                        median=lang.number(round(d.median, 2)),
                        commune=commune.name,
                        value="—" if value is None else lang.number(round(value, 2)),
                    ),
                    number=lambda v: lang.number(round(v, 1)),
                )
            )
        return self._render(
            locale,
            "commune.html",
            commune=commune,
            group=chosen_group,
            commitments=commitments,
            total_commitments=total_commitments,
            total_milestones=total_milestones,
            by_commitment=by_commitment,
            most_milestones=MOST_MILESTONES,
            today=today,
            inputs=inputs,
            most_inputs=MOST_INPUTS,
            answered=sum(1 for item in inputs if item.get("state") in ("accepted", "partially_accepted", "rejected")),
            profile=profile,
            charts=charts,
            trends=trends,
            quality=quality,
            cooperation=cooperation,
            versions=versions,
            changes=changes,
            health=health,
        )

    async def indicator(self, locale: str, code: str, *, period: str | None, group: str, cut: str | None) -> str:
        """One indicator, a period and a group: distribution, ranking, coverage, outliers, trend."""
        lang = language(locale)
        catalogue = self.services.benchmarks.catalogue()
        comparison, problem = None, None
        try:
            comparison = await self.services.benchmarks.compare(code, period=period, group=group, cut=cut)
        except InvalidInputError as exc:
            problem = exc.describe("en" if lang.locale == "en" else "es")
        chart = trend = None
        if comparison is not None:
            name = comparison.name_en if lang.locale == "en" else comparison.name_es
            marked = comparison.commune.value if comparison.commune else None
            marked_name = next((v.name for v in comparison.values if v.cut == cut), cut or "")
            d = comparison.distribution
            chart = Markup(  # noqa: S704 (built by charts, which escapes every text)
                distribution_svg(
                    values=[v.value for v in comparison.values],
                    q1=d.q1,
                    median=d.median,
                    q3=d.q3,
                    marked=marked,
                    marked_label=marked_name,
                    title=name,
                    description=lang.gettext(
                        "{count} comunas; mediana {median}",
                        count=comparison.reporting,
                        median=lang.number(round(d.median, 2)),
                    ),
                    number=lambda v: lang.number(round(v, 1)),
                )
            )
            points = comparison.commune.trend_points if comparison.commune else []
            if len(points) > 1:
                trend = Markup(  # noqa: S704 (built by charts, which escapes every text)
                    trend_svg(
                        points,
                        title=lang.gettext("Tendencia de {commune}", commune=marked_name),
                        description=", ".join(f"{p}: {lang.number(round(v, 2))}" for p, v in points),
                        number=lambda v: lang.number(round(v, 1)),
                    )
                )
        return self._render(
            locale,
            "indicator.html",
            catalogue=catalogue,
            code=code,
            period=period or (comparison.period if comparison else ""),
            group=group,
            cut=cut or "",
            comparison=comparison,
            problem=problem,
            chart=chart,
            trend=trend,
        )

    async def library(self, locale: str, *, q: str, kind: str | None, pillar: str | None, describe: str) -> str:
        """Search with filters and highlighted snippets; who already did what the user describes."""
        lang = language(locale)
        results = suggestions = None
        problem = None
        try:
            if q:
                results = await self.services.library.search(q, Filters(kind=kind or None, pillar=pillar or None))
            if describe:
                suggestions = await self.services.library.suggest(describe, limit=8)
        except InvalidInputError as exc:
            problem = exc.describe("en" if lang.locale == "en" else "es")
        return self._render(
            locale,
            "library.html",
            q=q,
            kind=kind or "",
            pillar=pillar or "",
            describe=describe,
            results=results,
            suggestions=suggestions,
            problem=problem,
            markup=Markup,
        )

    async def methodology(self, locale: str, cut: str, key: str) -> str:
        """A methodology, who adopted it and its lineage."""
        view = await self.services.library.methodology(cut, key)
        return self._render(locale, "methodology.html", item=view)

    async def researchers(self, locale: str) -> str:
        """How to get API access, and the bulk releases."""
        return self._render(locale, "researchers.html", releases=self.services.releases.releases())

    @staticmethod
    async def _optional(pending: Any) -> Any:
        """The answer, or None when the service has nothing for this commune yet (not harvested, too few…)."""
        try:
            return await pending
        except OGPError:
            return None


_VOCABULARIES: dict[str, type[enum.Enum]] = {
    "milestone": MilestoneStatus,
    "commitment": CommitmentStatus,
    "input": InputState,
}


def _label(kind: str, value: object, lang: Language) -> str:
    """A vocabulary value as the page says it (``completed`` → «Cumplido»); the value itself if unknown."""
    try:
        return lang.gettext(label(_VOCABULARIES[kind](value)))
    except (KeyError, ValueError):
        return str(value)


def _state_map(status: Any, lang: Language) -> tuple[Markup, list[tuple[str, str]]]:
    """The map coloured by each node's state, and its legend (colour, words)."""
    colours = {row.cut: STATE_COLOURS.get(row.state, "#eceff1") for row in status.communes}
    labels = {row.cut: f"{row.name}: {lang.gettext(STATE_ES.get(row.state) or row.state)}" for row in status.communes}
    counts = status.counts
    drawn = map_svg(
        _shapes(),
        colours,
        labels,
        title=lang.gettext("Mapa de las comunas por estado de su nodo"),
        description=", ".join(
            f"{lang.gettext(STATE_ES.get(state) or state)}: {lang.number(count)}"
            for state, count in sorted(counts.items())
        ),
    )
    legend = [
        (colour, f"{lang.gettext(STATE_ES.get(state) or state)}: {lang.number(counts.get(state, 0))}")
        for state, colour in STATE_COLOURS.items()
    ]
    return Markup(drawn), legend  # noqa: S704 (built by charts, which escapes every text)


def _indicator_map(comparison: Any, names: dict[str, str], lang: Language) -> tuple[Markup, list[tuple[str, str]]]:
    """The map coloured by an indicator's value in five equal-count steps (quintiles), and its legend."""
    values = sorted(value.value for value in comparison.values)
    # the upper bound of each of the first four steps: the last value of each fifth of the sorted values
    bounds = [values[max(0, (len(values) * step) // 5 - 1)] for step in range(1, 5)]
    name = comparison.name_en if lang.locale == "en" else comparison.name_es

    def step(value: float) -> int:
        return sum(1 for bound in bounds if value > bound)

    colours = {v.cut: QUINTILE_COLOURS[step(v.value)] for v in comparison.values}
    labels = {cut: f"{label}: {lang.gettext('sin dato')}" for cut, label in names.items()}
    for v in comparison.values:
        labels[v.cut] = f"{v.name}: {lang.number(round(v.value, 2))} {comparison.unit}"
    edges = [values[0], *bounds, values[-1]]
    legend = [
        (
            QUINTILE_COLOURS[i],
            f"{lang.number(round(edges[i], 1))} – {lang.number(round(edges[i + 1], 1))} {comparison.unit}",
        )
        for i in range(5)
    ]
    legend.append(("#eceff1", lang.gettext("sin dato")))
    drawn = map_svg(
        _shapes(),
        colours,
        labels,
        title=lang.gettext("{indicator} por comuna ({period})", indicator=name, period=comparison.period),
        description=lang.gettext(
            "{count} comunas informan; mediana {median}",
            count=comparison.reporting,
            median=lang.number(round(comparison.distribution.median, 2)),
        ),
    )
    return Markup(drawn), legend  # noqa: S704 (built by charts, which escapes every text)


@cache
def _shapes() -> dict[str, Any]:
    """The packaged map of the communes (fixtures/scripts/build_map.py): one SVG path per commune."""
    loaded: dict[str, Any] = json.loads(
        (resources.files("ogp_federation.aggregator.web") / "data" / "map.json").read_text(encoding="utf-8")
    )
    return loaded


def _chile(moment: datetime | None, lang: Language) -> str:
    if moment is None:
        return "—"
    local = moment.astimezone(CHILE)
    return f"{lang.day(local.date())} {local:%H:%M}"


def _sentence(change: Any, lang: Language) -> str:
    """A change of a version as a sentence: «hito X pasó a completado»."""
    entity = {
        "milestones": lang.gettext("hito"),
        "commitments": lang.gettext("compromiso"),
        "methodologies": lang.gettext("metodología"),
        "inputs": lang.gettext("aporte ciudadano"),
    }.get(change.entity, change.entity)
    title = str((change.new or change.old or {}).get("title") or change.id)
    if change.kind == "added":
        return lang.gettext("{entity} «{title}» agregado", entity=entity, title=title)
    if change.kind == "deleted":
        return lang.gettext("{entity} «{title}» eliminado", entity=entity, title=title)
    if "status" in change.fields and change.new is not None:
        return lang.gettext(
            "{entity} «{title}» pasó a {status}", entity=entity, title=title, status=str(change.new.get("status"))
        )
    return lang.gettext(
        "{entity} «{title}» cambió: {fields}", entity=entity, title=title, fields=", ".join(change.fields)
    )
