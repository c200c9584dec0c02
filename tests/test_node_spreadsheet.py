"""Spreadsheet round trip: template, all-or-nothing import with every bad cell, export → import identity."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from conftest import FEEDS
from node_helpers import client, fixture_records, make_node, staff_token
from ogp_federation.core.errors import InvalidInputError, PayloadTooLargeError, UnsupportedMediaError
from ogp_federation.feed import COLLECTIONS, decode
from ogp_federation.node.runtime import NodeRuntime
from ogp_federation.node.spreadsheet.files import write_csv_zip, write_xlsx
from ogp_federation.node.spreadsheet.layout import all_sheets
from ogp_federation.node.spreadsheet.service import export_workbook, import_workbook
from ogp_federation.node.spreadsheet.tables import records_to_tables


@pytest.fixture
async def runtime(tmp_path: Path, database_url: str) -> Any:
    settings = await make_node(tmp_path, database_url)
    node = NodeRuntime(settings)
    yield node
    await node.db.close()


def penalolen_workbook() -> bytes:
    """The template filled with the Peñalolén fixture's records."""
    return write_xlsx(records_to_tables(fixture_records()))


def _edit(workbook: bytes, edits: dict[tuple[str, int, str], Any]) -> bytes:
    book = load_workbook(io.BytesIO(workbook))
    for (sheet, row, header), value in edits.items():
        worksheet = book[sheet]
        column = [cell.value for cell in worksheet[1]].index(header) + 1
        worksheet.cell(row=row, column=column, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_template_has_one_sheet_per_collection_with_spanish_headers(runtime: NodeRuntime) -> None:
    book = load_workbook(io.BytesIO(await export_workbook(runtime, "xlsx", template=True)))
    assert book.sheetnames == ["instrucciones", *[sheet.name for sheet in all_sheets()], "listas"]
    assert book["listas"].sheet_state == "hidden"
    assert [c.value for c in book["hitos"][1]] == [
        "id",
        "compromiso",
        "titulo",
        "vencimiento",
        "estado",
        "avance",
        "descripcion",
        "cumplido_el",
        "motivo_fuera_de_plazo",
    ]
    assert all(book[sheet.name].max_row == 1 for sheet in all_sheets())  # no example row to import by mistake


async def test_importing_the_penalolen_workbook_publishes_the_fixture(runtime: NodeRuntime) -> None:
    result = await import_workbook(runtime, "penalolen.xlsx", penalolen_workbook(), author="test")
    published = decode((await runtime.plan.latest()).body)  # type: ignore[union-attr]
    fixture = decode((FEEDS / "penalolen.json").read_bytes())
    assert result.records == sum(len(v) for v in fixture_records().values())
    for collection in COLLECTIONS:
        assert collection.records(published) == collection.records(fixture), collection.entity
    assert published.tombstones == fixture.tombstones
    assert all("cell" in warning for warning in result.warnings if warning["rule"] == "evidence.hash_missing")


@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
async def test_export_then_import_is_an_identity(runtime: NodeRuntime, file_format: str) -> None:
    await import_workbook(runtime, "penalolen.xlsx", penalolen_workbook(), author="test")
    before = await runtime.plan.latest()
    exported = await export_workbook(runtime, file_format)
    result = await import_workbook(
        runtime, f"plan.{'xlsx' if file_format == 'xlsx' else 'zip'}", exported, author="test"
    )
    after = await runtime.plan.latest()
    assert result.sequence == before.sequence  # type: ignore[union-attr]
    assert after.body == before.body  # type: ignore[union-attr]
    if file_format == "csv":  # XLSX files carry a creation time; CSV exports are byte-stable
        assert await export_workbook(runtime, file_format) == exported


async def test_three_bad_cells_are_all_reported_and_nothing_is_imported(runtime: NodeRuntime) -> None:
    await import_workbook(runtime, "penalolen.xlsx", penalolen_workbook(), author="test")
    before = await runtime.plan.latest()
    broken = _edit(
        penalolen_workbook(),
        {
            ("hitos", 3, "vencimiento"): "30 de febrero",  # not a date
            ("eventos", 2, "modalidad"): "a distancia",  # not a valid value
            ("aportes", 4, "evento"): "evento-que-no-existe",  # dangling reference
        },
    )
    with pytest.raises(InvalidInputError) as caught:
        await import_workbook(runtime, "roto.xlsx", broken, author="test")
    cells = {(e["sheet"], e["row"], e["column"]) for e in caught.value.errors}
    assert cells == {("hitos", 3, "vencimiento"), ("eventos", 2, "modalidad"), ("aportes", 4, "evento")}
    assert all(e["message"] and e["cell"] for e in caught.value.errors)
    after = await runtime.plan.latest()
    assert after.body == before.body  # type: ignore[union-attr]


async def test_missing_sheets_unknown_columns_and_orphan_rows_are_reported(runtime: NodeRuntime) -> None:
    book = load_workbook(io.BytesIO(penalolen_workbook()))
    del book["planes"]
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(InvalidInputError) as missing:
        await import_workbook(runtime, "x.xlsx", out.getvalue(), author="test")
    assert [(e["sheet"], e["message"]) for e in missing.value.errors] == [("planes", "falta la hoja")]

    renamed = _edit(penalolen_workbook(), {("hitos", 1, "titulo"): "títulos", ("evidencias", 2, "registro"): "hito-x"})
    with pytest.raises(InvalidInputError) as layout:
        await import_workbook(runtime, "x.xlsx", renamed, author="test")
    found = {(e["sheet"], e["column"], e["message"]) for e in layout.value.errors}
    assert ("hitos", "títulos", "columna desconocida") in found
    assert ("hitos", "titulo", "falta la columna") in found
    assert ("evidencias", "registro", "«hito-x» no es un registro de la hoja principal") in found


async def test_duplicate_ids_in_a_workbook_are_reported_with_their_cell(runtime: NodeRuntime) -> None:
    duplicated = _edit(penalolen_workbook(), {("organizaciones", 3, "id"): "dcga"})
    with pytest.raises(InvalidInputError) as caught:
        await import_workbook(runtime, "x.xlsx", duplicated, author="test")
    assert {(e["rule"], e["sheet"], e["row"], e["column"]) for e in caught.value.errors} >= {
        ("ids.duplicate", "organizaciones", 3, "id")
    }


async def test_formulas_are_never_written_and_text_survives(runtime: NodeRuntime) -> None:
    records = fixture_records()
    records[COLLECTIONS[2].entity][0]["title"] = '=HYPERLINK("http://x","clic")'
    tables = records_to_tables(records)
    book = load_workbook(io.BytesIO(write_xlsx(tables)))
    cell = book["compromisos"]["C2"]
    assert cell.data_type == "s"
    csv_text = zipfile.ZipFile(io.BytesIO(write_csv_zip(tables))).read("compromisos.csv").decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_text
    await import_workbook(runtime, "f.zip", write_csv_zip(tables), author="test")
    published = decode((await runtime.plan.latest()).body)  # type: ignore[union-attr]
    assert published.commitments[0].title.startswith("=HYPERLINK")


async def test_hostile_files_are_refused(runtime: NodeRuntime) -> None:
    with pytest.raises(UnsupportedMediaError):
        await import_workbook(runtime, "x.xlsx", b"not a zip at all", author="test")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("hitos.csv", b"0" * (50 * 1024 * 1024))
    with pytest.raises(PayloadTooLargeError):
        await import_workbook(runtime, "bomb.zip", bomb.getvalue(), author="test")


async def test_upload_endpoint_imports_and_reports(tmp_path: Path, database_url: str) -> None:
    settings = await make_node(tmp_path, database_url)
    token = await staff_token(settings)
    headers = {"Authorization": f"Bearer {token}"}
    broken = _edit(penalolen_workbook(), {("hitos", 2, "avance"): "mucho"})
    async with client(settings) as http:
        bad = await http.post("/admin/api/import", files={"data": ("plan.xlsx", broken)}, headers=headers)
        good = await http.post(
            "/admin/api/import", files={"data": ("plan.xlsx", penalolen_workbook())}, headers=headers
        )
        exported = await http.get("/admin/api/export?format=csv", headers=headers)
    assert bad.status_code == 422
    assert [(e["sheet"], e["row"], e["column"]) for e in bad.json()["errors"]] == [("hitos", 2, "avance")]
    assert good.status_code == 201
    assert good.json()["records"] == sum(len(v) for v in fixture_records().values())
    assert exported.headers["Content-Type"] == "application/zip"
    assert "hitos.csv" in zipfile.ZipFile(io.BytesIO(exported.content)).namelist()


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
async def test_csv_export_guards_every_formula_start_and_reads_back_the_text(runtime: NodeRuntime, start: str) -> None:
    records = fixture_records()
    commitments = records[COLLECTIONS[2].entity]
    commitments[0]["title"] = f"{start}2+3 cmd|' /C calc'!A0"
    tables = records_to_tables(records)
    csv_text = zipfile.ZipFile(io.BytesIO(write_csv_zip(tables))).read("compromisos.csv").decode("utf-8-sig")
    cells = list(csv.reader(io.StringIO(csv_text, newline="")))
    assert any(cell.startswith(f"'{start}2+3") for row in cells for cell in row)
    assert not any(cell.startswith(start) for row in cells[1:] for cell in row if cell)  # no cell opens a formula
    await import_workbook(runtime, "f.zip", write_csv_zip(tables), author="test")
    published = decode((await runtime.plan.latest()).body)  # type: ignore[union-attr]
    assert published.commitments[0].title == commitments[0]["title"]


async def test_negative_numbers_are_exported_as_numbers(runtime: NodeRuntime) -> None:
    records = fixture_records()
    observation = records[COLLECTIONS[8].entity][0]
    observation["value"] = -3.5
    csv_text = (
        zipfile.ZipFile(io.BytesIO(write_csv_zip(records_to_tables(records))))
        .read("observaciones.csv")
        .decode("utf-8-sig")
    )
    assert ",-3.5" in csv_text or "-3.5," in csv_text
    assert "'-3.5" not in csv_text


def _rewrite_sheet(workbook: bytes, change: Any) -> bytes:
    """``workbook`` with the XML of its second sheet passed through ``change``."""
    source = zipfile.ZipFile(io.BytesIO(workbook))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, change(data) if info.filename == "xl/worksheets/sheet2.xml" else data)
    return out.getvalue()


