"""The methodology library: Spanish full-text search over every commune's methodologies and commitments."""

from __future__ import annotations

from typing import Any, cast

import msgspec
from sqlalchemy import Table, Text, and_, column, func, literal, literal_column, select, table, text
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.aggregator.history import AcceptedFeed
from ogp_federation.aggregator.registry import Commune
from ogp_federation.core.db import Database
from ogp_federation.core.errors import InvalidInputError, NotFoundError
from ogp_federation.feed.enums import MilestoneStatus, Pillar

from .cooperation import commune_cooperation, methodology
from .index import keep_current, rebuild
from .models import SEARCH_CONFIGURATION, LibraryEntry
from .schemas import CommitmentSuggestions, Cooperation, MethodologyView, SearchHit, SearchPage, Suggestion
from .text import MAX_QUERY_CHARS, Query, any_of, fts5_match, highlight, parse, tsquery

__all__ = ["Filters", "LibraryService"]

_ROWS = cast(Table, LibraryEntry.__table__)
_FTS = table("library_fts", column("rowid"))  # SQLite's FTS5 table of stems (migration 0009)
MAX_LIMIT = 50
MAX_PAGE = 100
KINDS = ("methodology", "commitment")
WEIGHTS = (10.0, 4.0, 1.0)  # SQLite's bm25 weights of title, summary, body (PostgreSQL: A, B, C)


class Filters(msgspec.Struct, kw_only=True):
    """What narrows a search (every one optional)."""

    kind: str | None = None
    pillar: str | None = None
    region: str | None = None
    subdere: int | None = None
    band: int | None = None
    status: str | None = None
    has_resources: bool | None = None
    license: str | None = None


def _invalid(path: str, es: str, en: str, value: Any = None) -> InvalidInputError:
    return InvalidInputError(es, en, errors=[{"path": path, "message": en, "value": value}], code=f"library.{path}")


