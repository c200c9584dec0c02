"""Records ↔ tables (sheet name → header and rows), independent of the file format.

Reading remembers where every value came from, so that a finding at ``$.milestones[3].due`` can be
reported as "sheet hitos, row 5, column vencimiento".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ogp_federation.feed import Entity

from .layout import PARENT, Column, Sheet, all_sheets, scalar_kind

__all__ = ["FORMULA_START", "Cell", "ParsedTables", "Table", "records_to_tables", "tables_to_records"]

CHILE = ZoneInfo("America/Santiago")
# What makes a spreadsheet read a text cell as a formula (CSV injection, OWASP): such texts are written
# with a leading apostrophe, which the import removes again.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Table:
    """One sheet as read: its header and its non-empty rows with their 1-based row numbers."""

    headers: list[str]
    rows: list[tuple[int, list[Any]]]


@dataclass(frozen=True)
class Cell:
    """Where a value is in the workbook."""

    sheet: str
    row: int
    column: str | None

    def describe(self) -> str:
        """e.g. ``hitos, fila 5, columna vencimiento``."""
        where = f"{self.sheet}, fila {self.row}"
        return f"{where}, columna {self.column}" if self.column else where


@dataclass
class ParsedTables:
    """Records read from tables, where each value came from, and the problems found while reading."""

    records: dict[Entity, list[dict[str, Any]]] = field(default_factory=dict)
    cells: dict[str, Cell] = field(default_factory=dict)
    errors: list[dict[str, object]] = field(default_factory=list)

    def locate(self, path: str) -> Cell | None:
        """The cell behind a JSON path (the longest known prefix of it)."""
        while path:
            if path in self.cells:
                return self.cells[path]
            cut = max(path.rfind("."), path.rfind("["))
            if cut <= 0:
                return None
            path = path[:cut]
        return None


def _error(cell: Cell, message: str, message_en: str) -> dict[str, object]:
    return {
        "sheet": cell.sheet,
        "row": cell.row,
        "column": cell.column,
        "cell": cell.describe(),
        "rule": "spreadsheet",
        "message": message,
        "message_en": message_en,
    }


# Export -----------------------------------------------------------------------------------------


def _get(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = record
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _out(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if column.kind == "list":
        return ", ".join(str(item) for item in value)
    if scalar_kind(column.type) == "date" and isinstance(value, str):
        return date.fromisoformat(value)
    return value


def records_to_tables(records: dict[Entity, list[dict[str, Any]]]) -> dict[str, list[list[Any]]]:
    """Every sheet's rows (without the header) for these records; child sheets included."""
    tables: dict[str, list[list[Any]]] = {sheet.name: [] for sheet in all_sheets()}
    for sheet in all_sheets():
        if sheet.is_child:
            continue
        collection = sheet.collection
        for record in records.get(collection.entity, []):
            tables[sheet.name].append([_out(column, _get(record, column.path)) for column in sheet.columns])
            key = record[collection.key]
            for child in _descendants(sheet):
                for item in _get(record, child.list_path) or []:
                    row = [key] + [
                        _out(column, item if column.kind == "text_item" else _get(item, column.path))
                        for column in child.columns
                    ]
                    tables[child.name].append(row)
    return tables


def _descendants(sheet: Sheet) -> list[Sheet]:
    out = []
    for child in sheet.children:
        out.append(child)
        out.extend(_descendants(child))
    return out


# Import -----------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    if text.startswith("'") and text[1:2] in FORMULA_START:
        return text[1:]  # the guard written by the CSV export
    return text


