"""The communes reference used by benchmarks: the real 346, extended with synthetic ones beyond that."""

from __future__ import annotations

from ogp_federation.feed.reference import Commune, CommuneReference


def reference_for(count: int) -> CommuneReference:
    """The real communes, plus synthetic ones (CUTs 20000…) when ``count`` exceeds 346."""
    real = list(CommuneReference.packaged())
    extra = [
        Commune(
            cut=f"{20000 + i:05d}",
            name=f"Comuna sintética {i}",
            province_cut="200",
            province="Sintética",
            region_cut="20",
            region="Región sintética",
        )
        for i in range(max(0, count - len(real)))
    ]
    return CommuneReference(real + extra)
