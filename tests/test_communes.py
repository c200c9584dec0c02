"""fixtures/communes.csv: the 346 communes of Chile, and the validator's packaged copy of it."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT
from ogp_federation.aggregator.common import AggregatorSettings
from ogp_federation.aggregator.runtime import communes_of
from ogp_federation.core.errors import ConfigurationError
from ogp_federation.feed import CommuneReference

PACKAGED = ROOT / "src" / "ogp_federation" / "feed" / "data" / "communes.csv"


def _rows() -> list[dict[str, str]]:
    with (FIXTURES / "communes.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_communes_csv_has_all_346_communes_with_unique_five_digit_cuts() -> None:
    rows = _rows()
    cuts = [row["cut"] for row in rows]
    assert len(rows) == 346
    assert len(set(cuts)) == 346
    assert all(re.fullmatch(r"[0-9]{5}", cut) for cut in cuts)
    assert list(rows[0]) == ["cut", "name", "province_cut", "province", "region_cut", "region"]


def test_known_communes_are_present_with_their_province_and_region() -> None:
    by_cut = {row["cut"]: row for row in _rows()}
    assert by_cut["13122"]["name"] == "Peñalolén"
    assert by_cut["12202"]["name"] == "Antártica"
    assert by_cut["12202"]["province_cut"] == "122"
    assert by_cut["13119"]["name"] == "Maipú"
    assert by_cut["13128"]["region_cut"] == "13"


def test_codes_nest_commune_in_province_in_region() -> None:
    for row in _rows():
        assert row["province_cut"].startswith(row["region_cut"]), row
        assert row["cut"].startswith(row["province_cut"]), row


def test_packaged_reference_is_the_fixture_file() -> None:
    assert PACKAGED.read_bytes() == (FIXTURES / "communes.csv").read_bytes()
    reference = CommuneReference.packaged()
    assert len(reference) == 346
    assert "12202" in reference
    assert "99999" not in reference


def test_an_aggregator_knows_the_communes_of_its_communes_file(tmp_path: Path) -> None:
    """A test federation (or a commune the DPA adds): the aggregator reads its communes from a CSV."""
    extra = "20001,Comuna de prueba,200,Prueba,20,Región de prueba\n"
    path = tmp_path / "communes.csv"
    path.write_text((FIXTURES / "communes.csv").read_text(encoding="utf-8") + extra, encoding="utf-8")
    settings = AggregatorSettings(database_url="sqlite+aiosqlite:///unused.db", communes_file=str(path))
    known = communes_of(settings)
    assert len(known) == 347
    assert known.get("20001") is not None
    assert communes_of(AggregatorSettings(database_url="sqlite+aiosqlite:///unused.db")).get("20001") is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"cut,name\n13122,Pe\xc3\xb1alol\xc3\xa9n\n", "line 2"),
        (b"cut,name,province_cut,province,region_cut,region\n13122,,131,Santiago,13,RM\n", "line 2"),
        (b"cut,name,province_cut,province,region_cut,region\n", "no communes"),
        (b"\xff\xfe not text", "utf-8"),
        (None, "No such file"),
    ],
)
def test_a_communes_file_that_cannot_be_read_is_refused_with_its_reason(
    tmp_path: Path, content: bytes | None, reason: str
) -> None:
    path = tmp_path / "communes.csv"
    if content is not None:
        path.write_bytes(content)
    settings = AggregatorSettings(database_url="sqlite+aiosqlite:///unused.db", communes_file=str(path))
    with pytest.raises(ConfigurationError) as raised:
        communes_of(settings)
    assert f"communes_file: {path}" in raised.value.describe("en")
    assert reason in str(raised.value.detail)
