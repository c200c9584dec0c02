"""Read API of the methodology library: search, who already did this, methodologies and cooperation."""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter

from ogp_federation.aggregator.common.params import CutPath

from .schemas import CommitmentSuggestions, Cooperation, MethodologyView, SearchPage, Suggestion
from .service import Filters, LibraryService

__all__ = ["HANDLERS"]

Library = NamedDependency[LibraryService]


@get("/api/v1/library/search", tags=["library"])
async def search(  # noqa: PLR0917 (one query parameter per filter)
    library: Library,
    q: Annotated[str, QueryParameter(max_length=10_000, description='Words, "a phrase", a OR b, -excluded.')],
    kind: Annotated[str | None, QueryParameter(description="methodology or commitment.")] = None,
    pillar: Annotated[str | None, QueryParameter(max_length=60, description="A pillar (Plan Feed code).")] = None,
    region: Annotated[str | None, QueryParameter(pattern=r"^[0-9]{2}$", description="Region code.")] = None,
    subdere: Annotated[int | None, QueryParameter(ge=1, le=5, description="SUBDERE group.")] = None,
    band: Annotated[int | None, QueryParameter(ge=1, le=21, description="Population band.")] = None,
    commitment_status: Annotated[  # ("status" names the status service among the dependencies)
        str | None, QueryParameter(name="status", max_length=20, description="A commitment's status.")
    ] = None,
    has_resources: Annotated[bool | None, QueryParameter(description="With resources or evidence.")] = None,
    license: Annotated[str | None, QueryParameter(max_length=200, description="Licence (e.g. CC-BY-4.0).")] = None,
    page: Annotated[int, QueryParameter(ge=1, le=100)] = 1,
    limit: Annotated[int, QueryParameter(ge=1, le=50)] = 20,
) -> SearchPage:
    """Methodologies and commitments of every commune, searched in Spanish, best first, with snippets."""
    filters = Filters(
        kind=kind,
        pillar=pillar,
        region=region,
        subdere=subdere,
        band=band,
        status=commitment_status,
        has_resources=has_resources,
        license=license,
    )
    return await library.search(q, filters, page=page, limit=limit)


@get("/api/v1/library/suggestions", tags=["library"])
async def suggestions_for_text(
    library: Library,
    text: Annotated[str, QueryParameter(max_length=10_000, description="What the commune plans, in its words.")],
    cut: Annotated[str | None, QueryParameter(pattern=r"^[0-9]{5}$", description="The asking commune.")] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=50)] = 10,
) -> list[Suggestion]:
    """Who already did this: the most similar commitments and methodologies elsewhere, peers and proven work first."""
    return await library.suggest(text, cut=cut, limit=limit)


@get("/api/v1/communes/{cut:str}/suggestions", tags=["library"])
async def commune_suggestions(
    library: Library,
    cut: CutPath,
    page: Annotated[int, QueryParameter(ge=1, le=100)] = 1,
    limit: Annotated[int, QueryParameter(ge=1, le=50, description="Commitments per page.")] = 10,
) -> list[CommitmentSuggestions]:
    """For each current commitment of the commune (a page of them), who elsewhere already did something like it."""
    return await library.suggestions(cut, page=page, limit=limit)


@get("/api/v1/library/methodologies/{cut:str}/{key:str}", tags=["library"])
async def methodology(
    library: Library,
    cut: CutPath,
    key: Annotated[str, PathParameter(pattern=r"^[A-Za-z0-9._-]{1,128}$", description="Its id in that feed.")],
) -> MethodologyView:
    """A methodology with who adopted it and when, and where it came from."""
    return await library.methodology(cut, key)


@get("/api/v1/communes/{cut:str}/cooperation", tags=["library"])
async def cooperation(library: Library, cut: CutPath) -> Cooperation:
    """What the commune adopted from others (verified or flagged) and what others adopted from it."""
    return await library.cooperation(cut)


HANDLERS = [search, suggestions_for_text, commune_suggestions, methodology, cooperation]
