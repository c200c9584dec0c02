"""Bulk releases: the whole federation as of a cut-off, as files researchers load and cite.

A release is built once (monthly on the first day, Chile's time, or on demand with ``aggregator release
build``) into a folder of its own and never changed: it is written beside its final place and renamed
into it, so a reader never sees half of one, and a second build of the same release finds it there.
The same cut-off over the same history gives byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from ogp_federation.aggregator.common import AggregatorSettings
from ogp_federation.aggregator.common.chile import CHILE
from ogp_federation.core.db import Database
from ogp_federation.core.errors import InvalidInputError, NotFoundError

from .keys import KeyStore
from .release_files import MANIFEST, SIGNATURE, write_release
from .release_tables import read_tables

__all__ = ["ReleaseFile", "ReleaseService", "ReleaseView"]

PUBLISHER = "Asociación Chilena de Municipalidades"
_ID = re.compile(r"^ogp-(\d{4}-\d{2}|\d{8}T\d{6}Z)\Z")


class ReleaseView(msgspec.Struct, kw_only=True):
    """A release as the index lists it."""

    id: str
    cutoff: str
    files: int
    bytes: int
    rows: dict[str, int]
    manifest: str
    signature: str
    datapackage: str


@dataclass(frozen=True)
class ReleaseFile:
    """A file of a release: where it is, its size, and its strong ETag (its SHA-256)."""

    path: Path
    size: int
    etag: str
    media_type: str


_MEDIA = {
    ".csv": "text/csv; charset=utf-8",
    ".parquet": "application/vnd.apache.parquet",
    ".jsonl": "application/jsonl",
    ".json": "application/json",
    ".sig": "application/jose",
    ".cff": "application/x-yaml",
}


def monthly_cutoff(moment: datetime) -> datetime:
    """The start of ``moment``'s month in Chile's time (the cut-off of that month's release), in UTC."""
    local = moment.astimezone(CHILE)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


class ReleaseService:
    """Builds, lists and serves releases from ``releases_dir``."""

    def __init__(self, db: Database, settings: AggregatorSettings, keys: KeyStore) -> None:
        self.db = db
        self.settings = settings
        self.keys = keys
        self.folder = Path(settings.releases_dir)

    def release_id(self, cutoff: datetime, *, monthly: bool) -> str:
        """``ogp-YYYY-MM`` for a month's release, ``ogp-YYYYMMDDTHHMMSSZ`` for one on demand."""
        if monthly:
            return "ogp-" + cutoff.astimezone(CHILE).strftime("%Y-%m")
        return "ogp-" + cutoff.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    async def build(self, cutoff: datetime | None = None, *, monthly: bool = False) -> ReleaseView:
        """Build the release of ``cutoff`` (now, to the second, by default) unless it exists."""
        now = datetime.now(UTC)
        moment = (cutoff or now).astimezone(UTC).replace(microsecond=0)
        if moment > now:
            raise InvalidInputError(
                "el corte no puede estar en el futuro",
                "the cut-off cannot be in the future",
                errors=[{"path": "cutoff", "message": "after now", "value": moment.isoformat()}],
            )
        release_id = self.release_id(moment, monthly=monthly)
        target = self.folder / release_id
        if (target / SIGNATURE).exists():
            return self._view(release_id)
        async with self.db.sessions() as session:
            tables = await read_tables(session, moment)
        key = await self.keys.current()
        self.folder.mkdir(parents=True, exist_ok=True)
        staging = self.folder / f".{release_id}.{secrets.token_hex(4)}"
        try:
            write_release(
                staging,
                release_id=release_id,
                cutoff=moment,
                tables=tables,
                key=key,
                publisher=PUBLISHER,
                url=self.settings.public_url.rstrip("/") + f"/releases/{release_id}/",
            )
            try:
                staging.rename(target)
            except OSError:  # another process finished the same release first: theirs is the same
                if not (target / SIGNATURE).exists():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return self._view(release_id)

    async def monthly(self) -> ReleaseView:
        """This month's release (the daily job builds it on the month's first run)."""
        return await self.build(monthly_cutoff(datetime.now(UTC)), monthly=True)

    def releases(self) -> list[ReleaseView]:
        """Every complete release, newest cut-off first."""
        if not self.folder.is_dir():
            return []
        found = [p.name for p in self.folder.iterdir() if _ID.match(p.name) and (p / SIGNATURE).exists()]
        views = [self._view(name) for name in found]
        return sorted(views, key=lambda view: (view.cutoff, view.id), reverse=True)

    def file(self, release_id: str, path: str) -> ReleaseFile:
        """A file the release's manifest lists (or the manifest and its signature); nothing else."""
        if not _ID.match(release_id) or not (self.folder / release_id / SIGNATURE).exists():
            raise NotFoundError(f"no hay publicación {release_id[:40]}", f"no release {release_id[:40]}")
        manifest = self.manifest(release_id)
        listed = {item["path"]: item for item in manifest["files"]}
        folder = self.folder / release_id
        if path in (MANIFEST, SIGNATURE):
            content = (folder / path).read_bytes()
            digest, size = hashlib.sha256(content).hexdigest(), len(content)
        elif path in listed:
            digest, size = listed[path]["sha256"], listed[path]["bytes"]
        else:
            raise NotFoundError(f"la publicación no tiene {path[:80]}", f"the release has no {path[:80]}")
        suffix = Path(path).suffix
        return ReleaseFile(folder / path, size, f'"{digest}"', _MEDIA.get(suffix, "application/octet-stream"))

    def manifest(self, release_id: str) -> dict[str, Any]:
        """The release's manifest (its files with their sizes and SHA-256, its rows)."""
        loaded: dict[str, Any] = json.loads((self.folder / release_id / MANIFEST).read_bytes())
        return loaded

    async def catalogue(self, media: str, *, page: int = 1, modified_since: datetime | None = None) -> bytes:
        """The DCAT catalogue's page as ``media`` (``json-ld`` or ``turtle``)."""
        from .catalogue import catalogue_graph  # noqa: PLC0415 (rdflib loads only for the catalogue)

        base = self.settings.public_url.rstrip("/")
        listed = [(view, self.manifest(view.id)) for view in self.releases()]
        path = "/catalog.jsonld" if media == "json-ld" else "/catalog.ttl"
        async with self.db.sessions() as session:
            graph = await catalogue_graph(
                session, base=base, releases=listed, page=page, modified_since=modified_since, path=path
            )
        return graph.serialize(format=media).encode()

    def _view(self, release_id: str) -> ReleaseView:
        manifest = self.manifest(release_id)
        base = f"/releases/{release_id}/"
        return ReleaseView(
            id=release_id,
            cutoff=manifest["cutoff"],
            files=len(manifest["files"]),
            bytes=sum(item["bytes"] for item in manifest["files"]),
            rows=manifest["rows"],
            manifest=base + MANIFEST,
            signature=base + SIGNATURE,
            datapackage=base + "datapackage.json",
        )
