"""Read API of the benchmarks: the catalogue, comparisons (JSON and CSV) and commune profiles."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter

from ogp_federation.aggregator.common.params import AsOf, CutPath, moment

from .downloads import comparison_csv
from .schemas import Catalogue, Comparison, Profile
from .service import BenchmarkService

__all__ = ["HANDLERS"]

Benchmarks = NamedDependency[BenchmarkService]
Code = Annotated[str, PathParameter(pattern=r"^[a-z][a-z0-9_]{1,62}$", description="A catalogue indicator code.")]
Period = Annotated[
    str | None, QueryParameter(max_length=10, description="2025 (year), 2025-Q3 or 2025-09; default: the latest.")
]
Group = Annotated[
    str,
    QueryParameter(
        max_length=80,
        description="todas, region:13, provincia:131, subdere:3, poblacion:2, grupo:NAME or similares:CUT.",
    ),
]
MarkedCut = Annotated[str | None, QueryParameter(pattern=r"^[0-9]{5}$", description="A commune to mark (CUT).")]


@get("/api/v1/indicators", tags=["benchmarks"], sync_to_thread=False)
def indicators(benchmarks: Benchmarks) -> Catalogue:
    """The federation indicator catalogue (its version, and every indicator's definition)."""
    return benchmarks.catalogue()


@get("/api/v1/indicators/{code:str}/comparison", tags=["benchmarks"])
async def comparison(
    benchmarks: Benchmarks,
    *,
    code: Code,
    period: Period = None,
    group: Group = "todas",
    cut: MarkedCut = None,
    as_of: AsOf = None,
) -> Comparison:
    """One indicator, one period, one peer group: distribution, ranking, and where ``cut`` stands."""
    return await benchmarks.compare(code, period=period, group=group, cut=cut, as_of=moment(as_of))


@get("/api/v1/indicators/{code:str}/comparison.csv", tags=["benchmarks"])
async def comparison_download(
    benchmarks: Benchmarks,
    *,
    code: Code,
    period: Period = None,
    group: Group = "todas",
    cut: MarkedCut = None,
    as_of: AsOf = None,
) -> Response[bytes]:
    """The same comparison as CSV (UTF-8 with BOM, so spreadsheet programs read the accents)."""
    result = await benchmarks.compare(code, period=period, group=group, cut=cut, as_of=moment(as_of))
    name = f"{result.code}-{result.period}-{result.group.replace(':', '-')}.csv"
    return Response(
        comparison_csv(result),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@get("/api/v1/communes/{cut:str}/profile", tags=["benchmarks"])
async def profile(benchmarks: Benchmarks, cut: CutPath, group: Group = "todas", as_of: AsOf = None) -> Profile:
    """Every catalogue indicator of a commune, in its latest period, against a peer group."""
    return await benchmarks.profile(cut, group=group, as_of=moment(as_of))


HANDLERS = [indicators, comparison, comparison_download, profile]
