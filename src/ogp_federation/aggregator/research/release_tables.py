"""The tables of a bulk release: what each holds, its typed columns, and its rows as of the cut-off.

One table per collection of the standard (its columns derived from the standard's own record types),
plus the indicator values the comparisons use, the publishers' quality scores and the registry. Rows are
sorted by their key, and nested values are canonical JSON (sorted keys), so the same history gives the
same rows.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.aggregator.benchmarks import BenchObservation
from ogp_federation.aggregator.history import RecordState
from ogp_federation.aggregator.quality import QualityScore
from ogp_federation.aggregator.registry import Commune, Node
from ogp_federation.feed.entities import COLLECTIONS, Collection

__all__ = ["Column", "Table", "TableRows", "read_tables"]

Value = str | int | float | bool | date | datetime | None


@dataclass(frozen=True)
class Column:
    """A column: its name, its Table Schema type (string, integer, number, boolean, date, datetime,
    object, array) and what it holds."""

    name: str
    type: str
    description: str = ""


@dataclass(frozen=True)
class Table:
    """A table of the release."""

    name: str
    title: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]


@dataclass(frozen=True)
class TableRows:
    """A table and its rows (tuples in the columns' order), sorted by the primary key."""

    table: Table
    rows: list[tuple[Value, ...]]


def _column_type(info: Any) -> str:
    """The Table Schema type of a msgspec type (optional types by what they hold)."""
    if isinstance(info, msgspec.inspect.Metadata):
        return _column_type(info.type)
    if isinstance(info, msgspec.inspect.UnionType):
        kinds = {_column_type(t) for t in info.types if not isinstance(t, msgspec.inspect.NoneType)}
        return kinds.pop() if len(kinds) == 1 else "string"
    simple = {
        msgspec.inspect.StrType: "string",
        msgspec.inspect.EnumType: "string",
        msgspec.inspect.LiteralType: "string",
        msgspec.inspect.IntType: "integer",
        msgspec.inspect.FloatType: "number",
        msgspec.inspect.BoolType: "boolean",
        msgspec.inspect.DateType: "date",
        msgspec.inspect.DateTimeType: "datetime",
        msgspec.inspect.ListType: "array",
        msgspec.inspect.StructType: "object",
        msgspec.inspect.DictType: "object",
    }
    return next((kind for cls, kind in simple.items() if isinstance(info, cls)), "string")


_PROVENANCE = (
    Column("cut", "string", "CUT of the commune that published the record."),
    Column("sequence", "integer", "The commune's feed sequence that brought the record as it is here."),
    Column("valid_from", "datetime", "When the version that brought it was accepted (UTC)."),
)


def _entity_table(collection: Collection) -> Table:
    info = msgspec.inspect.type_info(collection.record_type)
    assert isinstance(info, msgspec.inspect.StructType)  # noqa: S101 (every record type is a Struct)
    fields = tuple(Column(f.name, _column_type(f.type), _description(f.type)) for f in info.fields if f.name != "cut")
    entity = collection.entity.value
    return Table(
        name=entity,
        title=entity.replace("_", " "),
        description=f"Every commune's {entity.replace('_', ' ')} (Plan Feed v1), as of the release's cut-off.",
        columns=(*_PROVENANCE, *fields),
        primary_key=("cut", collection.key),
    )


def _description(info: Any) -> str:
    extra = getattr(info, "extra_json_schema", None) or {}
    return str(extra.get("description", "")) if isinstance(extra, dict) else ""


ENTITY_TABLES = {collection.entity.value: _entity_table(collection) for collection in COLLECTIONS}
INDICATOR_VALUES = Table(
    name="indicator_values",
    title="indicator values",
    description="The federation catalogue's indicator values per commune and period, as the comparisons use them.",
    columns=(
        Column("cut", "string"),
        Column("code", "string", "Catalogue indicator."),
        Column("period", "string"),
        Column("period_start", "date"),
        Column("period_end", "date"),
        Column("value", "number"),
        Column("unit", "string"),
        Column("denominator", "integer", "How many items the value counts over."),
        Column("provisional", "boolean", "The period had not ended when the value was computed."),
        Column("source", "string", "derived (from the plan) or published (by the commune)."),
        Column("synthetic", "boolean", "From a generated, not a real, plan."),
        Column("version_id", "integer", "The harvested version it comes from."),
        Column("observed_at", "datetime", "The feed's generation time."),
    ),
    primary_key=("cut", "code", "period"),
)
QUALITY_SCORES = Table(
    name="quality_scores",
    title="publisher data-quality scores",
    description="Each commune's daily data-quality score (docs/metodologia-calidad.md) up to the cut-off.",
    columns=(
        Column("cut", "string"),
        Column("day", "date"),
        Column("methodology", "string", "Version of the scoring methodology."),
        Column("overall", "number"),
        Column("timeliness", "number"),
        Column("completeness", "number"),
        Column("validity", "number"),
        Column("availability", "number"),
    ),
    primary_key=("cut", "day", "methodology"),
)
REGISTRY = Table(
    name="registry",
    title="communes and their nodes",
    description="Chile's 346 communes, their peer-group attributes and the node registered for each.",
    columns=(
        Column("cut", "string"),
        Column("name", "string"),
        Column("region_cut", "string"),
        Column("region", "string"),
        Column("province_cut", "string"),
        Column("province", "string"),
        Column("population", "integer", "Set by the association, else as the commune's feed declares it."),
        Column("subdere_group", "integer", "SUBDERE typology group, same precedence."),
        Column("node_url", "string", "Where the commune's node is (empty: not publishing)."),
    ),
    primary_key=("cut",),
)
TABLES = (*ENTITY_TABLES.values(), INDICATOR_VALUES, QUALITY_SCORES, REGISTRY)


def _cell(value: Any, kind: str) -> Value:
    if value is None:
        return None
    if kind in ("object", "array"):
        return msgspec.json.encode(msgspec.to_builtins(value), order="sorted").decode()
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, str | int | float | bool | date | datetime):
        return value
    return str(value)


