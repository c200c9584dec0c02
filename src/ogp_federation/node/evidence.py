"""Evidence files: size- and type-checked uploads, stored by SHA-256, served back at a stable URL."""

from __future__ import annotations

import hashlib
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from ogp_federation.core.db import Database
from ogp_federation.core.errors import NotFoundError, PayloadTooLargeError, UnsupportedMediaError

from .models import EvidenceFile

__all__ = ["ALLOWED_TYPES", "EvidenceStore"]

# Content type by extension, and the leading bytes a genuine file of that type starts with. HTML and
# SVG are refused: served from the node's origin they could run scripts.
ALLOWED_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".csv": ("text/csv", ()),
    ".txt": ("text/plain", ()),
    ".json": ("application/json", ()),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    ".odt": ("application/vnd.oasis.opendocument.text", (b"PK\x03\x04",)),
    ".ods": ("application/vnd.oasis.opendocument.spreadsheet", (b"PK\x03\x04",)),
}
_TEXT_TYPES = {"text/csv", "text/plain", "application/json"}
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class EvidenceStore:
    """Files under ``<data_dir>/evidence/<sha256>`` with their metadata in the database."""

    def __init__(self, db: Database, folder: Path, max_bytes: int) -> None:
        self.db = db
        self.folder = folder
        self.max_bytes = max_bytes

    async def add(self, filename: str, content: bytes, author: str) -> EvidenceFile:
        """Check and store ``content``; the same bytes uploaded twice are stored once."""
        if len(content) > self.max_bytes:
            raise PayloadTooLargeError(
                f"el archivo pesa {len(content)} bytes; el máximo es {self.max_bytes}",
                f"the file is {len(content)} bytes; the maximum is {self.max_bytes}",
            )
        content_type = self._content_type(filename, content)
        digest = hashlib.sha256(content).hexdigest()
        async with self.db.transaction() as session:
            existing = await session.get(EvidenceFile, digest)
            if existing is not None:
                return existing
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary = self.folder / f".{digest}.part"
            temporary.write_bytes(content)
            os.replace(temporary, self.folder / digest)
            row = EvidenceFile(
                sha256=digest,
                filename=Path(filename).name[:255] or digest,
                content_type=content_type,
                size=len(content),
                uploaded_at=datetime.now(UTC),
                uploaded_by=author,
            )
            session.add(row)
        return row

    async def get(self, sha256: str) -> tuple[EvidenceFile, Path]:
        """The metadata and file path of an uploaded file."""
        if not _SHA256.fullmatch(sha256):
            raise NotFoundError("evidencia no encontrada", "evidence not found")
        async with self.db.sessions() as session:
            row = await session.get(EvidenceFile, sha256.lower())
        path = self.folder / sha256.lower()
        if row is None or not path.is_file():
            raise NotFoundError("evidencia no encontrada", "evidence not found")
        return row, path

    @staticmethod
    def _content_type(filename: str, content: bytes) -> str:
        suffix = Path(filename).suffix.lower()
        if suffix not in ALLOWED_TYPES:
            raise UnsupportedMediaError(
                f"tipo de archivo «{suffix or '?'}» no permitido; se aceptan {', '.join(ALLOWED_TYPES)}",
                f"file type '{suffix or '?'}' not allowed; accepted: {', '.join(ALLOWED_TYPES)}",
            )
        content_type, magics = ALLOWED_TYPES[suffix]
        if magics and not content.startswith(magics):
            raise UnsupportedMediaError(
                f"el contenido no es un {suffix} válido", f"the content is not a valid {suffix} file"
            )
        if content_type in _TEXT_TYPES:
            try:
                content.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UnsupportedMediaError("el texto no es UTF-8", "the text is not UTF-8") from exc
        return content_type
