"""The communes reference: the 346 communes of Chile's División Político-Administrativa."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["Commune", "CommuneReference"]

_COLUMNS = ("cut", "name", "province_cut", "province", "region_cut", "region")


@dataclass(frozen=True, slots=True)
class Commune:
    """One commune of the DPA with its province and region."""

    cut: str
    name: str
    province_cut: str
    province: str
    region_cut: str
    region: str


class CommuneReference:
    """A lookup of communes by CUT."""

    def __init__(self, communes: Iterable[Commune]) -> None:
        self._by_cut = {commune.cut: commune for commune in communes}

    @classmethod
    def from_csv(cls, text: str) -> CommuneReference:
        """Read the ``cut,name,province_cut,province,region_cut,region`` CSV format.

        Raises :class:`ValueError` naming the line of a row without those columns or with an empty value.
        """
        communes = []
        for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
            if set(row) != set(_COLUMNS) or not all(row.values()):
                raise ValueError(f"line {line}: a commune needs {', '.join(_COLUMNS)}, each not empty")
            communes.append(Commune(**row))
        if not communes:
            raise ValueError("no communes: the first line names the columns, then one commune per line")
        return cls(communes)

    @staticmethod
    @cache
    def packaged() -> CommuneReference:
        """The reference shipped with the package (a copy of ``fixtures/communes.csv``)."""
        text = resources.files(__package__).joinpath("data", "communes.csv").read_text(encoding="utf-8")
        return CommuneReference.from_csv(text)

    def get(self, cut: str) -> Commune | None:
        """The commune with this CUT, if any."""
        return self._by_cut.get(cut)

    def __contains__(self, cut: object) -> bool:
        return cut in self._by_cut

    def __iter__(self) -> Iterator[Commune]:
        return iter(self._by_cut.values())

    def __len__(self) -> int:
        return len(self._by_cut)
