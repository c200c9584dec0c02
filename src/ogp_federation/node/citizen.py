"""The citizen page: the published plan in Spanish (or English), rendered on the server (no JavaScript needed).

Everything shown comes from the published feed, escaped by Jinja's autoescaping; charts are inline SVG
built from numbers only. Used by the live node and by the static export alike.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape

from ogp_federation.core.i18n import DEFAULT_LOCALE, language
from ogp_federation.feed import PlanFeed
from ogp_federation.feed.enums import MilestoneStatus
from ogp_federation.feed.labels import label
from ogp_federation.feed.model import Commitment, Indicator, Observation

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "STATIC",
    "PageLanguage",
    "Sparkline",
    "chile_today",
    "render_commitment",
    "render_plan",
]

CHILE = ZoneInfo("America/Santiago")


def chile_today() -> date:
    """Today's date in continental Chile (what "overdue" is measured against)."""
    return datetime.now(CHILE).date()


CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


@cache
def _environment(locale: str) -> Environment:
    """The templates in ``locale``: one environment per language, so concurrent renders never mix them."""
    lang = language(locale)
    environment = Environment(
        loader=PackageLoader("ogp_federation.node", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["label"] = lambda value: lang.gettext(label(value))
    environment.filters["fecha"] = lang.day
    environment.globals.update(_=lang.gettext, ngettext=lang.ngettext, lang=lang)
    return environment


@dataclass(frozen=True)
class Sparkline:
    """An indicator's values as SVG polyline points (numbers only) with its first and last values."""

    points: str
    first: float
    last: float
    start: date
    end: date
    count: int

    WIDTH = 240
    HEIGHT = 60

    @classmethod
    def of(cls, observations: list[Observation]) -> Sparkline | None:
        """The sparkline of ``observations`` (sorted by period), or None with fewer than two."""
        ordered = sorted(observations, key=lambda o: o.period_start)
        if len(ordered) < 2:
            return None
        values = [o.value for o in ordered]
        low, high = min(values), max(values)
        span = (high - low) or 1.0
        step = cls.WIDTH / (len(values) - 1)
        points = " ".join(
            f"{index * step:.1f},{cls.HEIGHT - 4 - (value - low) / span * (cls.HEIGHT - 8):.1f}"
            for index, value in enumerate(values)
        )
        return cls(points, values[0], values[-1], ordered[0].period_start, ordered[-1].period_end, len(values))


_CLOSED = (MilestoneStatus.COMPLETED, MilestoneStatus.CANCELLED)


def _context(feed: PlanFeed, today: date) -> dict[str, Any]:
    milestones: dict[str, list[Any]] = defaultdict(list)
    for milestone in sorted(feed.milestones, key=lambda m: m.due):
        milestones[milestone.commitment_id].append(milestone)
    # Overdue: due before today and neither completed nor cancelled (shown in words, not by colour alone).
    overdue = {m.id for m in feed.milestones if m.due < today and m.status not in _CLOSED}
    children: dict[str, int] = defaultdict(int)
    for commitment in feed.commitments:
        if commitment.parent_id is not None:
            children[commitment.parent_id] += 1
    inputs: dict[str, list[Any]] = defaultdict(list)
    for item in feed.inputs:
        inputs[item.event_id].append(item)
    observations: dict[str, list[Observation]] = defaultdict(list)
    for observation in feed.observations:
        observations[observation.indicator_code].append(observation)
    indicators: list[tuple[Indicator, Sparkline | None, Observation | None]] = [
        (
            indicator,
            Sparkline.of(observations[indicator.code]),
            max(observations[indicator.code], key=lambda o: o.period_end, default=None),
        )
        for indicator in feed.indicators
    ]
    commitments_by_plan: dict[str, list[Commitment]] = defaultdict(list)
    for commitment in feed.commitments:
        commitments_by_plan[commitment.plan_id].append(commitment)
    return {
        "feed": feed,
        "publisher": feed.publisher,
        "plans": feed.action_plans,
        "commitments_by_plan": commitments_by_plan,
        "milestones": milestones,
        "events": sorted(feed.participation_events, key=lambda e: e.start, reverse=True),
        "inputs": inputs,
        "indicators": indicators,
        "organizations": {o.id: o for o in feed.organizations},
        "generated": feed.generated_at,
        "overdue": overdue,
        "children": children,
        "today": today,
    }


@dataclass(frozen=True)
class PageLanguage:
    """The language a page is rendered in, and how its links keep an explicit choice."""

    locale: str = DEFAULT_LOCALE
    chosen: bool = False  # chosen with ``?lang=``: the page's own links carry it on
    switch: bool = True  # offer the other language (not in the static export, which has one language)

    @property
    def query(self) -> str:
        """The query string the page's links carry (empty unless a language was chosen explicitly)."""
        return f"?lang={'es' if self.locale == DEFAULT_LOCALE else 'en'}" if self.chosen else ""


STATIC = PageLanguage(switch=False)


def _render(template: str, page: PageLanguage, **context: Any) -> str:
    environment = _environment(page.locale)
    return environment.get_template(template).render(**context, switch=page.switch, lang_query=page.query)


def render_plan(feed: PlanFeed, *, root: str = "", today: date | None = None, page: PageLanguage = STATIC) -> str:
    """The plan's main page; ``root`` is the relative path back to the site root; overdue as of ``today``."""
    return _render("plan.html", page, **_context(feed, today or chile_today()), root=root)


def render_commitment(
    feed: PlanFeed,
    commitment_id: str,
    *,
    root: str = "../../",
    today: date | None = None,
    page: PageLanguage = STATIC,
) -> str | None:
    """The page of one commitment, or None if there is no such commitment."""
    commitment = next((c for c in feed.commitments if c.id == commitment_id), None)
    if commitment is None:
        return None
    context = _context(feed, today or chile_today())
    return _render("commitment.html", page, **context, commitment=commitment, root=root)