class LibraryService:
    """Search (API, CLI, dashboard) and the index kept current by the harvest."""

    def __init__(self, db: Database, *, population_bands: list[int]) -> None:
        self.db = db
        self.bands = population_bands

    async def on_accepted(self, session: AsyncSession, accepted: list[AcceptedFeed]) -> None:
        """History listener: re-index the communes whose version became current, in that transaction."""
        await keep_current(session, accepted)

    async def rebuild(self) -> int:
        """Re-index every commune's current version."""
        return await rebuild(self.db)

    def _checked(self, q: str, filters: Filters, page: int, limit: int) -> Query:
        if len(q) > MAX_QUERY_CHARS:
            raise _invalid(
                "q",
                f"la búsqueda supera {MAX_QUERY_CHARS} caracteres",
                f"the query exceeds {MAX_QUERY_CHARS} characters",
                len(q),
            )
        if "\x00" in q:
            raise _invalid("q", "la búsqueda contiene un carácter nulo", "the query contains a NUL character")
        query = parse(q)
        if query.empty:
            raise _invalid(
                "q",
                "la búsqueda no tiene palabras que buscar (solo palabras vacías o exclusiones)",
                "the query has no words to search for (only stop words or exclusions)",
                q[:80],
            )
        if filters.kind is not None and filters.kind not in KINDS:
            raise _invalid(
                "kind",
                "tipo desconocido: methodology o commitment",
                "unknown kind: methodology or commitment",
                filters.kind,
            )
        if filters.pillar is not None and filters.pillar not in {p.value for p in Pillar}:
            raise _invalid("pillar", "pilar desconocido", "unknown pillar", filters.pillar)
        if filters.status is not None and filters.status not in {s.value for s in MilestoneStatus}:
            raise _invalid("status", "estado desconocido", "unknown status", filters.status)
        if filters.band is not None and not 1 <= filters.band <= len(self.bands) + 1:
            raise _invalid(
                "band",
                f"tramo de población entre 1 y {len(self.bands) + 1}",
                f"population band from 1 to {len(self.bands) + 1}",
                filters.band,
            )
        if not 1 <= page <= MAX_PAGE:
            raise _invalid("page", f"página entre 1 y {MAX_PAGE}", f"page from 1 to {MAX_PAGE}", page)
        if not 1 <= limit <= MAX_LIMIT:
            raise _invalid("limit", f"límite entre 1 y {MAX_LIMIT}", f"limit from 1 to {MAX_LIMIT}", limit)
        return query

    def _where(self, filters: Filters) -> list[Any]:
        conditions: list[Any] = []
        if filters.kind:
            conditions.append(_ROWS.c.kind == filters.kind)
        if filters.pillar:
            conditions.append(_ROWS.c.pillars.like(f"% {filters.pillar} %"))
        if filters.status:
            conditions.append(_ROWS.c.status == filters.status)
        if filters.has_resources is not None:
            conditions.append(_ROWS.c.has_resources.is_(filters.has_resources))
        if filters.license:
            conditions.append(func.lower(_ROWS.c.license) == filters.license.lower())
        if filters.region:
            conditions.append(Commune.region_cut == filters.region)
        if filters.subdere is not None:
            conditions.append(func.coalesce(Commune.subdere_group, Commune.declared_subdere_group) == filters.subdere)
        if filters.band is not None:
            population = func.coalesce(Commune.population, Commune.declared_population)
            low = self.bands[filters.band - 2] if filters.band >= 2 else None
            high = self.bands[filters.band - 1] if filters.band <= len(self.bands) else None
            if low is not None:
                conditions.append(population > low)
            if high is not None:
                conditions.append(population <= high)
        return conditions

    async def search(self, q: str, filters: Filters | None = None, *, page: int = 1, limit: int = 20) -> SearchPage:
        """The entries matching ``q`` (Spanish: accents, plurals, verb forms), best first."""
        chosen = filters or Filters()
        query = self._checked(q, chosen, page, limit)
        async with self.db.sessions() as session:
            matched = await _matching(session, query, self._where(chosen))
            total = int(await session.scalar(select(func.count()).select_from(matched.subquery())) or 0)
            rows = (await session.execute(_ranked(matched).limit(limit).offset((page - 1) * limit))).all()
        wanted = query.stems()
        hits = [_hit(row, wanted) for row in rows]
        return SearchPage(query=q, total=total, page=page, limit=limit, hits=hits, ignored=query.ignored)

    async def suggest(self, description: str, *, cut: str | None = None, limit: int = 10) -> list[Suggestion]:
        """Who already did this: what is most like ``description`` elsewhere, peers and proven work first.

        Candidates are the best text matches of any of the description's words (up to 50, the commune's
        own left out); each is then scored ``text × (1 + 0.3 same region + 0.3 same SUBDERE group + 0.4
        share of its milestones completed with evidence)`` (a methodology with resources counts 0.5).
        """
        if len(description) > MAX_QUERY_CHARS * 4:
            raise _invalid("text", "la descripción supera 2000 caracteres", "the description exceeds 2000 characters")
        query = any_of(description, most=SUGGEST_WORDS)
        if query.empty:
            raise _invalid(
                "text", "la descripción no tiene palabras que buscar", "the description has no words to look for"
            )
        async with self.db.sessions() as session:
            me = await session.get(Commune, cut) if cut else None
            if cut is not None and me is None:
                raise NotFoundError(f"comuna {cut} no registrada", f"commune {cut} is not registered")
            conditions = [_ROWS.c.cut != cut] if cut else []
            matched = await _matching(session, query, conditions)
            rows = (await session.execute(_ranked(matched).limit(CANDIDATES))).all()
        if not rows:
            return []
        best = max(float(row.score) for row in rows) or 1.0
        wanted = query.stems()
        scored = []
        for row in rows:
            region = me is not None and row.region_cut == me.region_cut
            group = me is not None and row.subdere is not None and row.subdere == _group(me)
            proven = (row.evidenced / row.milestones) if row.milestones else (0.5 if row.has_resources else 0.0)
            value = float(row.score) / best * (1 + 0.3 * region + 0.3 * group + 0.4 * proven)
            reasons = [name for name, on in (("same_region", region), ("same_subdere_group", group)) if on]
            if proven >= 0.5:
                reasons.append("completed_with_evidence" if row.milestones else "has_resources")
            scored.append(Suggestion(hit=_hit(row, wanted), score=round(value, 6), reasons=reasons))
        scored.sort(key=lambda item: (-item.score, item.hit.cut, item.hit.key))
        return scored[:limit]

    async def methodology(self, cut: str, key: str) -> MethodologyView:
        """One methodology with its adoptions and lineage."""
        async with self.db.sessions() as session:
            found = await methodology(session, cut, key)
        if found is None:
            raise NotFoundError(
                f"la metodología {key} de {cut} no está en la biblioteca",
                f"methodology {key} of {cut} is not in the library",
            )
        return found

    async def cooperation(self, cut: str) -> Cooperation:
        """What a commune adopted and what others adopted from it."""
        async with self.db.sessions() as session:
            if await session.get(Commune, cut) is None:
                raise NotFoundError(f"comuna {cut} no registrada", f"commune {cut} is not registered")
            return await commune_cooperation(session, cut)

    async def suggestions(
        self, cut: str, *, per_commitment: int = 3, page: int = 1, limit: int = 10
    ) -> list[CommitmentSuggestions]:
        """For each current commitment of ``cut`` (a page of ``limit``, by id), who elsewhere already did it."""
        if not 1 <= page <= MAX_PAGE:
            raise _invalid("page", f"página entre 1 y {MAX_PAGE}", f"page from 1 to {MAX_PAGE}", page)
        if not 1 <= limit <= MAX_LIMIT:
            raise _invalid("limit", f"límite entre 1 y {MAX_LIMIT}", f"limit from 1 to {MAX_LIMIT}", limit)
        async with self.db.sessions() as session:
            if await session.get(Commune, cut) is None:
                raise NotFoundError(f"comuna {cut} no registrada", f"commune {cut} is not registered")
            own = (
                await session.execute(
                    select(_ROWS.c.key, _ROWS.c.title, _ROWS.c.summary)
                    .where(_ROWS.c.cut == cut, _ROWS.c.kind == "commitment")
                    .order_by(_ROWS.c.key)
                    .limit(limit)
                    .offset((page - 1) * limit)
                )
            ).all()
        out = []
        for row in own:
            try:
                found = await self.suggest(f"{row.title} {row.summary}"[:2000], cut=cut, limit=per_commitment)
            except InvalidInputError:
                found = []
            out.append(CommitmentSuggestions(key=row.key, title=row.title, suggestions=found))
        return out