ENTITIES = b'<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
HOSTILE_FILES = {
    "sheet_xml_cut_short": lambda: _rewrite_sheet(penalolen_workbook(), lambda d: d[: len(d) // 2]),
    "sheet_xml_with_entities": lambda: _rewrite_sheet(
        penalolen_workbook(), lambda d: d.replace(b"<worksheet", ENTITIES + b"<worksheet", 1)
    ),
    "sheet_xml_not_xml": lambda: _rewrite_sheet(penalolen_workbook(), lambda d: b"\x00\x01binary"),
}


@pytest.mark.parametrize("case", list(HOSTILE_FILES))
async def test_damaged_or_hostile_sheet_xml_is_refused_and_nothing_changes(runtime: NodeRuntime, case: str) -> None:
    """Regression: a sheet whose XML was cut short or used entities answered 500 (a traceback in the CLI)."""
    await import_workbook(runtime, "penalolen.xlsx", penalolen_workbook(), author="test")
    before = await runtime.plan.latest()
    with pytest.raises(UnsupportedMediaError) as caught:
        await import_workbook(runtime, "x.xlsx", HOSTILE_FILES[case](), author="test")
    assert "Excel o LibreOffice" in caught.value.message
    assert (await runtime.plan.latest()) == before


async def test_a_csv_the_reader_cannot_parse_is_refused(runtime: NodeRuntime) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as target:  # one field past the csv module's field limit
        target.writestr("hitos.csv", "id,titulo\r\nh1," + "a" * 200_000 + "\r\n")
    with pytest.raises(UnsupportedMediaError) as caught:
        await import_workbook(runtime, "x.zip", archive.getvalue(), author="test")
    assert "hitos.csv" in caught.value.message


async def test_the_upload_endpoint_answers_a_damaged_sheet_with_a_problem(tmp_path: Path) -> None:
    settings = await make_node(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'n.db'}")
    token = await staff_token(settings)
    async with client(settings) as http:
        answer = await http.post(
            "/admin/api/import",
            files={"data": ("plan.xlsx", HOSTILE_FILES["sheet_xml_cut_short"]())},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 415
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "la hoja «" in answer.json()["title"]


def _cell_errors(caught: pytest.ExceptionInfo[InvalidInputError]) -> set[tuple[object, object, object]]:
    return {(e["sheet"], e["row"], e["column"]) for e in caught.value.errors}


async def test_formulas_excel_errors_and_merged_cells_are_refused_with_their_cell(runtime: NodeRuntime) -> None:
    """Regression: a formula was imported as its cached result (or nothing), #REF! as text, and a merged
    cell over an optional column left the rows below without their value."""
    await import_workbook(runtime, "penalolen.xlsx", penalolen_workbook(), author="test")
    before = await runtime.plan.latest()
    book = load_workbook(io.BytesIO(penalolen_workbook()))
    hitos = book["hitos"]
    headers = [cell.value for cell in hitos[1]]
    progress, description = headers.index("avance") + 1, headers.index("descripcion") + 1
    hitos.cell(row=2, column=progress, value="=40+10")
    hitos.cell(row=3, column=progress, value="#REF!")
    assert hitos.cell(row=3, column=progress).data_type == "e"
    column = hitos.cell(row=4, column=description).column_letter
    hitos.merge_cells(f"{column}4:{column}5")
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(InvalidInputError) as caught:
        await import_workbook(runtime, "x.xlsx", out.getvalue(), author="test")
    assert _cell_errors(caught) == {("hitos", 2, "avance"), ("hitos", 3, "avance"), ("hitos", 4, "descripcion")}
    messages = " ".join(str(e["message"]) for e in caught.value.errors)
    assert "fórmula" in messages
    assert "#REF!" in messages
    assert "combinadas" in messages
    assert (await runtime.plan.latest()) == before


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("1.234,5", 1234.5), ("12,5", 12.5), ("0,125", 0.125), ("1.234.567", 1234567), ("2.75", 2.75), ("-3,5", -3.5)],
)
async def test_chilean_numbers_typed_as_text_are_read_as_meant(runtime: NodeRuntime, typed: str, stored: float) -> None:
    book = _edit(penalolen_workbook(), {("observaciones", 2, "valor"): typed})
    await import_workbook(runtime, "x.xlsx", book, author="test")
    published = decode((await runtime.plan.latest()).body)  # type: ignore[union-attr]
    assert published.observations[0].value == stored


@pytest.mark.parametrize("typed", ["1.234", "1,234", "12.345,6.7", "1..5"])
async def test_ambiguous_or_broken_numbers_are_refused(runtime: NodeRuntime, typed: str) -> None:
    book = _edit(penalolen_workbook(), {("observaciones", 2, "valor"): typed})
    with pytest.raises(InvalidInputError) as caught:
        await import_workbook(runtime, "x.xlsx", book, author="test")
    assert ("observaciones", 2, "valor") in _cell_errors(caught)


@pytest.mark.parametrize("bom", [True, False])
async def test_a_csv_saved_by_spanish_excel_imports(runtime: NodeRuntime, bom: bool) -> None:
    """Semicolon-separated, Windows-1252 (or UTF-8 with a BOM), decimal commas: what Excel in Spanish saves."""
    tables = records_to_tables(fixture_records())
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as target:
        for sheet in all_sheets():
            text = io.StringIO(newline="")
            writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
            writer.writerow(sheet.headers())
            for row in tables.get(sheet.name, []):
                writer.writerow(
                    [str(v).replace(".", ",") if isinstance(v, float) else "" if v is None else v for v in row]
                )
            content = ("\ufeff" + text.getvalue()).encode("utf-8") if bom else text.getvalue().encode("cp1252")
            target.writestr(f"{sheet.name}.csv", content)
    result = await import_workbook(runtime, "plan.zip", archive.getvalue(), author="test")
    published = decode((await runtime.plan.latest()).body)  # type: ignore[union-attr]
    expected = decode((FEEDS / "penalolen.json").read_bytes())
    assert result.records > 0
    assert published.commitments == expected.commitments
    assert published.observations == expected.observations
    assert published.organizations[0].name == expected.organizations[0].name  # accents survive cp1252


async def test_the_template_guides_a_person_and_its_drop_downs_hold_the_spanish_labels(runtime: NodeRuntime) -> None:
    book = load_workbook(io.BytesIO(await export_workbook(runtime, "xlsx", template=True)))
    guide = "\n".join(str(row[0].value or "") for row in book["instrucciones"].iter_rows())
    hitos = book["hitos"]
    validations = {str(v.sqref).split(":")[0]: v for v in hitos.data_validations.dataValidation}
    status_column = [c.value for c in hitos[1]].index("estado") + 1
    letter = hitos.cell(row=1, column=status_column).column_letter
    rule = validations[f"{letter}2"]
    first, last = rule.formula1.split("!")[1].replace("$", "").split(":")
    offered = [book["listas"][f"{first[0]}{row}"].value for row in range(int(first[1:]), int(last[1:]) + 1)]
    examples = [row for row in book["instrucciones"].iter_rows(values_only=True) if row and row[0] == "ejemplo"]
    assert "separados por comas" in guide
    assert "1.234" in guide  # the ambiguous number, explained
    assert rule.type == "list"
    assert offered == ["No iniciado", "En curso", "Cumplido", "Atrasado", "Cancelado"]
    assert len(examples) >= 10  # an example row for most sheets
    csv_guide = zipfile.ZipFile(io.BytesIO(await export_workbook(runtime, "csv", template=True))).read("LEAME.txt")
    assert "Cómo llenar esta planilla" in csv_guide.decode()


async def test_enumerations_take_the_spanish_label_or_the_code_and_errors_name_the_labels(runtime: NodeRuntime) -> None:
    from ogp_federation.feed.labels import label  # noqa: PLC0415

    fixture = decode((FEEDS / "penalolen.json").read_bytes())
    first, second = fixture.milestones[0].status, fixture.milestones[1].status
    pillars = fixture.commitments[0].pillars
    unaccented = ", ".join(
        label(p).lower().replace("ó", "o").replace("í", "i").replace("á", "a").replace("é", "e") for p in pillars
    )
    book = _edit(
        penalolen_workbook(),
        {
            ("hitos", 2, "estado"): label(first).lower(),
            ("hitos", 3, "estado"): f"  {label(second).upper()} ",
            ("compromisos", 2, "pilares"): unaccented,
        },
    )
    await import_workbook(runtime, "x.xlsx", book, author="test")
    published = decode((await runtime.plan.latest()).body)  # type: ignore[union-attr]
    broken = _edit(penalolen_workbook(), {("hitos", 2, "estado"): "listo"})
    with pytest.raises(InvalidInputError) as caught:
        await import_workbook(runtime, "x.xlsx", broken, author="test")
    assert published.milestones[0].status == first
    assert published.milestones[1].status == second
    assert published.commitments[0].pillars == pillars
    (error,) = caught.value.errors
    assert (error["sheet"], error["row"], error["column"]) == ("hitos", 2, "estado")
    assert "«Cumplido»" in str(error["message"])


def test_each_vocabulary_has_its_own_labels() -> None:
    """Regression: labels were keyed by value across vocabularies, so a completed milestone read "Finalizado"."""
    from ogp_federation.feed.enums import MilestoneStatus, PlanStatus  # noqa: PLC0415
    from ogp_federation.feed.labels import LABELS_ES, label  # noqa: PLC0415

    assert label(MilestoneStatus.COMPLETED) == "Cumplido"
    assert label(PlanStatus.COMPLETED) == "Finalizado"
    for kind, labels in LABELS_ES.items():
        assert all(isinstance(member, kind) for member in labels), kind
        assert len(set(labels.values())) == len(labels), f"{kind.__name__}: two values share a label"
        assert all(label(member) == text for member, text in labels.items())