def _in(column: Column, value: Any) -> Any:  # noqa: PLR0911 (one return per kind of cell)
    """A cell's value as the record wants it; anything doubtful is passed on for the validator to judge."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if column.kind == "list":
        return [part.strip() for part in _text(value).split(",") if part.strip()]
    kind = scalar_kind(column.type)
    if kind == "date":
        if isinstance(value, datetime):
            return value.date().isoformat()
        return value.isoformat() if isinstance(value, date) else _text(value)
    if kind == "datetime":
        if isinstance(value, datetime):
            moment = value
        else:
            try:
                moment = datetime.fromisoformat(_text(value))
            except ValueError:
                return _text(value)
        return (moment if moment.tzinfo else moment.replace(tzinfo=CHILE)).isoformat()
    if kind in ("int", "float"):
        return _number(value, kind)
    if column.header == "cut" and isinstance(value, int | float):
        return f"{int(value):05d}"
    return _text(value)


def _number(value: Any, kind: str) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return int(value) if isinstance(value, float) and value.is_integer() else value
    text = _text(value).replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # Chilean decimal comma
    try:
        number = float(text)
    except ValueError:
        return _text(value)
    return int(number) if number.is_integer() else number


def _put(record: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target = record
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value


def tables_to_records(tables: dict[str, Table]) -> ParsedTables:
    """Records from tables; every problem of layout (sheets, columns, orphan rows) is listed."""
    parsed = ParsedTables()
    known = {sheet.name for sheet in all_sheets()}
    for name in tables:
        if name not in known:
            parsed.errors.append(
                _error(Cell(name, 1, None), "hoja desconocida", f"unknown sheet (expected: {', '.join(sorted(known))})")
            )
    for sheet in all_sheets():
        if sheet.name not in tables:
            parsed.errors.append(_error(Cell(sheet.name, 0, None), "falta la hoja", "missing sheet"))
    if parsed.errors:
        return parsed
    for sheet in all_sheets():
        if not sheet.is_child:
            _read_main(sheet, tables[sheet.name], parsed)
    for sheet in all_sheets():
        if sheet.is_child:
            _read_child(sheet, tables[sheet.name], parsed)
    return parsed


def _columns(sheet: Sheet, table: Table, parsed: ParsedTables) -> dict[int, Column] | None:
    expected = sheet.headers()
    headers = [str(h).strip() if h is not None else "" for h in table.headers]
    by_header = {column.header: column for column in sheet.columns}
    positions: dict[int, Column] = {}
    ok = True
    for index, header in enumerate(headers):
        if not header:
            continue
        if header not in expected:
            parsed.errors.append(_error(Cell(sheet.name, 1, header), "columna desconocida", "unknown column"))
            ok = False
        elif header != PARENT:
            positions[index] = by_header[header]
    for header in expected:
        if header not in headers:
            parsed.errors.append(_error(Cell(sheet.name, 1, header), "falta la columna", "missing column"))
            ok = False
    return positions if ok else None


def _read_main(sheet: Sheet, table: Table, parsed: ParsedTables) -> None:
    positions = _columns(sheet, table, parsed)
    records = parsed.records.setdefault(sheet.collection.entity, [])
    if positions is None:
        return
    entity = sheet.collection.entity.value
    for row_number, values in table.rows:
        index = len(records)
        record: dict[str, Any] = {}
        parsed.cells[f"$.{entity}[{index}]"] = Cell(sheet.name, row_number, None)
        for position, column in positions.items():
            value = _in(column, values[position] if position < len(values) else None)
            parsed.cells[f"$.{entity}[{index}]." + ".".join(column.path)] = Cell(sheet.name, row_number, column.header)
            if value is not None:
                _put(record, column.path, value)
        records.append(record)


def _read_child(sheet: Sheet, table: Table, parsed: ParsedTables) -> None:
    positions = _columns(sheet, table, parsed)
    if positions is None:
        return
    collection = sheet.collection
    entity = collection.entity.value
    records = parsed.records.get(collection.entity, [])
    by_key = {record.get(collection.key): index for index, record in enumerate(records)}
    parent_position = [str(h).strip() if h is not None else "" for h in table.headers].index(PARENT)
    for row_number, values in table.rows:
        key = _text(values[parent_position]) if parent_position < len(values) and values[parent_position] else ""
        if key not in by_key:
            parsed.errors.append(
                _error(
                    Cell(sheet.name, row_number, PARENT),
                    f"«{key}» no es un registro de la hoja principal",
                    f"'{key}' is not a record of the main sheet",
                )
            )
            continue
        index = by_key[key]
        items = _list_at(records[index], sheet.list_path)
        item_path = f"$.{entity}[{index}]." + ".".join(sheet.list_path) + f"[{len(items)}]"
        parsed.cells[item_path] = Cell(sheet.name, row_number, None)
        if any(column.kind == "text_item" for column in positions.values()):
            column = next(iter(positions.values()))
            items.append(_in(column, values[next(iter(positions))]) or "")
            parsed.cells[item_path] = Cell(sheet.name, row_number, column.header)
            continue
        item: dict[str, Any] = {}
        for position, column in positions.items():
            value = _in(column, values[position] if position < len(values) else None)
            parsed.cells[item_path + "." + ".".join(column.path)] = Cell(sheet.name, row_number, column.header)
            if value is not None:
                _put(item, column.path, value)
        items.append(item)


def _list_at(record: dict[str, Any], path: tuple[str, ...]) -> list[Any]:
    target = record
    for part in path[:-1]:
        target = target.setdefault(part, {})
    items: list[Any] = target.setdefault(path[-1], [])
    return items
