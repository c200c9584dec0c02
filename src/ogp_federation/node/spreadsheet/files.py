"""Workbook files: XLSX (one sheet per table) and a zip of CSV files, read with bomb and size guards."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from ogp_federation.core.errors import PayloadTooLargeError, UnsupportedMediaError

from .layout import all_sheets
from .tables import FORMULA_START, Table

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


def _read_xlsx(content: bytes) -> dict[str, Table]:
    # openpyxl parses with defusedxml (installed with this package): a DOCTYPE or an entity is refused.
    # Whatever a damaged or hostile file makes the parser raise is the file's fault, never a 500: the
    # exceptions are many (XML, zip, value and key errors), so every one of them is turned into a 415.
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except PayloadTooLargeError:
        raise
    except Exception as exc:
        raise _damaged(None, exc) from exc
    try:
        tables = {}
        for worksheet in workbook.worksheets:
            try:
                tables[worksheet.title] = _table(worksheet.iter_rows(values_only=True), worksheet.title)
            except PayloadTooLargeError:
                raise
            except Exception as exc:
                raise _damaged(worksheet.title, exc) from exc
        return tables
    finally:
        workbook.close()


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
        try:
            text = archive.read(info).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UnsupportedMediaError(f"{info.filename} no está en UTF-8", f"{info.filename} is not UTF-8") from exc
        try:
            tables[name] = _table(csv.reader(io.StringIO(text, newline="")), name)
        except csv.Error as exc:
            raise UnsupportedMediaError(
                f"{info.filename} no es un CSV legible", f"{info.filename} is not a readable CSV", detail=str(exc)
            ) from exc
    return tables


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
    return out.getvalue()