async def read_tables(session: AsyncSession, cutoff: datetime) -> list[TableRows]:
    """Every table's rows as of ``cutoff`` (what was accepted by then, as it stood then)."""
    out = []
    states = RecordState
    by_entity: dict[str, list[Any]] = {name: [] for name in ENTITY_TABLES}
    query = select(states.cut, states.entity, states.data, states.valid_from_seq, states.valid_from).where(
        states.valid_from <= cutoff, or_(states.valid_to.is_(None), states.valid_to > cutoff)
    )
    for row in (await session.execute(query)).all():
        if row.entity in by_entity:
            by_entity[row.entity].append(row)
    for collection in COLLECTIONS:
        table = ENTITY_TABLES[collection.entity.value]
        rows: list[tuple[Value, ...]] = []
        for row in by_entity[collection.entity.value]:
            try:
                record: Any = msgspec.convert(row.data, collection.record_type)
                values = {column.name: getattr(record, column.name, None) for column in table.columns[3:]}
            except msgspec.ValidationError:  # stored under an older rule: its values as they are
                values = {column.name: row.data.get(column.name) for column in table.columns[3:]}
            cells = [row.cut, row.valid_from_seq, row.valid_from]
            cells += [_cell(values[column.name], column.type) for column in table.columns[3:]]
            rows.append(tuple(cells))
        position = table.columns.index(next(c for c in table.columns if c.name == collection.key))
        rows.sort(key=lambda cells: (str(cells[0]), str(cells[position])))
        out.append(TableRows(table, rows))
    out.append(TableRows(INDICATOR_VALUES, await _indicator_values(session, cutoff)))
    out.append(TableRows(QUALITY_SCORES, await _quality(session, cutoff)))
    out.append(TableRows(REGISTRY, await _registry(session)))
    return out


async def _indicator_values(session: AsyncSession, cutoff: datetime) -> list[tuple[Value, ...]]:
    o = BenchObservation
    query = (
        select(
            o.cut,
            o.code,
            o.period,
            o.period_start,
            o.period_end,
            o.value,
            o.unit,
            o.denominator,
            o.provisional,
            o.source,
            o.synthetic,
            o.version_id,
            o.observed_at,
        )
        .where(o.valid_from <= cutoff, or_(o.valid_to.is_(None), o.valid_to > cutoff))
        .order_by(o.cut, o.code, o.period)
    )
    return [tuple(row) for row in (await session.execute(query)).all()]


async def _quality(session: AsyncSession, cutoff: datetime) -> list[tuple[Value, ...]]:
    q = QualityScore
    query = (
        select(q.cut, q.day, q.methodology, q.overall, q.timeliness, q.completeness, q.validity, q.availability)
        .where(q.day <= cutoff.date(), q.computed_at <= cutoff)
        .order_by(q.cut, q.day, q.methodology)
    )
    return [tuple(row) for row in (await session.execute(query)).all()]


async def _registry(session: AsyncSession) -> list[tuple[Value, ...]]:
    query = (
        select(
            Commune.cut,
            Commune.name,
            Commune.region_cut,
            Commune.region,
            Commune.province_cut,
            Commune.province,
            Commune.population,
            Commune.declared_population,
            Commune.subdere_group,
            Commune.declared_subdere_group,
            Node.base_url,
        )
        .outerjoin(Node, Node.cut == Commune.cut)
        .order_by(Commune.cut)
    )
    rows: list[tuple[Value, ...]] = []
    for r in (await session.execute(query)).all():
        population = r.population if r.population is not None else r.declared_population
        group = r.subdere_group if r.subdere_group is not None else r.declared_subdere_group
        rows.append((r.cut, r.name, r.region_cut, r.region, r.province_cut, r.province, population, group, r.base_url))
    return rows
