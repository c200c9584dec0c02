"""The DCAT catalogue: JSON-LD and Turtle that rdflib reads, and that conform to SHACL shapes written here
from DCAT-AP 3's mandatory and recommended properties of catalogue, dataset and distribution."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from pyshacl import validate as shacl
from rdflib import Graph
from rdflib.namespace import DCAT, RDF

from agg_helpers import aggregator, fake_nodes, harvest_fixtures
from ogp_federation.aggregator.app import create_app

# DCAT-AP 3.0 (SEMIC): mandatory (M) and recommended (R) properties, all required here (sh:Violation).
SHAPES = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
@prefix dcatap: <http://data.europa.eu/r5r/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix : <urn:test:> .

:Catalogue a sh:NodeShape ; sh:targetClass dcat:Catalog ;
  sh:property [ sh:path dct:title ; sh:minCount 1 ; sh:nodeKind sh:Literal ] ;            # M
  sh:property [ sh:path dct:description ; sh:minCount 1 ; sh:nodeKind sh:Literal ] ;      # M
  sh:property [ sh:path dct:publisher ; sh:minCount 1 ; sh:maxCount 1 ; sh:class foaf:Agent ] ;  # M
  sh:property [ sh:path dcat:dataset ; sh:minCount 1 ; sh:class dcat:Dataset ] ;          # R
  sh:property [ sh:path foaf:homepage ; sh:minCount 1 ; sh:nodeKind sh:IRI ] ;            # R
  sh:property [ sh:path dct:language ; sh:minCount 1 ; sh:nodeKind sh:IRI ] ;             # R
  sh:property [ sh:path dct:license ; sh:minCount 1 ; sh:maxCount 1 ; sh:nodeKind sh:IRI ] ;  # R
  sh:property [ sh:path dct:modified ; sh:minCount 1 ; sh:datatype xsd:dateTime ] ;       # R
  sh:property [ sh:path dct:spatial ; sh:minCount 1 ; sh:nodeKind sh:IRI ] ;              # R
  sh:property [ sh:path dcat:themeTaxonomy ; sh:minCount 1 ] .                            # R

:Dataset a sh:NodeShape ; sh:targetClass dcat:Dataset ;
  sh:property [ sh:path dct:title ; sh:minCount 1 ; sh:nodeKind sh:Literal ] ;            # M
  sh:property [ sh:path dct:description ; sh:minCount 1 ; sh:nodeKind sh:Literal ] ;      # M
  sh:property [ sh:path dcat:contactPoint ; sh:minCount 1 ; sh:class vcard:Kind ] ;       # R
  sh:property [ sh:path dcat:distribution ; sh:minCount 1 ; sh:class dcat:Distribution ] ;  # R
  sh:property [ sh:path dcat:keyword ; sh:minCount 1 ; sh:nodeKind sh:Literal ] ;         # R
  sh:property [ sh:path dct:publisher ; sh:minCount 1 ; sh:maxCount 1 ; sh:class foaf:Agent ] ;  # R
  sh:property [ sh:path dct:spatial ; sh:minCount 1 ] ;                                   # R
  sh:property [ sh:path dct:temporal ; sh:minCount 1 ; sh:class dct:PeriodOfTime ] ;      # R
  sh:property [ sh:path dcat:theme ; sh:minCount 1 ; sh:nodeKind sh:IRI ] ;               # R
  sh:property [ sh:path dct:modified ; sh:maxCount 1 ; sh:datatype xsd:dateTime ] .

:Distribution a sh:NodeShape ; sh:targetClass dcat:Distribution ;
  sh:property [ sh:path dcat:accessURL ; sh:minCount 1 ; sh:nodeKind sh:IRI ] ;          # M
  sh:property [ sh:path dct:description ; sh:minCount 1 ; sh:nodeKind sh:Literal ] ;      # R
  sh:property [ sh:path dct:format ; sh:minCount 1 ; sh:maxCount 1 ; sh:nodeKind sh:IRI ] ;  # R
  sh:property [ sh:path dct:license ; sh:minCount 1 ; sh:maxCount 1 ; sh:nodeKind sh:IRI ] ;  # R
  sh:property [ sh:path dcatap:availability ; sh:minCount 1 ; sh:maxCount 1 ; sh:nodeKind sh:IRI ] ;  # R
  sh:property [ sh:path dcat:mediaType ; sh:maxCount 1 ; sh:nodeKind sh:IRI ] ;
  sh:property [ sh:path dcat:byteSize ; sh:maxCount 1 ; sh:datatype xsd:nonNegativeInteger ] .

:Agent a sh:NodeShape ; sh:targetClass foaf:Agent ;
  sh:property [ sh:path foaf:name ; sh:minCount 1 ] .

:Period a sh:NodeShape ; sh:targetClass dct:PeriodOfTime ;
  sh:or ( [ sh:path dcat:startDate ; sh:minCount 1 ] [ sh:path dcat:endDate ; sh:minCount 1 ] ) .
"""


