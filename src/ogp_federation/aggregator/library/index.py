"""Keeping the library's index current: per accepted version (incremental) and from the history (rebuild).

An accepted version replaces the commune's entries with those of its new current version, so a record
a tombstone removed leaves the index with it. The weighted search text is written in the same
transaction: a ``tsvector`` on PostgreSQL, the stems in ``library_fts`` on SQLite.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, literal_column, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.aggregator.history import AcceptedFeed, FeedVersion, current_feed
from ogp_federation.core.db import Database
from ogp_federation.feed import PlanFeed
from ogp_federation.feed.enums import MilestoneStatus

from .models import SEARCH_CONFIGURATION, LibraryAdoption, LibraryEntry
from .text import stems

__all__ = ["entries_of", "insert_rows", "keep_current", "rebuild"]

_ROWS = cast(Table, LibraryEntry.__table__)
_LINKS = cast(Table, LibraryAdoption.__table__)
MAX_TEXT = 20_000  # characters of a field that are indexed (a feed's texts are bounded; this bounds the sum)
MAX_LINKS = 10


def _join(*parts: str | None) -> str:
    return "\n".join(part for part in parts if part)[:MAX_TEXT]


def _contact(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"name": value.name, "email": value.email, "url": value.url, "phone": getattr(value, "phone", None)}


def entries_of(cut: str, version_id: int, feed: PlanFeed) -> list[dict[str, Any]]:
    """The library's rows for one feed: its methodologies and its commitments with their milestones."""
    contact = _contact(feed.contact)
    rows: list[dict[str, Any]] = []
    for m in feed.methodologies:
        rows.append(
            {
                "cut": cut,
                "kind": "methodology",
                "key": m.id,
                "version_id": version_id,
                "title": m.title,
                "summary": _join(m.summary, m.problem),
                "body": _join(*m.steps, *(r.title for r in m.resources)),
                "pillars": " " + " ".join(p.value for p in m.pillars) + " ",
                "status": None,
                "progress": None,
                "milestones": 0,
                "completed": 0,
                "evidenced": 0,
                "has_resources": bool(m.resources),
                "license": m.license,
                "synthetic": feed.synthetic,
                "detail": {
                    "resources": [{"title": r.title, "url": r.url} for r in m.resources[:MAX_LINKS]],
                    "contact": _contact(m.contact) or contact,
                    "adopted_from": [{"cut": a.cut, "id": a.id} for a in m.adopted_from],
                    "commitment_ids": list(m.commitment_ids),
                },
            }
        )
    by_commitment: dict[str, list[Any]] = {}
    for milestone in feed.milestones:
        by_commitment.setdefault(milestone.commitment_id, []).append(milestone)
    for c in feed.commitments:
        own = by_commitment.get(c.id, [])
        done = [m for m in own if m.status is MilestoneStatus.COMPLETED]
        evidence = [e for m in done for e in m.evidence]
        rows.append(
            {
                "cut": cut,
                "kind": "commitment",
                "key": c.id,
                "version_id": version_id,
                "title": c.title,
                "summary": _join(c.problem, c.expected_results, c.policy_area),
                "body": _join(c.actions, c.status_quo, *(m.title for m in own), *(e.title for e in evidence)),
                "pillars": " " + " ".join(p.value for p in c.pillars) + " ",
                "status": c.status.value,
                "progress": c.progress,
                "milestones": len(own),
                "completed": len(done),
                "evidenced": sum(1 for m in done if m.evidence),
                "has_resources": bool(evidence),
                "license": feed.license,
                "synthetic": feed.synthetic,
                "detail": {
                    "evidence": [{"title": e.title, "url": e.url} for e in evidence[:MAX_LINKS]],
                    "contact": contact,
                    "milestones": [
                        {"id": m.id, "title": m.title, "status": m.status.value, "due": m.due.isoformat()}
                        for m in own[:50]
                    ],
                },
            }
        )
    return rows


# What an entry shows and is found by: an entry whose columns are all equal is not indexed again.
_COMPARED = (
    "title",
    "summary",
    "body",
    "pillars",
    "status",
    "progress",
    "milestones",
    "completed",
    "evidenced",
    "has_resources",
    "license",
    "synthetic",
    "detail",
)


