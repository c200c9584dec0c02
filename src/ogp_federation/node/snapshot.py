"""A published feed as served: exact bytes, signature, gzip copy, ETag and Last-Modified, built once."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from functools import cached_property
from typing import Any

from ogp_federation.feed import SPEC_VERSION, PlanFeed, decode
from ogp_federation.feed.reference import CommuneReference

from .settings import NodeSettings

__all__ = ["Snapshot", "envelope"]


@dataclass(frozen=True)
class Snapshot:
    """One publication, ready to serve without further work."""

    sequence: int
    generated_at: datetime
    body: bytes
    signature: str
    kid: str
    gzip_body: bytes = field(repr=False)
    etag: str
    last_modified: str

    @classmethod
    def of(cls, sequence: int, generated_at: datetime, body: bytes, signature: str, kid: str) -> Snapshot:
        """Build the served form of a publication (gzip and validators computed here, once)."""
        digest = hashlib.sha256(body).hexdigest()[:20]
        return cls(
            sequence=sequence,
            generated_at=generated_at,
            body=body,
            signature=signature,
            kid=kid,
            gzip_body=gzip.compress(body, compresslevel=6, mtime=0),
            etag=f'"{sequence}-{digest}"',
            last_modified=format_datetime(generated_at.replace(microsecond=0), usegmt=True),
        )

    @cached_property
    def feed(self) -> PlanFeed:
        """The decoded feed (for the citizen page)."""
        return decode(self.body)

    @cached_property
    def pages(self) -> dict[str, str | None]:
        """The citizen pages rendered from this publication, by path (and the day they were rendered on).

        They live with the publication of the node they belong to: several nodes served by one process
        never see each other's pages, and a new publication starts with none.
        """
        return {}


def envelope(settings: NodeSettings, reference: CommuneReference) -> dict[str, Any]:
    """The feed's envelope fields that come from configuration and the communes reference."""
    commune = reference.get(settings.cut)
    if commune is None:
        raise ValueError(f"unknown CUT {settings.cut}")
    publisher: dict[str, Any] = {
        "cut": commune.cut,
        "name": commune.name,
        "region_cut": commune.region_cut,
        "province_cut": commune.province_cut,
        "identifiers": [{"scheme": "CL-CUT", "id": commune.cut}]
        + [{"scheme": i.scheme, "id": i.id} for i in settings.publisher.identifiers],
    }
    extra = settings.publisher
    if extra.population is not None:
        publisher["population"] = {
            "value": extra.population,
            "year": extra.population_year or datetime.now().year,  # noqa: DTZ005 (a year, no zone)
            **({"source": extra.population_source} if extra.population_source else {}),
        }
    if extra.subdere_group is not None:
        publisher["subdere_group"] = extra.subdere_group
    contact = {
        k: v
        for k, v in (
            ("name", settings.contact.name),
            ("email", settings.contact.email),
            ("url", settings.contact.url),
            ("phone", settings.contact.phone),
        )
        if v
    }
    return {"spec_version": SPEC_VERSION, "publisher": publisher, "license": settings.license, "contact": contact}