async def _served(tmp_path: Path) -> Any:
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    return aggregator(url, releases_dir=str(tmp_path / "r"), public_url="https://federacion.example.cl")


# rdflib's own JSON-LD parser still builds a ConjunctiveGraph inside, which rdflib 7.6 marks deprecated.
RDFLIB_INTERNAL = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")


@RDFLIB_INTERNAL
async def test_the_catalogue_parses_and_meets_the_dcat_ap_shapes(tmp_path: Path) -> None:
    async with fake_nodes() as server, await _served(tmp_path) as runtime:
        await harvest_fixtures(runtime, server, {"13122": "penalolen", "13119": "maipu"})
        await runtime.releases.build()
        app = create_app(runtime.settings, runtime=runtime)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as http:
            jsonld = await http.get("/catalog.jsonld")
            turtle = await http.get("/catalog.ttl")
            later = await http.get("/catalog.ttl", params={"modified_since": "2099-01-01T00:00:00Z"})
            second = await http.get("/catalog.ttl", params={"page": 2})
            bad_page = await http.get("/catalog.ttl", params={"page": 0})
            naive = await http.get("/catalog.ttl", params={"modified_since": "2026-01-01T00:00:00"})
    assert jsonld.headers["content-type"].startswith("application/ld+json")
    assert turtle.headers["content-type"].startswith("text/turtle")
    from_jsonld = Graph().parse(data=jsonld.text, format="json-ld")
    from_turtle = Graph().parse(data=turtle.text, format="turtle")
    assert len(from_jsonld) == len(from_turtle)
    datasets = set(from_turtle.subjects(RDF.type, DCAT.Dataset))
    assert len(datasets) == 3  # the release and two commune feeds
    shapes = Graph().parse(data=SHAPES, format="turtle")
    for graph in (from_turtle, from_jsonld):
        conforms, _, report = shacl(graph, shacl_graph=shapes, inference="none")
        assert conforms, report
    broken = Graph().parse(data=turtle.text, format="turtle")
    some_dataset = next(iter(datasets))
    broken.remove((some_dataset, None, None))
    broken.add((some_dataset, RDF.type, DCAT.Dataset))  # a dataset with nothing said of it
    assert not shacl(broken, shacl_graph=shapes, inference="none")[0]  # the shapes do catch what is missing
    assert len(set(Graph().parse(data=later.text, format="turtle").subjects(RDF.type, DCAT.Dataset))) == 0
    assert len(set(Graph().parse(data=second.text, format="turtle").subjects(RDF.type, DCAT.Dataset))) == 0
    assert "hydra" in turtle.text
    assert bad_page.status_code == 400
    assert naive.status_code == 422


@RDFLIB_INTERNAL
@pytest.mark.parametrize("media", ["/catalog.jsonld", "/catalog.ttl"])
async def test_an_empty_federation_still_has_a_catalogue(tmp_path: Path, media: str) -> None:
    async with await _served(tmp_path) as runtime:
        app = create_app(runtime.settings, runtime=runtime)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as http:
            answer = await http.get(media)
    assert answer.status_code == 200
    graph = Graph().parse(data=answer.text, format="json-ld" if media.endswith("jsonld") else "turtle")
    assert len(set(graph.subjects(RDF.type, DCAT.Catalog))) == 1
