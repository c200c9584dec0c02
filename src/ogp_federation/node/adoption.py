"""Adopting another commune's methodology from the federation's library, checked against its signature.

The library (the aggregator's read API) only locates the methodology: the text that is adopted is read
from the exact bytes the publishing commune signed (the harvested version that brought the methodology
as it stands), and those bytes are verified with that commune's public keys before anything is kept.
The result is a draft: nothing is published until the staff have edited it and publish it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import msgspec

from ogp_federation.core.errors import FetchError, InvalidInputError, NotFoundError, OGPError
from ogp_federation.feed import Entity, signing
from ogp_federation.feed.model import Contact
from ogp_federation.feed.protocol import SIGNATURE_HEADER

from .drafts import DraftService, DraftView
from .settings import NodeSettings

__all__ = ["Adopter", "LibraryReader", "SignedMethodology", "adopted_record"]

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_VIEW_BYTES = 2 * 1024 * 1024
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
MAX_KEYS_BYTES = 256 * 1024


class _Located(msgspec.Struct, kw_only=True):
    """What the library says of a methodology that this node needs: where its signed text is."""

    cut: str
    key: str
    signed_version_id: int | None = None


class SignedMethodology(msgspec.Struct, kw_only=True):
    """A methodology read from a signed version, with what proves it."""

    cut: str
    key: str
    record: dict[str, Any]
    version_id: int
    kid: str
    library_url: str


def _unreachable(url: str, detail: str) -> FetchError:
    return FetchError(
        f"no se pudo leer {url} de la biblioteca",
        f"cannot read {url} from the library",
        code="library.fetch",
        detail=detail,
    )


class LibraryReader:
    """Reads the federation's library over HTTP (``transport`` is injectable for tests)."""

    def __init__(self, base_url: str, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.transport = transport

    async def signed_methodology(self, cut: str, key: str, *, jwks: bytes | None = None) -> SignedMethodology:
        """Methodology ``key`` of ``cut`` from the bytes ``cut`` signed, verified with ``jwks`` (else the
        public keys the federation pinned for ``cut``)."""
        async with httpx.AsyncClient(timeout=TIMEOUT, transport=self.transport, follow_redirects=False) as client:
            located_url = f"/api/v1/library/methodologies/{quote(cut, safe='')}/{quote(key, safe='')}"
            located_body, _ = await self._get(client, located_url, MAX_VIEW_BYTES, missing=(cut, key))
            try:
                located = msgspec.json.decode(located_body, type=_Located)
            except msgspec.DecodeError as exc:
                raise _unreachable(located_url, f"unexpected answer: {exc}") from exc
            if located.signed_version_id is None:
                raise FetchError(
                    f"la biblioteca no tiene la versión firmada de la metodología {key} de {cut}",
                    f"the library has no signed version holding methodology {key} of {cut}",
                    code="library.unsigned",
                )
            document_url = f"/api/v1/versions/{located.signed_version_id}/document"
            body, headers = await self._get(client, document_url, MAX_DOCUMENT_BYTES)
            if jwks is None:
                jwks, _ = await self._get(client, f"/api/v1/communes/{quote(cut, safe='')}/keys", MAX_KEYS_BYTES)
        signature = headers.get(SIGNATURE_HEADER)
        if not signature:
            raise _unreachable(document_url, f"no {SIGNATURE_HEADER} header")
        try:
            verified = signing.verify(body, signature, signing.load_jwks(jwks))
        except OGPError as exc:
            raise FetchError(
                f"la versión {located.signed_version_id} no verifica con las claves de {cut}: no se adopta",
                f"version {located.signed_version_id} does not verify with {cut}'s keys: nothing adopted",
                code="library.unverified",
                detail=exc.describe("en"),
            ) from exc
        record = _methodology_in(body, cut, key)
        if record is None:
            raise FetchError(
                f"la versión firmada {located.signed_version_id} no contiene la metodología {key} de {cut}",
                f"signed version {located.signed_version_id} does not hold methodology {key} of {cut}",
                code="library.mismatch",
            )
        return SignedMethodology(
            cut=cut,
            key=key,
            record=record,
            version_id=located.signed_version_id,
            kid=verified.kid,
            library_url=self.base_url,
        )

    async def _get(
        self, client: httpx.AsyncClient, path: str, limit: int, *, missing: tuple[str, str] | None = None
    ) -> tuple[bytes, httpx.Headers]:
        url = self.base_url + path
        try:
            async with client.stream("GET", url, headers={"Accept": "application/json"}) as response:
                if response.status_code == 404 and missing is not None:
                    raise NotFoundError(
                        f"la metodología {missing[1]} de {missing[0]} no está en la biblioteca",
                        f"methodology {missing[1]} of {missing[0]} is not in the library",
                    )
                if response.status_code != 200:
                    raise _unreachable(path, f"HTTP {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise _unreachable(path, f"larger than {limit} bytes")
                return bytes(body), response.headers
        except httpx.HTTPError as exc:
            raise _unreachable(path, str(exc) or type(exc).__name__) from exc


def _methodology_in(body: bytes, cut: str, key: str) -> dict[str, Any] | None:
    """The methodology ``key`` in a signed full feed or change page of ``cut`` (None when not there)."""
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None
    if not isinstance(document, dict):
        return None
    publisher = document.get("publisher")
    signed_cut = publisher.get("cut") if isinstance(publisher, dict) else document.get("cut")
    if signed_cut != cut:
        return None
    for item in document.get("methodologies") or []:
        if isinstance(item, dict) and item.get("id") == key:
            return item
    for change in document.get("changes") or []:
        if (
            isinstance(change, dict)
            and change.get("entity") == Entity.METHODOLOGIES.value
            and change.get("id") == key
            and isinstance(change.get("record"), dict)
        ):
            record: dict[str, Any] = change["record"]
            return record
    return None


def adopted_record(source: SignedMethodology, *, new_id: str, contact: Contact) -> dict[str, Any]:
    """This commune's methodology made from ``source``: its text, ``adopted_from`` naming it, our contact.

    The source's commitments are its own (they would not resolve here) and its contact is whom to call
    about the original; the adopting commune answers for its adaptation.
    """
    if not new_id:
        raise InvalidInputError("falta el identificador", "the identifier is missing", errors=[{"path": "id"}])
    record = dict(source.record)
    record["id"] = new_id
    record["adopted_from"] = [{"cut": source.cut, "id": source.key}]
    record["commitment_ids"] = []
    record["contact"] = msgspec.to_builtins(contact)
    return record


class Adopter:
    """``node adopt`` and the admin API's adopt: a methodology of another commune becomes our draft."""

    def __init__(
        self, settings: NodeSettings, drafts: DraftService, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.drafts = drafts
        self.transport = transport

    async def adopt(
        self,
        cut: str,
        key: str,
        *,
        author: str,
        library_url: str | None = None,
        new_id: str | None = None,
        jwks: bytes | None = None,
    ) -> DraftView:
        """Read ``cut``'s methodology ``key`` from its signed version and keep it as a draft (as ``new_id``,
        else its own id, else ``<id>-<cut>`` when that is taken here)."""
        if cut == self.settings.cut:
            raise InvalidInputError(
                "una comuna no adopta sus propias metodologías",
                "a commune does not adopt its own methodologies",
                errors=[{"path": "cut", "message": "this node's own CUT", "value": cut}],
            )
        base = library_url or self.settings.library_url
        if not base:
            raise InvalidInputError(
                "falta la dirección de la biblioteca: library_url en la configuración, o --from",
                "the library's address is missing: library_url in the settings, or --from",
                errors=[{"path": "library_url", "message": "not set"}],
            )
        source = await LibraryReader(base, transport=self.transport).signed_methodology(cut, key, jwks=jwks)
        chosen = new_id or key
        if new_id is None and await self.drafts.taken(Entity.METHODOLOGIES, chosen):
            chosen = f"{key}-{cut}"[:128]
        record = adopted_record(source, new_id=chosen, contact=self.settings.contact)
        origin = {
            "cut": source.cut,
            "id": source.key,
            "version_id": source.version_id,
            "kid": source.kid,
            "library_url": source.library_url,
        }
        return await self.drafts.create(Entity.METHODOLOGIES, record, author=author, origin=origin)
