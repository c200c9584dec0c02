"""Registering many nodes from one CSV file: rows read and checked first, then registered concurrently.

Columns (a header row is required; order free; ``;`` or ``,`` separated, UTF-8 or Windows-1252):
``cut`` and ``url`` (required), ``interval``, ``contact_email``, ``webhook_url``, ``trust_fetched_keys``
(``sí``/``si``/``yes``/``true``/``1`` to confirm the keys fetched). A row that cannot be read is
reported with its row and column; the others are registered all the same.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import msgspec

from ogp_federation.core.errors import InvalidInputError

from .schemas import NodeRegistration

__all__ = ["COLUMNS", "MAX_ROWS", "BulkRow", "RowOutcome", "parse_registrations"]

COLUMNS = ("cut", "url", "interval", "contact_email", "webhook_url", "trust_fetched_keys")
REQUIRED = ("cut", "url")
MAX_ROWS = 2000  # the 346 communes, with room for re-pointing rounds; a bigger file is a mistake
_TRUE = {"sí", "si", "s", "yes", "y", "true", "1", "x"}
_FALSE = {"no", "n", "false", "0", ""}


class RowOutcome(msgspec.Struct, kw_only=True):
    """What became of one row: registered (new), updated (re-pointed or re-read), or refused with why."""

    row: int
    cut: str | None
    outcome: str  # registered | updated | refused
    keys_confirmed: bool | None = None
    code: str | None = None
    message: str | None = None
    message_en: str | None = None


class BulkRow(msgspec.Struct, kw_only=True):
    """A row read from the file: its number and the registration it asks for."""

    row: int
    registration: NodeRegistration


def parse_registrations(content: bytes) -> tuple[list[BulkRow], list[RowOutcome]]:
    """The rows that can be registered and the outcomes of those that cannot (each with its row number)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")
    header_line = text.split("\n", 1)[0]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise InvalidInputError(
            "el archivo no es un CSV legible",
            "the file is not a readable CSV",
            errors=[{"path": "$", "message": str(exc)}],
        ) from exc
    if not rows:
        raise _file_error("el archivo está vacío", "the file is empty", "$")
    headers = [header.strip().lower() for header in rows[0]]
    unknown = [header for header in headers if header and header not in COLUMNS]
    missing = [column for column in REQUIRED if column not in headers]
    if unknown or missing:
        problems: list[dict[str, object]] = [
            {"path": f"columna {h}", "message": "columna desconocida / unknown column"} for h in unknown
        ]
        problems += [{"path": f"columna {c}", "message": "falta la columna / missing column"} for c in missing]
        raise InvalidInputError(
            f"encabezados esperados: {', '.join(COLUMNS)}", f"expected headers: {', '.join(COLUMNS)}", errors=problems
        )
    if len(rows) - 1 > MAX_ROWS:
        raise _file_error(f"más de {MAX_ROWS} filas", f"more than {MAX_ROWS} rows", "$")
    good: list[BulkRow] = []
    refused: list[RowOutcome] = []
    seen: dict[str, int] = {}
    for number, values in enumerate(rows[1:], start=2):
        if not any(value.strip() for value in values):
            continue
        given = {header: value.strip() for header, value in zip(headers, values, strict=False) if header}
        cut = given.get("cut") or None
        try:
            registration = _registration(given)
        except _RowError as problem:
            refused.append(_refused(number, cut, problem.message, problem.message_en))
            continue
        if registration.cut in seen:
            refused.append(
                _refused(
                    number,
                    cut,
                    f"el CUT {registration.cut} ya está en la fila {seen[registration.cut]}",
                    f"CUT {registration.cut} is already on row {seen[registration.cut]}",
                )
            )
            continue
        seen[registration.cut] = number
        good.append(BulkRow(row=number, registration=registration))
    return good, refused


class _RowError(Exception):
    def __init__(self, message: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message, self.message_en = message, message_en


def _registration(given: dict[str, str]) -> NodeRegistration:
    data: dict[str, Any] = {"cut": given.get("cut", ""), "url": given.get("url", "")}
    if given.get("interval"):
        if not given["interval"].isdigit():
            raise _RowError("interval: debe ser un número de segundos", "interval: must be a number of seconds")
        data["interval"] = int(given["interval"])
    for column in ("contact_email", "webhook_url"):
        if given.get(column):
            data[column] = given[column]
    flag = given.get("trust_fetched_keys", "").casefold()
    if flag not in _TRUE | _FALSE:
        raise _RowError("trust_fetched_keys: use sí o no", "trust_fetched_keys: use yes or no")
    data["trust_fetched_keys"] = flag in _TRUE
    try:
        return msgspec.convert(data, NodeRegistration)
    except msgspec.ValidationError as exc:
        raise _RowError(f"datos inválidos: {exc}", f"invalid data: {exc}") from exc


def _refused(row: int, cut: str | None, message: str, message_en: str) -> RowOutcome:
    return RowOutcome(row=row, cut=cut, outcome="refused", code="invalid_input", message=message, message_en=message_en)


def _file_error(message: str, message_en: str, path: str) -> InvalidInputError:
    return InvalidInputError(message, message_en, errors=[{"path": path, "message": message_en}])
