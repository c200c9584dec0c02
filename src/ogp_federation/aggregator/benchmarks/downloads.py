"""A comparison as CSV: one row per reporting commune, the distribution in a header block."""

from __future__ import annotations

import csv
import io

from .schemas import Comparison

__all__ = ["comparison_csv"]


def comparison_csv(result: Comparison) -> bytes:
    """``result`` as UTF-8 CSV with a BOM; values keep a dot as decimal separator (machine-readable)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        ["cut", "comuna", "valor", "unidad", "posicion", "provisional", "atipico", "dias_antiguedad", "sintetico"]
    )
    for value in result.values:
        writer.writerow(
            [
                value.cut,
                _safe(value.name),
                repr(value.value),
                result.unit,
                value.rank if value.rank is not None else "",
                "si" if value.provisional else "no",
                "si" if value.outlier else "no",
                value.age_days,
                "si" if value.synthetic else "no",
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