CANDIDATES = 50
SUGGEST_WORDS = 6  # the longest words of a description: the most telling, and few enough to match few documents


def _group(commune: Commune) -> int | None:
    return commune.subdere_group if commune.subdere_group is not None else commune.declared_subdere_group


async def _matching(session: AsyncSession, query: Query, conditions: list[Any]) -> Any:
    """The select of the entries matching ``query`` (with the commune's name, region and group, and a score)."""
    postgres = (await session.connection()).dialect.name == "postgresql"
    base = select(
        _ROWS,
        Commune.name.label("commune"),
        Commune.region_cut.label("region_cut"),
        func.coalesce(Commune.subdere_group, Commune.declared_subdere_group).label("subdere"),
    ).join(Commune, Commune.cut == _ROWS.c.cut)
    if postgres:
        configuration: Any = literal_column(f"'{SEARCH_CONFIGURATION}'::regconfig")  # a constant
        tsq = func.to_tsquery(configuration, sql_cast(literal(tsquery(query)), Text))
        score: Any = func.ts_rank(_ROWS.c.search, tsq)
        matched = base.add_columns(score.label("score")).where(_ROWS.c.search.op("@@")(tsq))
    else:
        fts = text("library_fts MATCH :match").bindparams(match=fts5_match(query))
        score = literal_column(f"-bm25(library_fts, {WEIGHTS[0]}, {WEIGHTS[1]}, {WEIGHTS[2]})")
        matched = base.add_columns(score.label("score")).join(_FTS, _FTS.c.rowid == _ROWS.c.id).where(fts)
    return matched.where(and_(*conditions)) if conditions else matched


def _ranked(matched: Any) -> Any:
    return matched.order_by(literal_column("score").desc(), _ROWS.c.id)


def _hit(row: Any, wanted: set[str]) -> SearchHit:
    return SearchHit(
        kind=row.kind,
        cut=row.cut,
        commune=row.commune,
        key=row.key,
        title=row.title,
        title_html=highlight(row.title, wanted, width=400),
        snippet_html=highlight(row.summary, wanted) if row.summary else highlight(row.body, wanted),
        score=round(float(row.score), 6),
        pillars=row.pillars.split(),
        status=row.status,
        progress=row.progress,
        milestones=row.milestones,
        completed=row.completed,
        evidenced=row.evidenced,
        has_resources=row.has_resources,
        license=row.license,
        synthetic=row.synthetic,
        version_id=row.version_id,
        detail=row.detail,
    )