async def _replace(session: AsyncSession, items: list[tuple[str, int, PlanFeed]]) -> None:
    """Bring the communes' entries to their new versions: only new and changed entries are written (and their
    search text computed); removed ones go; the others keep their row and take the new version's id."""
    cuts = sorted({cut for cut, _, _ in items})
    postgres = (await session.connection()).dialect.name == "postgresql"
    columns = [_ROWS.c.id, _ROWS.c.cut, _ROWS.c.kind, _ROWS.c.key, *(_ROWS.c[name] for name in _COMPARED)]
    query = select(*columns).where(_ROWS.c.cut.in_(cuts))
    stored = {(row.cut, row.kind, row.key): row for row in await session.execute(query)}
    written: list[dict[str, Any]] = []
    gone: list[int] = []
    for row in (row for cut, version_id, feed in items for row in entries_of(cut, version_id, feed)):
        old = stored.pop((row["cut"], row["kind"], row["key"]), None)
        if old is not None and all(getattr(old, name) == row[name] for name in _COMPARED):
            continue
        if old is not None:
            gone.append(old.id)  # changed: its row is replaced
        written.append(row)
    gone += [row.id for row in stored.values()]  # no longer in the feed
    if gone:
        if not postgres:
            await session.execute(
                text("DELETE FROM library_fts WHERE rowid IN :ids").bindparams(bindparam("ids", expanding=True)),
                {"ids": gone},
            )
        await session.execute(delete(_ROWS).where(_ROWS.c.id.in_(gone)))
    await session.execute(
        update(_ROWS).where(_ROWS.c.cut == bindparam("c")).values(version_id=bindparam("v")),
        [{"c": cut, "v": version_id} for cut, version_id, _ in items],
    )
    await session.execute(delete(_LINKS).where(_LINKS.c.adopter_cut.in_(cuts)))
    links = [
        {"adopter_cut": cut, "adopter_key": m.id, "source_cut": a.cut, "source_key": a.id}
        for cut, _, feed in items
        for m in feed.methodologies
        for a in m.adopted_from
    ]
    if links:
        await session.execute(insert(_LINKS), links)
    await insert_rows(session, written)


async def insert_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert entries (as :func:`entries_of` makes them) with their search text, in the session's transaction."""
    if not rows:
        return
    postgres = (await session.connection()).dialect.name == "postgresql"
    if postgres:
        configuration: Any = literal_column(f"'{SEARCH_CONFIGURATION}'::regconfig")  # a constant

        def weight(name: str, letter: str) -> Any:
            return func.setweight(func.to_tsvector(configuration, bindparam(name)), literal_column(f"'{letter}'"))

        weighted = weight("s_title", "A").op("||")(weight("s_summary", "B")).op("||")(weight("s_body", "C"))
        for row in rows:
            row |= {"s_title": stems(row["title"]), "s_summary": stems(row["summary"]), "s_body": stems(row["body"])}
        await session.execute(insert(_ROWS).values(search=weighted), rows)
        return
    before = int(await session.scalar(select(func.coalesce(func.max(_ROWS.c.id), 0))) or 0)
    await session.execute(insert(_ROWS), rows)
    # SQLite takes one writer at a time: the rows after ``before`` are the ones just inserted.
    fields = (_ROWS.c.id, _ROWS.c.title, _ROWS.c.summary, _ROWS.c.body)
    stored = (await session.execute(select(*fields).where(_ROWS.c.id > before))).all()
    await session.execute(
        text("INSERT INTO library_fts (rowid, title, summary, body) VALUES (:id, :title, :summary, :body)"),
        [{"id": r.id, "title": stems(r.title), "summary": stems(r.summary), "body": stems(r.body)} for r in stored],
    )


async def keep_current(session: AsyncSession, accepted: list[AcceptedFeed]) -> None:
    """Replace each commune's entries with those of the version that just became current (a listener)."""
    latest: dict[str, AcceptedFeed] = {}
    for item in accepted:  # a commune twice in one batch: its last version is the current one
        latest[item.cut] = item
    await _replace(session, [(item.cut, item.version_id, item.feed) for item in latest.values()])


async def rebuild(db: Database) -> int:
    """Re-index every commune's current accepted version; returns the number of entries."""
    async with db.sessions() as session:
        cuts = (await session.scalars(select(FeedVersion.cut).distinct().order_by(FeedVersion.cut))).all()
    async with db.transaction() as session:
        if (await session.connection()).dialect.name != "postgresql":
            await session.execute(text("DELETE FROM library_fts"))
        await session.execute(delete(_ROWS))
        await session.execute(delete(_LINKS))
    for cut in cuts:
        async with db.transaction() as session:
            found = await current_feed(session, cut)
            if found is not None:
                await _replace(session, [(cut, found[1], found[0])])
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(_ROWS)) or 0)
