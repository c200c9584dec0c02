"""fixtures/communes.csv: the 346 communes of Chile, and the validator's packaged copy of it."""

from __future__ import annotations

import csv
import re

from conftest import FIXTURES, ROOT
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
