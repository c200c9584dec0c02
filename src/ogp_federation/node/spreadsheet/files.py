"""Workbook files: XLSX (one sheet per table) and a zip of CSV files, read with bomb and size guards."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from defusedxml import DefusedXmlException, ElementTree
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import column_index_from_string

from ogp_federation.core.errors import PayloadTooLargeError, UnsupportedMediaError

from .guide import add_guide, instructions_text
from .layout import all_sheets
from .tables import FORMULA_START, Refused, Table

__all__ = ["MAX_ROWS", "read_workbook", "write_csv_zip", "write_xlsx"]

MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_RATIO = 200
MAX_ROWS = 200_000


def _check_zip(content: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        raise UnsupportedMediaError(
            "el archivo no es un XLSX ni un ZIP de CSV válido",
            "the file is neither a valid XLSX nor a ZIP of CSV files",
        ) from exc
    infos = archive.infolist()
    unpacked = sum(info.file_size for info in infos)
    if len(infos) > 2000 or unpacked > MAX_UNPACKED_BYTES or unpacked > MAX_RATIO * max(len(content), 1):
        raise PayloadTooLargeError(
            "el archivo descomprimido es demasiado grande (¿bomba zip?)",
            "the unpacked file is too large (a zip bomb?)",
        )
    return archive


def read_workbook(filename: str, content: bytes) -> dict[str, Table]:
    """The tables of an ``.xlsx`` file or a ``.zip`` of ``<sheet>.csv`` files."""
    archive = _check_zip(content)
    names = {info.filename for info in archive.infolist()}
    if "[Content_Types].xml" in names:
        return _read_xlsx(content)
    if filename.lower().endswith(".xlsx"):
        raise UnsupportedMediaError("el XLSX está dañado", "the XLSX file is damaged")
    return _read_csv_zip(archive)


def _table(rows: Any, sheet: str) -> Table:
    iterator = iter(rows)
    headers = list(next(iterator, ()) or ())
    body: list[tuple[int, list[Any]]] = []
    for number, row in enumerate(iterator, start=2):
        if number > MAX_ROWS:
            raise PayloadTooLargeError(
                f"la hoja {sheet} supera {MAX_ROWS} filas", f"sheet {sheet} has over {MAX_ROWS} rows"
            )
        values = list(row)
        if any(value is not None and str(value).strip() for value in values):
            body.append((number, values))
    return Table(headers, body)


# What openpyxl, zipfile and the XML parsers raise on a file that is not what it claims (an XML
# ParseError is a SyntaxError); a NameError or our own errors are bugs and stay what they are.
_DAMAGED = (
    SyntaxError,
    ValueError,
    LookupError,
    TypeError,
    AttributeError,
    EOFError,
    OSError,
    zipfile.BadZipFile,
    DefusedXmlException,
)


def _read_xlsx(content: bytes) -> dict[str, Table]:
    # openpyxl parses with defusedxml (installed with this package): a DOCTYPE or an entity is refused.
    # What a damaged or hostile file makes the parser raise is the file's fault, never a 500: the
    # exceptions are many (XML, zip, value and key errors: _DAMAGED), each turned into a 415.
    # Formulas are read as formulas (not their cached results) so that they can be refused.
    try:
        merged = _merged_cells(content)
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except _DAMAGED as exc:
        raise _damaged(None, exc) from exc
    try:
        tables = {}
        for worksheet in workbook.worksheets:
            try:
                rows = _cell_values(worksheet.iter_rows(min_row=1, min_col=1), merged.get(worksheet.title, {}))
                tables[worksheet.title] = _table(rows, worksheet.title)
            except _DAMAGED as exc:
                raise _damaged(worksheet.title, exc) from exc
        return tables
    finally:
        workbook.close()


def _cell_values(rows: Iterable[tuple[Any, ...]], merged: dict[tuple[int, int], str]) -> Iterator[list[Any]]:
    """Each row's values; a formula, an Excel error or a merged range is a :class:`Refused` value."""
    for row_number, row in enumerate(rows, start=1):  # read-only rows come one by one, gaps included
        values: list[Any] = []
        for column_number, cell in enumerate(row, start=1):
            kind, value = getattr(cell, "data_type", None), getattr(cell, "value", None)
            if (row_number, column_number) in merged:
                values.append(_merged(merged[(row_number, column_number)]))
            elif kind == "f":
                values.append(_formula(value))
            elif kind == "e":
                values.append(_excel_error(value))
            else:
                values.append(value)
        yield values


def _formula(formula: Any) -> Refused:
    text = str(getattr(formula, "text", formula))[:80]
    return Refused(
        f"la celda tiene una fórmula ({text}): escriba su resultado como valor (Copiar y Pegar valores)",
        f"the cell holds a formula ({text}): type its result as a value (copy, paste values)",
    )


def _merged(span: str) -> Refused:
    return Refused(
        f"las celdas {span} están combinadas: sepárelas y escriba el valor en cada fila y columna",
        f"cells {span} are merged: unmerge them and type the value in every row and column",
    )


def _excel_error(value: Any) -> Refused:
    return Refused(
        f"la celda tiene el error de Excel {value}: corrija la fórmula y escriba el valor",
        f"the cell holds the Excel error {value}: fix the formula behind it and type the value",
    )


