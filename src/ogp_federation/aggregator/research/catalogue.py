"""The federation's DCAT catalogue (DCAT-AP): the bulk releases and one dataset per commune's feed.

Served as JSON-LD and Turtle, paged like ckanext-dcat's endpoints (``page``, ``modified_since``, Hydra
paging), so CKAN's DCAT harvester and the national open-data portal can harvest it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.aggregator.history import FeedVersion, current_feed
from ogp_federation.aggregator.registry import Commune, Node
from ogp_federation.core.errors import InvalidInputError

from .releases import PUBLISHER, ReleaseView

__all__ = ["PAGE_SIZE", "catalogue_graph"]

PAGE_SIZE = 100
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
STABLE = URIRef("http://publications.europa.eu/resource/authority/planned-availability/STABLE")
AVAILABLE = URIRef("http://publications.europa.eu/resource/authority/planned-availability/AVAILABLE")
EU = "http://publications.europa.eu/resource/authority/"
SPANISH, ENGLISH = URIRef(EU + "language/SPA"), URIRef(EU + "language/ENG")
THEME = URIRef(EU + "data-theme/GOVE")  # government and public sector
CHILE = URIRef("http://publications.europa.eu/resource/authority/country/CHL")
LICENCE = URIRef("https://creativecommons.org/licenses/by/4.0/")
_FORMATS = {
    ".csv": ("CSV", "text/csv"),
    ".parquet": ("PARQUET", "application/vnd.apache.parquet"),
    ".jsonl": ("JSON_LINES", "application/jsonl"),
}


def _text(graph: Graph, subject: URIRef, predicate: URIRef, es: str, en: str) -> None:
    graph.add((subject, predicate, Literal(es, lang="es")))
    graph.add((subject, predicate, Literal(en, lang="en")))


def _publisher(graph: Graph, base: str) -> URIRef:
    agent = URIRef(base + "/#asociacion")
    graph.add((agent, RDF.type, FOAF.Agent))
    graph.add((agent, FOAF.name, Literal(PUBLISHER, lang="es")))
    return agent


def _contact(graph: Graph, name: str, email: str | None, url: str | None) -> BNode:
    contact = BNode()
    graph.add((contact, RDF.type, VCARD.Kind))
    graph.add((contact, VCARD.fn, Literal(name)))
    if email:
        graph.add((contact, VCARD.hasEmail, URIRef("mailto:" + email)))
    if url:
        graph.add((contact, VCARD.hasURL, URIRef(url)))
    return contact


def _period(graph: Graph, start: str | None, end: str | None) -> BNode:
    """A dct:PeriodOfTime from ``start`` to ``end`` (dates or date-times in ISO 8601)."""
    period = BNode()
    graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
    for predicate, value in ((DCAT.startDate, start), (DCAT.endDate, end)):
        if value:
            kind = XSD.dateTime if "T" in value else XSD.date
            graph.add((period, predicate, Literal(value, datatype=kind)))
    return period


def _when(moment: datetime) -> Literal:
    return Literal(moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z", datatype=XSD.dateTime)


def _release_dataset(graph: Graph, base: str, release: ReleaseView, manifest: dict[str, Any], agent: URIRef) -> URIRef:
    dataset = URIRef(f"{base}/releases/{release.id}/")
    graph.add((dataset, RDF.type, DCAT.Dataset))
    _text(
        graph,
        dataset,
        DCTERMS.title,
        f"Federación de planes locales de Gobierno Abierto — publicación {release.id}",
        f"Federation of local Open Government plans — release {release.id}",
    )
    _text(
        graph,
        dataset,
        DCTERMS.description,
        "Todas las comunas al corte: cada colección del estándar Plan Feed, indicadores, puntajes de calidad"
        " y registro.",
        "Every commune as of the cut-off: each Plan Feed collection, indicators, quality scores and the registry.",
    )
    graph.add((dataset, DCTERMS.identifier, Literal(release.id)))
    graph.add((dataset, DCTERMS.publisher, agent))
    graph.add((dataset, DCAT.contactPoint, _contact(graph, PUBLISHER, None, base)))
    graph.add((dataset, DCTERMS.issued, Literal(release.cutoff, datatype=XSD.dateTime)))
    graph.add((dataset, DCTERMS.modified, Literal(release.cutoff, datatype=XSD.dateTime)))
    graph.add((dataset, DCTERMS.spatial, CHILE))
    graph.add((dataset, DCAT.theme, THEME))
    graph.add((dataset, ADMS.versionNotes, Literal(f"manifest: {base}{release.manifest}")))
    graph.add((dataset, DCTERMS.temporal, _period(graph, manifest.get("from"), release.cutoff)))
    for word in ("gobierno abierto", "OGP Local", "municipalidades", "Chile"):
        graph.add((dataset, DCAT.keyword, Literal(word, lang="es")))
    for item in manifest["files"]:
        kind = _FORMATS.get("." + item["path"].rpartition(".")[2])
        if kind is None:
            continue
        url = URIRef(f"{base}/releases/{release.id}/{item['path']}")
        distribution = URIRef(f"{url}#distribution")
        graph.add((dataset, DCAT.distribution, distribution))
        graph.add((distribution, RDF.type, DCAT.Distribution))
        graph.add((distribution, DCAT.accessURL, URIRef(f"{base}/releases/{release.id}/")))
        graph.add((distribution, DCAT.downloadURL, url))
        graph.add((distribution, DCTERMS.title, Literal(item["path"])))
        _text(graph, distribution, DCTERMS.description, f"{item['path']} ({kind[0]})", f"{item['path']} ({kind[0]})")
        graph.add((distribution, DCTERMS.format, URIRef(EU + "file-type/" + kind[0])))
        graph.add((distribution, DCAT.mediaType, URIRef("https://www.iana.org/assignments/media-types/" + kind[1])))
        graph.add((distribution, DCAT.byteSize, Literal(item["bytes"], datatype=XSD.nonNegativeInteger)))
        graph.add((distribution, DCTERMS.license, LICENCE))
        graph.add((distribution, DCATAP.availability, STABLE))
        checksum = BNode()
        graph.add((distribution, SPDX.checksum, checksum))
        graph.add((checksum, RDF.type, SPDX.Checksum))
        graph.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        graph.add((checksum, SPDX.checksumValue, Literal(item["sha256"], datatype=XSD.hexBinary)))
    return dataset


async def _commune_datasets(
    session: AsyncSession, graph: Graph, base: str, agent: URIRef, *, since: datetime | None, page: int
) -> tuple[list[URIRef], int]:
    """One dataset per commune feed harvested (a page of them) and how many there are in all."""
    latest = (
        select(FeedVersion.cut, func.max(FeedVersion.accepted_at).label("modified"))
        .where(FeedVersion.status == "accepted")
        .group_by(FeedVersion.cut)
        .subquery()
    )
    query = (
        select(Commune.cut, Commune.name, Commune.region, Node.feed_url, latest.c.modified)
        .join(latest, latest.c.cut == Commune.cut)
        .join(Node, Node.cut == Commune.cut)
    )
    if since is not None:
        query = query.where(latest.c.modified > since)
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = (await session.execute(query.order_by(Commune.cut).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))).all()
    datasets = []
    for row in rows:
        found = await current_feed(session, row.cut)
        feed = found[0] if found else None
        dataset = URIRef(f"{base}/api/v1/communes/{row.cut}/feed")
        datasets.append(dataset)
        graph.add((dataset, RDF.type, DCAT.Dataset))
        _text(
            graph,
            dataset,
            DCTERMS.title,
            f"Plan de Gobierno Abierto de {row.name}",
            f"Open Government plan of {row.name}",
        )
        _text(
            graph,
            dataset,
            DCTERMS.description,
            f"Compromisos, hitos, participación, indicadores y metodologías de {row.name} ({row.region}), "
            "firmados por la comuna y cosechados por la federación.",
            f"Commitments, milestones, participation, indicators and methodologies of {row.name} ({row.region}), "
            "signed by the commune and harvested by the federation.",
        )
        graph.add((dataset, DCTERMS.identifier, Literal(row.cut)))
        graph.add((dataset, DCTERMS.publisher, agent))
        graph.add((dataset, DCTERMS.modified, _when(row.modified)))
        graph.add((dataset, DCTERMS.spatial, CHILE))
        graph.add((dataset, DCAT.theme, THEME))
        graph.add((dataset, DCAT.keyword, Literal("gobierno abierto", lang="es")))
        graph.add((dataset, DCAT.keyword, Literal(row.name, lang="es")))
        contact = feed.contact if feed is not None else None
        name = contact.name if contact is not None else row.name
        email = contact.email if contact is not None else None
        graph.add((dataset, DCAT.contactPoint, _contact(graph, name, email, None)))
        licence = URIRef(feed.license) if feed is not None and feed.license.startswith("http") else LICENCE
        for url, media, title in (
            (f"{base}/api/v1/communes/{row.cut}/feed", "application/json", "harvested feed (exact signed bytes)"),
            (row.feed_url, "application/json", "the commune's own feed"),
        ):
            distribution = URIRef(f"{url}#distribution")
            graph.add((dataset, DCAT.distribution, distribution))
            graph.add((distribution, RDF.type, DCAT.Distribution))
            graph.add((distribution, DCAT.accessURL, URIRef(url)))
            graph.add((distribution, DCAT.downloadURL, URIRef(url)))
            graph.add((distribution, DCTERMS.title, Literal(title, lang="en")))
            _text(
                graph, distribution, DCTERMS.description, "Plan Feed v1 (JSON), firmado", "Plan Feed v1 (JSON), signed"
            )
            graph.add((distribution, DCTERMS.format, URIRef(EU + "file-type/JSON")))
            graph.add((distribution, DCAT.mediaType, URIRef("https://www.iana.org/assignments/media-types/" + media)))
            graph.add((distribution, DCTERMS.license, licence))
            graph.add((distribution, DCATAP.availability, AVAILABLE))
        plans = feed.action_plans if feed is not None else []
        starts = sorted(plan.start.isoformat() for plan in plans)
        ends = sorted(plan.end.isoformat() for plan in plans)
        graph.add(
            (dataset, DCTERMS.temporal, _period(graph, starts[0] if starts else None, ends[-1] if ends else None))
        )
    return datasets, total


async def catalogue_graph(
    session: AsyncSession,
    *,
    base: str,
    releases: list[tuple[ReleaseView, dict[str, Any]]],
    page: int = 1,
    modified_since: datetime | None = None,
    path: str = "/catalog.jsonld",
) -> Graph:
    """The catalogue's page ``page`` (releases on the first page; commune feeds paged by 100)."""
    if page < 1 or page > 10_000:
        raise InvalidInputError("página inválida", "invalid page", errors=[{"path": "page", "message": "from 1"}])
    graph = Graph()
    for prefix, namespace in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("vcard", VCARD), ("hydra", HYDRA)):
        graph.bind(prefix, namespace)
    graph.bind("spdx", SPDX)
    graph.bind("dcatap", DCATAP)
    catalogue = URIRef(base + "/catalog")
    agent = _publisher(graph, base)
    graph.add((catalogue, RDF.type, DCAT.Catalog))
    _text(
        graph,
        catalogue,
        DCTERMS.title,
        "Federación de planes locales de Gobierno Abierto (AChM)",
        "Federation of local Open Government plans (Chile's association of municipalities)",
    )
    _text(
        graph,
        catalogue,
        DCTERMS.description,
        "Los planes de acción de Gobierno Abierto de las comunas de Chile, firmados y con su historia completa.",
        "Chile's communes' Open Government action plans, signed, with their whole history.",
    )
    graph.add((catalogue, DCTERMS.publisher, agent))
    graph.add((catalogue, FOAF.homepage, URIRef(base + "/")))
    graph.add((catalogue, DCTERMS.language, SPANISH))
    graph.add((catalogue, DCTERMS.language, ENGLISH))
    graph.add((catalogue, DCTERMS.license, LICENCE))
    graph.add((catalogue, DCTERMS.spatial, CHILE))
    graph.add((catalogue, DCAT.themeTaxonomy, URIRef(EU + "data-theme")))
    datasets: list[URIRef] = []
    if page == 1:
        for release, manifest in releases:
            cutoff = datetime.fromisoformat(release.cutoff.replace("Z", "+00:00"))
            if modified_since is None or cutoff > modified_since:
                datasets.append(_release_dataset(graph, base, release, manifest, agent))
    communes, total = await _commune_datasets(session, graph, base, agent, since=modified_since, page=page)
    datasets += communes
    for dataset in datasets:
        graph.add((catalogue, DCAT.dataset, dataset))
    modified = max((m for m in graph.objects(None, DCTERMS.modified)), default=None, key=str)
    if modified is not None:
        graph.add((catalogue, DCTERMS.modified, modified))
    last = max(1, -(-total // PAGE_SIZE))
    paging = URIRef(f"{base}{path}?page={page}")
    graph.add((paging, RDF.type, HYDRA.PagedCollection))
    graph.add((paging, HYDRA.totalItems, Literal(total + len(releases))))
    graph.add((paging, HYDRA.itemsPerPage, Literal(PAGE_SIZE)))
    graph.add((paging, HYDRA.firstPage, Literal(f"{base}{path}?page=1")))
    graph.add((paging, HYDRA.lastPage, Literal(f"{base}{path}?page={last}")))
    if page < last:
        graph.add((paging, HYDRA.nextPage, Literal(f"{base}{path}?page={page + 1}")))
    if page > 1:
        graph.add((paging, HYDRA.previousPage, Literal(f"{base}{path}?page={page - 1}")))
    return graph
