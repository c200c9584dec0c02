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
from .text import MAX_QUERY_CHARS, Query, any_of, fts5_match, highlight, parse, tsquery, words

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
        if not 1 <= limit <= MAX_LIMIT:
            raise _invalid("limit", f"límite entre 1 y {MAX_LIMIT}", f"limit from 1 to {MAX_LIMIT}", limit)
        if page < 1 or (page - 1) * limit >= WINDOW:
            last = -(-WINDOW // limit)
            raise _invalid(
                "page",
                f"página entre 1 y {last}: se muestran los {WINDOW} mejores resultados (precise la búsqueda)",
                f"page from 1 to {last}: the best {WINDOW} results are shown (narrow the query)",
                page,
            )
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
        """The entries matching ``q`` (Spanish: accents, plurals, verb forms), best first.

        At most ``WINDOW`` entries are ranked (see :func:`_window`): ``total`` is exact up to that many
        and ``total_exact`` says when there are more.
        """
        chosen = filters or Filters()
        query = self._checked(q, chosen, page, limit)
        async with self.db.sessions() as session:
            window, more = await _window(session, query, self._where(chosen))
            best = await _best(session, window, limit, (page - 1) * limit)
        wanted = query.stems()
        hits = [_hit(row, score, wanted) for row, score in best]
        total = len(window) if not more else WINDOW
        return SearchPage(
            query=q, total=total, total_exact=not more, page=page, limit=limit, hits=hits, ignored=query.ignored
        )

    async def suggest(self, description: str, *, cut: str | None = None, limit: int = 10) -> list[Suggestion]:
        """Who already did this: what is most like ``description`` elsewhere, peers and proven work first.

        Candidates are the entries holding at least half of the description's six longest words (any one
        of them when that finds too few), the best 50 by text (the commune's own left out); each is then
        scored ``text × (1 + 0.3 same region + 0.3 same SUBDERE group + 0.4 share of its milestones
        completed with evidence)`` (a methodology with resources counts 0.5).
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
            window, _ = await _window(session, query, conditions, titles=False, size=SUGGEST_WINDOW)
            if len(window) < limit and query.at_least > 1:  # too close: any of the words will do
                query = query.relaxed()
                window, _ = await _window(session, query, conditions, titles=False, size=SUGGEST_WINDOW)
            rows = await _best(session, window, CANDIDATES, 0)
        if not rows:
            return []
        best = max(score for _, score in rows) or 1.0
        wanted = query.stems()
        scored = []
        for row, text_score in rows:
            region = me is not None and row.region_cut == me.region_cut
            group = me is not None and row.subdere is not None and row.subdere == _group(me)
            proven = (row.evidenced / row.milestones) if row.milestones else (0.5 if row.has_resources else 0.0)
            value = text_score / best * (1 + 0.3 * region + 0.3 * group + 0.4 * proven)
            reasons = [name for name, on in (("same_region", region), ("same_subdere_group", group)) if on]
            if proven >= 0.5:
                reasons.append("completed_with_evidence" if row.milestones else "has_resources")
            scored.append(Suggestion(hit=_hit(row, text_score, wanted), score=round(value, 6), reasons=reasons))
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
            # The title names the commitment in the commune's own words; a short one is helped by its summary.
            description = row.title if len(words(row.title)) >= TITLE_WORDS else f"{row.title} {row.summary}"
            try:
                found = await self.suggest(description[:2000], cut=cut, limit=per_commitment)
            except InvalidInputError:
                found = []
            out.append(CommitmentSuggestions(key=row.key, title=row.title, suggestions=found))
        return out


CANDIDATES = 50
SUGGEST_WINDOW = 250  # matches of a description scored: they already hold half its words
TITLE_WORDS = 3  # a commitment's title with this many words says enough to look for it elsewhere
SUGGEST_WORDS = 6  # the longest words of a description: the most telling, and few enough to match few documents


def _group(commune: Commune) -> int | None:
    return commune.subdere_group if commune.subdere_group is not None else commune.declared_subdere_group


WINDOW = 1000  # entries ranked for one query: a page never reaches past them


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _tsquery(query: Query) -> Any:
    configuration: Any = literal_column(f"'{SEARCH_CONFIGURATION}'::regconfig")  # a constant
    return func.to_tsquery(configuration, sql_cast(literal(tsquery(query)), Text))


async def _window(
    session: AsyncSession, query: Query, conditions: list[Any], *, titles: bool = True, size: int | None = None
) -> tuple[dict[int, float], bool]:
    """The entries that are ranked for ``query`` with their scores, and whether more entries match.

    Ranking every match would cost as much as the matches are many (a word common in open-government
    plans matches most of a large federation), so at most ``WINDOW`` matches are ranked, read straight
    from the full-text index and scored as they are read. When there are more, the matches whose title
    holds the whole query (read from the titles' own index) join them, so that the strongest results
    are not left out (unless ``titles`` is false: suggestions re-rank their candidates anyway).
    """
    postgres = _postgres(session)
    tsq = _tsquery(query)
    if postgres:
        score: Any = func.ts_rank(_ROWS.c.search, tsq)
        matches: Any = _ROWS.c.search.op("@@")(tsq)
        title = func.ts_filter(_ROWS.c.search, literal_column("'{a}'::\"char\"[]"))
        # the title's index finds them; the whole query (its exclusions too) is then checked row by row
        in_title: Any = title.op("@@")(tsq) & func.coalesce(matches, False)
        scored = select(_ROWS.c.id, score)
    else:
        score = literal_column(f"-bm25(library_fts, {WEIGHTS[0]}, {WEIGHTS[1]}, {WEIGHTS[2]})")
        matches = text("library_fts MATCH :match").bindparams(match=fts5_match(query))
        titled = select(_FTS.c.rowid).where(text("library_fts MATCH :title"))
        in_title = and_(matches, _ROWS.c.id.in_(titled.params(title=fts5_match(query, column="title"))))
        scored = select(_ROWS.c.id, score).join(_FTS, _FTS.c.rowid == _ROWS.c.id)
    window = size or WINDOW
    scored = scored.join(Commune, Commune.cut == _ROWS.c.cut).where(*conditions)
    rows = (await session.execute(scored.where(matches).limit(window + 1))).all()
    found = {int(key): float(value) for key, value in rows[:window]}
    if len(rows) <= window or not titles:
        return found, len(rows) > window
    rows = (await session.execute(scored.where(in_title).limit(WINDOW))).all()
    return found | {int(key): float(value) for key, value in rows}, True


async def _best(session: AsyncSession, scores: dict[int, float], limit: int, offset: int) -> list[tuple[Any, float]]:
    """The entries of ``scores`` from ``offset`` on, best first (ties by id), with their commune."""
    chosen = sorted(scores, key=lambda key: (-scores[key], key))[offset : offset + limit]
    if not chosen:
        return []
    query = (
        select(
            _ROWS,
            Commune.name.label("commune"),
            Commune.region_cut.label("region_cut"),
            func.coalesce(Commune.subdere_group, Commune.declared_subdere_group).label("subdere"),
        )
        .join(Commune, Commune.cut == _ROWS.c.cut)
        .where(_ROWS.c.id.in_(chosen))
    )
    rows = {row.id: row for row in (await session.execute(query)).all()}
    return [(rows[key], scores[key]) for key in chosen if key in rows]


def _hit(row: Any, score: float, wanted: set[str]) -> SearchHit:
    return SearchHit(
        kind=row.kind,
        cut=row.cut,
        commune=row.commune,
        key=row.key,
        title=row.title,
        title_html=highlight(row.title, wanted, width=400),
        snippet_html=highlight(row.summary, wanted) if row.summary else highlight(row.body, wanted),
        score=round(score, 6),
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
