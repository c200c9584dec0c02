"""Writing a release's files: CSV, Parquet and JSON Lines per table, the Frictionless data package,
the citation, and the manifest of every file's SHA-256 signed with the aggregator's key.

Nothing in a file depends on when or where it was written (no build time, sorted keys, fixed
compression), so the same tables give the same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from joserfc.jwk import OKPKey

from ogp_federation import __version__
from ogp_federation.feed import signing

from .release_tables import Table, TableRows, Value

__all__ = ["MANIFEST", "SIGNATURE", "write_release"]

MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
_ARROW = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"),
    "object": pa.string(),
    "array": pa.string(),
}


def _text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _csv(table: TableRows) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([column.name for column in table.table.columns])
    for row in table.rows:
        writer.writerow([_text(value) for value in row])
    return out.getvalue().encode("utf-8")


def _jsonl(table: TableRows) -> bytes:
    names = [column.name for column in table.table.columns]
    json_columns = {column.name for column in table.table.columns if column.type in ("object", "array")}
    lines = []
    for row in table.rows:
        item = {
            name: (json.loads(value) if name in json_columns and isinstance(value, str) else value)
            for name, value in zip(names, row, strict=True)
        }
        lines.append(msgspec.json.encode(item, order="sorted"))
    return b"\n".join(lines) + (b"\n" if lines else b"")


def _parquet(table: TableRows) -> bytes:
    columns = table.table.columns
    schema = pa.schema([pa.field(column.name, _ARROW[column.type]) for column in columns])
    data = {column.name: [row[index] for row in table.rows] for index, column in enumerate(columns)}
    sink = io.BytesIO()
    pq.write_table(
        pa.Table.from_pydict(data, schema=schema),
        sink,
        compression="zstd",
        use_dictionary=False,
        write_statistics=True,
        store_schema=False,
    )
    return sink.getvalue()


def _schema(table: Table) -> dict[str, Any]:
    return {
        "fields": [
            {"name": c.name, "type": c.type, **({"description": c.description} if c.description else {})}
            for c in table.columns
        ],
        "primaryKey": list(table.primary_key),
        "missingValues": [""],
    }


def _package(release_id: str, cutoff: datetime, tables: list[TableRows], publisher: str) -> dict[str, Any]:
    return {
        "$schema": "https://datapackage.org/profiles/2.0/datapackage.json",
        "name": release_id,
        "id": release_id,
        "title": "Federación de planes locales de Gobierno Abierto — publicación " + release_id,
        "description": (
            "Los planes de Gobierno Abierto de las comunas de Chile tal como estaban al corte "
            f"({cutoff.isoformat()}): cada colección del estándar Plan Feed, los valores de los indicadores, "
            "los puntajes de calidad y el registro. / Chile's communes' Open Government plans as of the "
            "cut-off: every Plan Feed collection, indicator values, quality scores and the registry."
        ),
        "version": release_id,
        "created": cutoff.isoformat().replace("+00:00", "Z"),
        "contributors": [{"title": publisher, "roles": ["publisher"]}],
        "licenses": [
            {
                "name": "other-open",
                "title": "Each commune's licence, as its feed declares it (most: CC-BY-4.0)",
            }
        ],
        "resources": [
            {
                "name": item.table.name,
                "title": item.table.title,
                "description": item.table.description,
                "path": f"data/{item.table.name}.csv",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "profile": "tabular-data-resource",
                "schema": _schema(item.table),
                "ogp_formats": {
                    "parquet": f"data/{item.table.name}.parquet",
                    "jsonl": f"data/{item.table.name}.jsonl",
                },
            }
            for item in tables
        ],
    }


def _citation(release_id: str, cutoff: datetime, publisher: str, url: str) -> bytes:
    day = cutoff.date().isoformat()
    return (
        "cff-version: 1.2.0\n"
        'message: "Si usa estos datos, cítelos así. / If you use these data, please cite them as below."\n'
        "type: dataset\n"
        f'title: "Federación de planes locales de Gobierno Abierto ({release_id})"\n'
        "authors:\n"
        f'  - name: "{publisher}"\n'
        f'version: "{release_id}"\n'
        f"date-released: {day}\n"
        f'url: "{url}"\n'
        'keywords: ["gobierno abierto", "open government", "OGP Local", "Chile", "municipalidades"]\n'
    ).encode()


def write_release(
    folder: Path,
    *,
    release_id: str,
    cutoff: datetime,
    tables: list[TableRows],
    key: OKPKey,
    publisher: str,
    url: str,
) -> dict[str, Any]:
    """Write every file of the release into ``folder``; return the manifest."""
    files: dict[str, bytes] = {}
    for item in tables:
        files[f"data/{item.table.name}.csv"] = _csv(item)
        files[f"data/{item.table.name}.parquet"] = _parquet(item)
        files[f"data/{item.table.name}.jsonl"] = _jsonl(item)
    package = _package(release_id, cutoff, tables, publisher)
    files["datapackage.json"] = json.dumps(package, ensure_ascii=False, indent=2, sort_keys=True).encode() + b"\n"
    files["CITATION.cff"] = _citation(release_id, cutoff, publisher, url)
    starts = [row[2] for item in tables for row in item.rows if item.table.columns[2].name == "valid_from"]
    first = min((value for value in starts if isinstance(value, datetime)), default=cutoff)
    manifest = {
        "release": release_id,
        "cutoff": cutoff.isoformat().replace("+00:00", "Z"),
        "from": first.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "software": f"ogp-federation {__version__}",
        "rows": {item.table.name: len(item.rows) for item in tables},
        "files": [
            {"path": path, "bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()}
            for path, content in sorted(files.items())
        ],
    }
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
    files[MANIFEST] = manifest_bytes
    files[SIGNATURE] = signing.sign(manifest_bytes, key).encode()
    for path, content in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return manifest
