"""Records ↔ tables (sheet name → header and rows), independent of the file format.

Reading remembers where every value came from, so that a finding at ``$.milestones[3].due`` can be
reported as "sheet hitos, row 5, column vencimiento".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ogp_federation.feed import Entity
from ogp_federation.feed.labels import label, parse_label

from .layout import AUXILIARY_SHEETS, PARENT, Column, Sheet, all_sheets, scalar_kind

__all__ = [
    "EXCEL_ERRORS",
    "FORMULA_START",
    "Cell",
    "ParsedTables",
    "Refused",
    "Table",
    "records_to_tables",
    "tables_to_records",
]

CHILE = ZoneInfo("America/Santiago")
# What makes a spreadsheet read a text cell as a formula (CSV injection, OWASP): such texts are written
# with a leading apostrophe, which the import removes again.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# What Excel writes in a cell whose formula failed: never a value to import.
EXCEL_ERRORS = frozenset(
    {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA", "#SPILL!", "#CALC!"}
)


@dataclass(frozen=True)
class Refused:
    """A cell whose content cannot be imported as it stands (a formula, an Excel error, a merged cell…)."""

    message: str
    message_en: str


class _CellError(Exception):
    def __init__(self, refused: Refused) -> None:
        super().__init__(refused.message_en)
        self.refused = refused


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


def _error(cell: Cell, message: str, message_en: str, rule: str = "spreadsheet") -> dict[str, object]:
    return {
        "sheet": cell.sheet,
        "row": cell.row,
        "column": cell.column,
        "cell": cell.describe(),
        "rule": rule,
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
    if scalar_kind(column.type) == "enum":  # a person reads and types the Spanish label
        if column.kind == "list":
            return ", ".join(_label_of(column.type, item) for item in value)
        return _label_of(column.type, value)
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
    """A cell's value as the record wants it; anything doubtful is passed on for the validator to judge.

    A cell that cannot be read without guessing (:class:`Refused`) raises :class:`_CellError`.
    """
    if isinstance(value, Refused):
        raise _CellError(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and value.strip().upper() in EXCEL_ERRORS:
        raise _CellError(
            Refused(
                f"la celda tiene el error de Excel {value.strip()}: corrija la fórmula y escriba el valor",
                f"the cell holds the Excel error {value.strip()}: fix the formula behind it and type the value",
            )
        )
    kind = scalar_kind(column.type)
    if kind == "enum":  # the Spanish label or the code; a list holds several, comma-separated
        if column.kind == "list":
            return [_code(column, part.strip()) for part in _text(value).split(",") if part.strip()]
        return _code(column, _text(value))
    if column.kind == "list":
        return [part.strip() for part in _text(value).split(",") if part.strip()]
    if kind == "date":
        if isinstance(value, datetime):
            return value.date().isoformat()
        return value.isoformat() if isinstance(value, date) else _text(value)
    if kind == "datetime":
        return _moment(value)
    if kind in ("int", "float"):
        return _number(value, kind)
    if column.header == "cut" and isinstance(value, int | float):
        return f"{int(value):05d}"
    return _text(value)


def _moment(value: Any) -> str:
    """A date and time cell in RFC 3339; a time without its offset is Chile's."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(_text(value))
        except ValueError:
            return _text(value)
    return (moment if moment.tzinfo else moment.replace(tzinfo=CHILE)).isoformat()


def _label_of(kind: Any, code: Any) -> str:
    try:
        return label(kind(code))
    except ValueError:  # not a value of the enumeration: written as stored, for the import to report
        return str(code)


def _code(column: Column, text: str) -> str:
    """The code an enumeration cell names, by its Spanish label or its code; else a refused cell."""
    kind: type[enum.Enum] = column.type
    value = parse_label(kind, text)
    if value is None:
        choices = ", ".join(f"«{label(v)}»" for v in kind)
        raise _CellError(
            Refused(
                f"«{text}» no es un valor de «{column.header}»; use uno de: {choices}",
                f"'{text}' is not a value of '{column.header}'; use one of: {', '.join(str(v.value) for v in kind)}",
            )
        )
    return str(value.value)


