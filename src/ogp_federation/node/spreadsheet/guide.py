"""What the workbook tells the person filling it: an instructions sheet, examples, and the drop-down lists.

The instructions and lists sheets are the template's own; the import passes over them.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.worksheet.datavalidation import DataValidation

from ogp_federation.feed import COLLECTIONS
from ogp_federation.feed.labels import label
from ogp_federation.feed.synth import generate_feed

from .layout import INSTRUCTIONS, LISTS, all_sheets, scalar_kind
from .tables import records_to_tables

__all__ = ["add_guide", "instructions_text"]

MAX_VALIDATED_ROWS = 5000

RULES = (
    "Cómo llenar esta planilla",
    "",
    "1. Cada hoja es un tipo de registro del plan; la primera fila tiene los encabezados: no los cambie.",
    (
        "2. Cada fila es un registro. Las hojas secundarias (evidencias, pasos, recursos, asistencia…) se unen a su "
        "registro por la primera columna, «registro», que repite su id."
    ),
    (
        "3. Fechas: AAAA-MM-DD (o una celda de fecha). Fecha y hora: AAAA-MM-DD HH:MM; sin huso, se entiende hora de "
        "Chile."
    ),
    (
        "4. Números: 1234,5 o 1.234,5 (o 1234.5). No escriba 1.234: puede leerse como mil o como uno coma dos; la "
        "importación lo rechaza."
    ),
    "5. Listas dentro de una celda (pilares, organizaciones de apoyo…): valores separados por comas.",
    "6. Las columnas con lista desplegable aceptan la etiqueta en español (o el código en inglés).",
    (
        "7. No use fórmulas ni celdas combinadas: escriba los valores. Una fórmula, un error de Excel (#REF!, #N/A…) "
        "o una celda combinada se rechazan con su hoja, fila y columna."
    ),
    "8. La planilla es el plan completo: al importar, lo que no esté en ella se elimina del plan publicado.",
    "9. Nada se importa si hay un error: el informe dice, para cada uno, la hoja, la fila, la columna y qué hacer.",
    "",
    "Un ejemplo de fila de cada hoja (datos inventados):",
)


@cache
def _examples() -> dict[str, list[Any]]:
    """The first row of every sheet for a small synthetic plan (invented data, shown as an example)."""
    feed = generate_feed("13122", commitments=1, seed=7)
    records = {c.entity: [msgspec.to_builtins(r) for r in c.records(feed)] for c in COLLECTIONS}
    tables = records_to_tables(records)
    return {name: rows[0] for name, rows in tables.items() if rows}


def instructions_text() -> str:
    """The instructions as plain text (the CSV export's ``LEAME.txt``)."""
    lines = list(RULES)
    examples = _examples()
    for sheet in all_sheets():
        example = examples.get(sheet.name)
        if example is None:
            continue
        cells = [f"{header}={value}" for header, value in zip(sheet.headers(), _row(example), strict=False)]
        lines.append(f"- {sheet.name}: " + "; ".join(cell for cell in cells if not cell.endswith("=")))
    return "\n".join(lines) + "\n"


def _row(example: list[Any]) -> list[Any]:
    return ["" if value is None else value for value in example]


def add_guide(workbook: Workbook) -> None:
    """Put the instructions sheet first and a hidden lists sheet last; add a drop-down to every enumeration."""
    guide = workbook.create_sheet(INSTRUCTIONS, 0)
    for line in RULES:
        guide.append([line])
    examples = _examples()
    for sheet in all_sheets():
        example = examples.get(sheet.name)
        if example is None:
            continue
        guide.append([])
        guide.append([f"Hoja «{sheet.name}»", *sheet.headers()])
        guide.append(["ejemplo", *_row(example)])
    guide.column_dimensions["A"].width = 110
    lists = workbook.create_sheet(LISTS)
    lists.sheet_state = "hidden"
    ranges: dict[type, str] = {}
    for sheet in all_sheets():
        worksheet = workbook[sheet.name]
        offset = 1 if sheet.is_child else 0  # a child sheet starts with its «registro» column
        for index, column in enumerate(sheet.columns, start=1 + offset):
            if column.kind != "scalar" or scalar_kind(column.type) != "enum":
                continue
            if column.type not in ranges:
                letter = get_column_letter(len(ranges) + 1)
                values = [label(value) for value in column.type]
                lists.cell(row=1, column=len(ranges) + 1, value=column.header)
                for row, text in enumerate(values, start=2):
                    lists.cell(row=row, column=len(ranges) + 1, value=text)
                ranges[column.type] = f"{LISTS}!${letter}$2:${letter}${len(values) + 1}"
            validation = DataValidation(
                type="list",
                formula1=f"={ranges[column.type]}",
                allow_blank=True,
                showErrorMessage=True,
                errorTitle="Valor no válido",
                error=f"Elija un valor de la lista de «{column.header}».",
            )
            letter = get_column_letter(index)
            validation.add(f"{letter}2:{letter}{MAX_VALIDATED_ROWS}")
            worksheet.add_data_validation(validation)