_MERGE_CELL = re.compile(
    rb"""<(?:\w+:)?mergeCell\b[^>]*?\bref=["']([A-Z]{1,3})([0-9]{1,7})(?::([A-Z]{1,3})([0-9]{1,7}))?["']"""
)
_NAMESPACES = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "p": "http://schemas.openxmlformats.org/package/2006/relationships",
}


def _merged_cells(content: bytes) -> dict[str, dict[tuple[int, int], str]]:
    """For each sheet title, the (row, column) of the first cell of every merged range, with the range."""
    archive = zipfile.ZipFile(io.BytesIO(content))
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target", "") for rel in relations.findall("p:Relationship", _NAMESPACES)}
    out: dict[str, dict[tuple[int, int], str]] = {}
    for sheet in workbook.findall("m:sheets/m:sheet", _NAMESPACES):
        target = targets.get(sheet.get(f"{{{_NAMESPACES['r']}}}id"), "")
        path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        if path not in archive.namelist():
            continue
        ranges = {}
        for match in _MERGE_CELL.finditer(archive.read(path)):
            first, row = match.group(1).decode(), int(match.group(2))
            last = (match.group(3) or match.group(1)).decode() + (match.group(4) or match.group(2)).decode()
            ranges[(row, column_index_from_string(first))] = f"{first}{row}:{last}"
        if ranges:
            out[sheet.get("name", "")] = ranges
    return out


def _damaged(sheet: str | None, exc: Exception) -> UnsupportedMediaError:
    again_es, again_en = "guárdelo de nuevo desde Excel o LibreOffice", "save it again from Excel or LibreOffice"
    if sheet is None:
        message_es, message_en = "el XLSX está dañado o no es una planilla", "the XLSX is damaged or not a spreadsheet"
    else:
        message_es, message_en = f"la hoja «{sheet}» está dañada", f"sheet '{sheet}' is damaged"
    return UnsupportedMediaError(
        f"{message_es}; {again_es}", f"{message_en}; {again_en}", detail=f"{type(exc).__name__}: {exc}"[:200]
    )


def _read_csv_zip(archive: zipfile.ZipFile) -> dict[str, Table]:
    tables = {}
    for info in archive.infolist():
        if info.is_dir() or not info.filename.lower().endswith(".csv"):
            continue
        name = info.filename.rsplit("/", 1)[-1][:-4]
        text = _csv_text(archive.read(info))
        try:
            tables[name] = _table(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text)), name)
        except csv.Error as exc:
            raise UnsupportedMediaError(
                f"{info.filename} no es un CSV legible", f"{info.filename} is not a readable CSV", detail=str(exc)
            ) from exc
    return tables


def _csv_text(raw: bytes) -> str:
    """A CSV file's text: UTF-8 (with or without BOM), else Windows-1252 — what Excel in Spanish saves
    when "CSV (delimitado por comas)" is chosen instead of "CSV UTF-8"."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _delimiter(text: str) -> str:
    """``;`` when the header line is separated by semicolons (Excel with a Spanish locale), else ``,``."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def write_xlsx(tables: dict[str, list[list[Any]]]) -> bytes:
    """An XLSX workbook with one sheet per table, bold frozen headers and real date cells."""
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    for sheet in all_sheets():
        worksheet = workbook.create_sheet(sheet.name)
        worksheet.append(sheet.headers())
        for cell in worksheet[1]:
            cell.font = Font(bold=True)
        worksheet.freeze_panes = "A2"
        for row in tables.get(sheet.name, []):
            worksheet.append([_xlsx_value(value) for value in row])
            for cell in worksheet[worksheet.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text, never a formula, whatever it starts with
                elif isinstance(cell.value, date):
                    cell.number_format = "yyyy-mm-dd"
        for index, header in enumerate(sheet.headers(), start=1):
            worksheet.column_dimensions[worksheet.cell(1, index).column_letter].width = max(12, len(header) + 2)
    add_guide(workbook)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _xlsx_value(value: Any) -> Any:
    """A cell value XML can carry: a control character (refused by the standard since ruleset 1.2.0, but
    possibly in records stored before) is shown as U+FFFD instead of making the export fail."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value) if isinstance(value, str) else value


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float):  # a number, negative ones included, is read back as that number
        return str(value)
    text = value.isoformat() if isinstance(value, date) else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text  # no formulas when opened in a spreadsheet


def write_csv_zip(tables: dict[str, list[list[Any]]]) -> bytes:
    """A zip with one UTF-8 CSV per table (``<sheet>.csv``)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for sheet in all_sheets():
            text = io.StringIO(newline="")
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow(sheet.headers())
            writer.writerows([_csv_value(value) for value in row] for row in tables.get(sheet.name, []))
            # A fixed timestamp keeps the same plan's export byte-identical (reproducible, diffable).
            entry = zipfile.ZipInfo(f"{sheet.name}.csv", date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, "\ufeff" + text.getvalue())
        guide = zipfile.ZipInfo("LEAME.txt", date_time=(1980, 1, 1, 0, 0, 0))
        guide.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(guide, instructions_text())
    return out.getvalue()