def _number(value: Any, kind: str) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return int(value) if isinstance(value, float) and value.is_integer() else value
    text = _text(value).replace(" ", "").replace("\u00a0", "")
    plain = _plain_number(text)
    if plain is None:
        return _text(value)  # not a number: the validator says so, with the cell
    try:
        number = float(plain)
    except ValueError:
        return _text(value)
    return int(number) if number.is_integer() else number


def _plain_number(text: str) -> str | None:
    """``text`` (a number as typed, in Chile's way or the English one) with a point as its only separator.

    Chile writes ``1.234,5``; English ``1,234.5``. Whatever only one reading allows is accepted:
    ``1.234,5``, ``1,234.5``, ``12.345.678``, ``0,5``, ``1,5``, ``2.75``. A single separator followed by
    exactly three digits (``1.234``, ``1,234``) is a thousand in one reading and a decimal in the
    other: it is refused (:class:`_CellError`) rather than guessed. None when it is not a number.
    """
    sign = text[:1] if text[:1] in "+-" else ""
    body = text[len(sign) :]
    if not body or any(c not in "0123456789.," for c in body):
        return None
    dots, commas = body.count("."), body.count(",")
    if dots and commas:  # both: the last one is the decimal separator, the other groups thousands
        decimal = "." if body.rfind(".") > body.rfind(",") else ","
        group = "," if decimal == "." else "."
        whole, _, fraction = body.rpartition(decimal)
        if whole.count(decimal) or not _grouped(whole, group):
            return None
        return f"{sign}{whole.replace(group, '')}.{fraction}"
    separator = "." if dots else "," if commas else ""
    if not separator:
        return sign + body
    parts = body.split(separator)
    if len(parts) > 2:  # only thousands can repeat
        return sign + "".join(parts) if _grouped(body, separator) else None
    whole, fraction = parts
    if len(fraction) == 3 and whole not in ("", "0") and not whole.startswith("0"):
        raise _CellError(
            Refused(
                f"«{text}» puede leerse como {whole}{fraction} o como {whole},{fraction}: escriba {whole}{fraction} "
                f"si es un número entero, o {whole},{fraction}0 si tiene decimales",
                f"'{text}' reads as {whole}{fraction} or as {whole}.{fraction}: type {whole}{fraction} for a whole "
                f"number, or {whole},{fraction}0 for a decimal one",
            )
        )
    return f"{sign}{whole or '0'}.{fraction}"


def _grouped(text: str, separator: str) -> bool:
    """Whether ``text`` is digits grouped by threes with ``separator`` (``12.345.678``)."""
    groups = text.split(separator)
    return 1 <= len(groups[0]) <= 3 and groups[0].isdigit() and all(len(g) == 3 and g.isdigit() for g in groups[1:])


def _read(column: Column, value: Any, cell: Cell, parsed: ParsedTables) -> Any:
    """:func:`_in`, with a cell that cannot be read recorded as an error of that cell (its value: None)."""
    try:
        return _in(column, value)
    except _CellError as problem:
        parsed.errors.append(_error(cell, problem.refused.message, problem.refused.message_en, "spreadsheet.cell"))
        return None


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
        if name not in known and name not in AUXILIARY_SHEETS:
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
            cell = Cell(sheet.name, row_number, column.header)
            value = _read(column, values[position] if position < len(values) else None, cell, parsed)
            parsed.cells[f"$.{entity}[{index}]." + ".".join(column.path)] = cell
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
            items.append(
                _read(column, values[next(iter(positions))], Cell(sheet.name, row_number, column.header), parsed) or ""
            )
            parsed.cells[item_path] = Cell(sheet.name, row_number, column.header)
            continue
        item: dict[str, Any] = {}
        for position, column in positions.items():
            cell = Cell(sheet.name, row_number, column.header)
            value = _read(column, values[position] if position < len(values) else None, cell, parsed)
            parsed.cells[item_path + "." + ".".join(column.path)] = cell
            if value is not None:
                _put(item, column.path, value)
        items.append(item)


def _list_at(record: dict[str, Any], path: tuple[str, ...]) -> list[Any]:
    target = record
    for part in path[:-1]:
        target = target.setdefault(part, {})
    items: list[Any] = target.setdefault(path[-1], [])
    return items
