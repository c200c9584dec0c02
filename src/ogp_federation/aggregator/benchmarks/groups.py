"""Peer groups: who a commune is compared with.

A group is named by a short spec, the same in the API, the CLI and the dashboard:

``todas`` (every commune) · ``region:13`` · ``provincia:131`` · ``subdere:3`` (SUBDERE typology group) ·
``poblacion:2`` (the second population band of ``population_bands``) · ``grupo:NAME`` (a custom group
of the registry) · ``similares:13122`` ("communes like mine": the ``similar_communes`` nearest
communes to 13122 and 13122 itself).

"Like mine" measures distance as ``|log10(pop_a) − log10(pop_b)|`` (a commune ten times larger is one
unit away) plus 1 when the SUBDERE groups differ and 0.5 when the regions differ; communes without a
population in the registry are not neighbours. Ties are broken by CUT, so the group is deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ogp_federation.core.errors import InvalidInputError

__all__ = ["Member", "resolve_group"]

KINDS = ("todas", "region", "provincia", "subdere", "poblacion", "grupo", "similares")
_ALIASES = {"all": "todas", "province": "provincia", "population": "poblacion", "group": "grupo", "like": "similares"}


@dataclass(frozen=True)
class Member:
    """What groups are formed from: a commune's registry attributes."""

    cut: str
    name: str
    region_cut: str
    province_cut: str
    population: int | None
    subdere_group: int | None
    groups: tuple[str, ...]


def _refuse(spec: str, why_es: str, why_en: str) -> InvalidInputError:
    return InvalidInputError(
        f"grupo de pares inválido: {why_es}",
        f"invalid peer group: {why_en}",
        errors=[{"path": "group", "message": why_es, "message_en": why_en, "value": spec[:100]}],
        code="benchmarks.group",
    )


def _band(population: int, bands: list[int]) -> int:
    return 1 + sum(1 for limit in bands if population > limit)


def _distance(a: Member, b: Member) -> float:
    distance = abs(math.log10(a.population or 1) - math.log10(b.population or 1))  # both have one (caller)
    distance += 0.0 if a.subdere_group == b.subdere_group else 1.0
    return distance + (0.0 if a.region_cut == b.region_cut else 0.5)


def resolve_group(  # noqa: PLR0912 (one branch per kind of group)
    spec: str, members: list[Member], *, bands: list[int], similar: int
) -> tuple[str, list[Member]]:
    """The canonical spec and the members of the group ``spec`` names (a clear 422 when it names none)."""
    kind, _, arg = spec.strip().partition(":")
    kind = _ALIASES.get(kind.lower(), kind.lower())
    if kind not in KINDS:
        raise _refuse(
            spec, f"tipo desconocido; use uno de {', '.join(KINDS)}", f"unknown kind; use one of {', '.join(KINDS)}"
        )
    if kind == "todas":
        return "todas", members
    if not arg:
        raise _refuse(spec, f"falta el valor tras «{kind}:»", f"a value is missing after '{kind}:'")
    chosen: list[Member]
    if kind == "region":
        chosen = [m for m in members if m.region_cut == arg.zfill(2)]
    elif kind == "provincia":
        chosen = [m for m in members if m.province_cut == arg.zfill(3)]
    elif kind in ("subdere", "poblacion"):
        if not arg.isdigit():
            raise _refuse(spec, "el valor debe ser un número", "the value must be a number")
        number = int(arg)
        if kind == "subdere":
            chosen = [m for m in members if m.subdere_group == number]
        else:
            if not 1 <= number <= len(bands) + 1:
                raise _refuse(spec, f"hay {len(bands) + 1} tramos de población", f"there are {len(bands) + 1} bands")
            chosen = [m for m in members if m.population is not None and _band(m.population, bands) == number]
    elif kind == "grupo":
        chosen = [m for m in members if arg in m.groups]
    else:
        chosen = _similar(spec, arg, members, similar)
    if not chosen:
        raise _refuse(spec, "ninguna comuna pertenece a ese grupo", "no commune belongs to that group")
    return f"{kind}:{arg}", chosen


def _similar(spec: str, cut: str, members: list[Member], similar: int) -> list[Member]:
    me = next((m for m in members if m.cut == cut), None)
    if me is None:
        raise _refuse(spec, f"la comuna {cut[:10]} no existe", f"commune {cut[:10]} does not exist")
    if not me.population:
        raise _refuse(
            spec,
            f"la comuna {cut} no tiene población en el registro (aggregator commune set)",
            f"commune {cut} has no population in the registry (aggregator commune set)",
        )
    others = [m for m in members if m.cut != cut and m.population]
    others.sort(key=lambda m: (_distance(me, m), m.cut))
    return [me, *others[:similar]]
