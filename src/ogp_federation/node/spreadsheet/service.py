"""Spreadsheet import (all or nothing, every bad cell reported) and export, on top of the plan service."""

from __future__ import annotations

from typing import Any

import msgspec

from ogp_federation.core.errors import InvalidInputError
from ogp_federation.feed import COLLECTIONS, Entity
from ogp_federation.node.records import ReplaceAll
from ogp_federation.node.runtime import NodeRuntime

from .files import read_workbook, write_csv_zip, write_xlsx
from .tables import ParsedTables, records_to_tables, tables_to_records

__all__ = ["FORMATS", "ImportResult", "export_workbook", "import_workbook"]

FORMATS = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "plan.xlsx"),
    "csv": ("application/zip", "plan-csv.zip"),
}


class ImportResult(msgspec.Struct, kw_only=True):
    """What an import did: the sequence published and the warnings left (each with its cell)."""

    sequence: int
    records: int
    warnings: list[dict[str, object]]


async def export_workbook(runtime: NodeRuntime, file_format: str, *, template: bool = False) -> bytes:
    """The plan (or an empty template) as ``xlsx`` or ``csv`` (zip)."""
    records: dict[Entity, list[dict[str, Any]]] = {}
    if not template:
        for collection in COLLECTIONS:
            records[collection.entity] = [r.data for r in await runtime.plan.list_records(collection.entity)]
    tables = records_to_tables(records)
    return write_xlsx(tables) if file_format == "xlsx" else write_csv_zip(tables)


def _locate(parsed: ParsedTables, finding: dict[str, object]) -> dict[str, object]:
    cell = parsed.locate(str(finding.get("path", "")))
    if cell is None:
        return finding
    return {**finding, "sheet": cell.sheet, "row": cell.row, "column": cell.column, "cell": cell.describe()}


async def import_workbook(runtime: NodeRuntime, filename: str, content: bytes, *, author: str) -> ImportResult:
    """Make the plan exactly what the workbook says, or change nothing and report every problem."""
    parsed = tables_to_records(read_workbook(filename, content))
    if parsed.errors and all(error["rule"] == "spreadsheet.cell" for error in parsed.errors):
        # Cells that cannot be read without guessing; the rest of the plan is checked too, so that every
        # problem is listed at once (a finding at a cell already refused adds nothing).
        refused = {(e["sheet"], e["row"], e["column"]) for e in parsed.errors}
        findings = [_locate(parsed, error) for error in runtime.plan.problems(ReplaceAll(parsed.records))]
        others = [f for f in findings if (f.get("sheet"), f.get("row"), f.get("column")) not in refused]
        errors = parsed.errors + others
        raise InvalidInputError(
            f"{len(errors)} problema(s) en la planilla; no se importó nada",
            f"{len(errors)} problem(s) in the workbook; nothing was imported",
            code="spreadsheet.invalid",
            errors=errors,
        )
    if parsed.errors:
        raise InvalidInputError(
            "la planilla no tiene la forma de la plantilla",
            "the workbook does not follow the template",
            code="spreadsheet.layout",
            errors=parsed.errors,
        )
    try:
        published = await runtime.change([ReplaceAll(parsed.records)], author=author, summary=f"import {filename}")
    except InvalidInputError as exc:
        if exc.code != "feed.invalid":
            raise
        raise InvalidInputError(
            f"{len(exc.errors)} problema(s) en la planilla; no se importó nada",
            f"{len(exc.errors)} problem(s) in the workbook; nothing was imported",
            code="spreadsheet.invalid",
            errors=[_locate(parsed, error) for error in exc.errors],
        ) from exc
    count = sum(len(items) for items in parsed.records.values())
    warnings = [_locate(parsed, finding.as_error()) for finding in published.warnings]
    return ImportResult(sequence=published.snapshot.sequence, records=count, warnings=warnings)
