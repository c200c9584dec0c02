"""The dashboard's SVG charts: what a node sent is escaped, the marked commune stands out by shape and
label (not only colour), and the map's colours follow quintiles with a legend in words."""

from __future__ import annotations

from types import SimpleNamespace
from xml.etree import ElementTree

from ogp_federation.aggregator.web.charts import distribution_svg, map_svg, trend_svg
from ogp_federation.aggregator.web.service import QUINTILE_COLOURS, _indicator_map, _shapes
from ogp_federation.core.i18n import language

HOSTILE = "<script>alert(1)</script>"


def _parsed(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # noqa: S314 (our own output, parsed to check it is well-formed)


def test_a_distribution_escapes_labels_and_marks_the_commune_by_shape_and_label() -> None:
    svg = distribution_svg(
        values=[1.0, 2.0, 3.0, 4.0, 50.0],
        q1=2.0,
        median=3.0,
        q3=4.0,
        marked=3.5,
        marked_label=HOSTILE,
        title=HOSTILE,
        description="d",
        number=str,
    )
    root = _parsed(svg)
    namespace = "{http://www.w3.org/2000/svg}"
    assert "<script>" not in svg
    assert root.attrib["role"] == "img"
    assert root.find(f"{namespace}title").text == HOSTILE  # as text, escaped in the markup
    assert len(root.findall(f"{namespace}circle")) == 5
    assert len(root.findall(f"{namespace}path")) == 1  # the marked commune: a diamond, not a dot
    labels = [t.text for t in root.findall(f"{namespace}text")]
    assert HOSTILE in labels


def test_a_trend_labels_every_period_and_survives_one_point() -> None:
    root = _parsed(trend_svg([("2024", 1.0), ("2025", 3.0)], title="t", description="d", number=str))
    texts = [t.text for t in root.findall("{http://www.w3.org/2000/svg}text")]
    assert texts == ["2024", "2025"]
    assert _parsed(trend_svg([], title="t", description="d", number=str)).tag.endswith("svg")


def test_the_map_colours_communes_by_quintile_and_says_each_range_in_words() -> None:
    values = [
        SimpleNamespace(cut=cut, name=f"C{cut}", value=float(i))
        for i, cut in enumerate(sorted(_shapes()["paths"])[:50])
    ]
    comparison = SimpleNamespace(
        values=values, unit="%", name_es="Hitos", name_en="Milestones", period="2025", reporting=50,
        distribution=SimpleNamespace(median=24.5),
    )  # fmt: skip
    names = {cut: f"C{cut}" for cut in _shapes()["paths"]}
    drawn, legend = _indicator_map(comparison, names, language("es_CL"))
    root = _parsed(str(drawn))
    fills = [p.attrib["fill"] for p in root.findall("{http://www.w3.org/2000/svg}path")]
    assert len(fills) == 345  # every commune of the layer drawn
    assert {fills.count(colour) for colour in QUINTILE_COLOURS} == {10}  # fifty values in five steps of ten
    assert fills.count("#eceff1") == 295  # the rest: no value, said so
    assert [colour for colour, _ in legend] == [*QUINTILE_COLOURS, "#eceff1"]
    assert legend[-1][1] == "sin dato"
    assert legend[0][1].endswith("%")


def test_the_packaged_map_is_small_and_has_every_commune_of_the_layer() -> None:
    shapes = _shapes()
    assert len(shapes["paths"]) == 345
    assert all(path.startswith("M") for path in shapes["paths"].values())
    assert shapes["missing"] == {"12202": "Antártica"}
    drawn = map_svg(shapes, {}, {}, title="t", description="d")
    assert len(drawn) < 150_000
