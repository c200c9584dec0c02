"""Ed25519 signatures of feeds: detached compact JWS over the exact bytes, keys published as a JWKS.

A signature looks like ``<protected header>..<signature>`` (RFC 7515 appendix F): the payload is the
feed file itself, so the bytes that are served are exactly the bytes that are signed. The protected
header names the algorithm (``Ed25519``, RFC 9864) and the key (``kid``, its RFC 7638 thumbprint).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from ogp_federation.core.errors import SignatureError

__all__ = [
    "ALGORITHM",
    "MAX_JWKS_KEYS",
    "SIGNATURE_TYPE",
    "Jwks",
    "VerifiedSignature",
    "generate_key",
    "jwks_of",
    "load_jwks",
    "load_private_key",
    "pinned_jwks",
    "sign",
    "sign_compact",
    "verify",
    "verify_compact",
]

ALGORITHM = "Ed25519"
SIGNATURE_TYPE = "ogp-plan-feed+jws"
MAX_KID_LENGTH = 100  # a thumbprint is 43; longer ids are refused rather than stored cut
MAX_JWKS_KEYS = 20  # a commune's current and retired keys, with room to spare; a longer set is refused
Jwks = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """A signature that verified: which key made it and with what algorithm."""

    kid: str
    algorithm: str


def generate_key() -> OKPKey:
    """A new Ed25519 private key whose ``kid`` is its RFC 7638 thumbprint."""
    return OKPKey.generate_key("Ed25519", auto_kid=True)


def load_private_key(data: str | bytes) -> OKPKey:
    """Read a private key written by :func:`private_key_json`."""
    try:
        key = OKPKey.import_key(json.loads(data))
    except (ValueError, JoseError, KeyError, TypeError) as exc:
        raise SignatureError("clave privada ilegible", "unreadable private key", detail=str(exc)) from exc
    if not key.is_private or key.as_dict().get("crv") != "Ed25519":
        raise SignatureError("se esperaba una clave privada Ed25519", "expected an Ed25519 private key")
    return key


def private_key_json(key: OKPKey) -> str:
    """The private key as a JWK JSON document (keep it secret, file mode 0600)."""
    return json.dumps(key.as_dict(private=True, kid=_kid(key)), indent=2) + "\n"


def jwks_of(keys: Iterable[OKPKey]) -> Jwks:
    """The public JWKS of ``keys`` (old and new keys side by side during a rotation)."""
    out = []
    for key in keys:
        entry = key.as_dict(private=False, kid=_kid(key))
        out.append({**entry, "alg": ALGORITHM, "use": "sig"})
    return {"keys": out}


def load_jwks(data: str | bytes) -> dict[str, OKPKey]:
    """Read a JWKS, returning its Ed25519 public keys by ``kid``. Other keys are ignored."""
    try:
        document = json.loads(data)
        entries = document["keys"]
        if not isinstance(entries, list):
            raise TypeError("'keys' is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise SignatureError("JWKS ilegible", "unreadable JWKS", detail=str(exc)) from exc
    if len(entries) > MAX_JWKS_KEYS:
        raise SignatureError(
            f"el JWKS trae {len(entries)} claves (máximo {MAX_JWKS_KEYS})",
            f"the JWKS holds {len(entries)} keys (at most {MAX_JWKS_KEYS})",
        )
    keys: dict[str, OKPKey] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
            continue
        public = {name: entry[name] for name in ("kty", "crv", "x") if name in entry}
        try:
            key = OKPKey.import_key(public)
        except (ValueError, JoseError) as exc:
            raise SignatureError("clave inválida en el JWKS", "invalid key in the JWKS", detail=str(exc)) from exc
        kid = entry.get("kid") or key.thumbprint()
        if not isinstance(kid, str) or len(kid) > MAX_KID_LENGTH:
            raise SignatureError(
                f"kid inválido en el JWKS (texto de hasta {MAX_KID_LENGTH} caracteres)",
                f"invalid kid in the JWKS (text of at most {MAX_KID_LENGTH} characters)",
                detail=repr(kid)[:80],
            )
        keys[kid] = key
    return keys


def pinned_jwks(keys: dict[str, OKPKey]) -> Jwks:
    """The JWKS to keep for ``keys`` (from :func:`load_jwks`): public parts and kids, nothing else a node sent."""
    return {
        "keys": [{**key.as_dict(private=False, kid=kid), "alg": ALGORITHM, "use": "sig"} for kid, key in keys.items()]
    }


def sign(payload: bytes, key: OKPKey) -> str:
    """A detached compact JWS of ``payload`` made with ``key``."""
    header = {"alg": ALGORITHM, "kid": _kid(key), "typ": SIGNATURE_TYPE}
    token = jws.serialize_compact(header, payload, key, algorithms=[ALGORITHM])
    protected, _, signature = token.split(".")
    return f"{protected}..{signature}"


def verify(payload: bytes, signature: str | bytes, keys: dict[str, OKPKey]) -> VerifiedSignature:
    """Check that ``signature`` signs exactly ``payload`` with one of ``keys``; name the key.

    Raises :class:`SignatureError` on a malformed signature, another algorithm, an unknown key or any
    change to the payload.
    """
    text = signature.decode("ascii", "replace") if isinstance(signature, bytes) else signature
    header = _protected_header(text.strip())
    algorithm = header.get("alg")
    if algorithm != ALGORITHM:
        raise SignatureError(
            f"algoritmo «{algorithm}» no aceptado; se exige {ALGORITHM}",
            f"algorithm '{algorithm}' not accepted; {ALGORITHM} is required",
            code="signature.algorithm",
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or kid not in keys:
        raise SignatureError(
            f"la clave «{kid}» no está en el JWKS", f"key '{kid}' is not in the JWKS", code="signature.unknown_key"
        )
    try:
        jws.deserialize_compact(text.strip(), keys[kid], algorithms=[ALGORITHM], payload=payload)
    except JoseError as exc:
        raise SignatureError(
            "la firma no corresponde al contenido",
            "the signature does not match the content",
            code="signature.mismatch",
            detail=str(exc),
        ) from exc
    return VerifiedSignature(kid=kid, algorithm=ALGORITHM)


def sign_compact(payload: bytes, key: OKPKey, *, typ: str) -> str:
    """A compact JWS carrying ``payload`` (for small messages such as push notices)."""
    header = {"alg": ALGORITHM, "kid": _kid(key), "typ": typ}
    return jws.serialize_compact(header, payload, key, algorithms=[ALGORITHM])


def verify_compact(token: str, keys: dict[str, OKPKey], *, typ: str) -> tuple[bytes, VerifiedSignature]:
    """Verify a compact JWS made by :func:`sign_compact`; return its payload and the key that signed."""
    parts = token.strip().split(".")
    if len(parts) != 3 or not all(parts):
        raise SignatureError("JWS compacto mal formado", "malformed compact JWS", code="signature.malformed")
    header = _protected_header(f"{parts[0]}..{parts[2]}")
    if header.get("typ") != typ:
        raise SignatureError(
            f"tipo de mensaje «{header.get('typ')}» inesperado",
            f"unexpected message type '{header.get('typ')}'",
            code="signature.type",
        )
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
    except (ValueError, binascii.Error) as exc:
        raise SignatureError("JWS compacto mal formado", "malformed compact JWS", code="signature.malformed") from exc
    verified = verify(payload, f"{parts[0]}..{parts[2]}", keys)
    return payload, verified


def _protected_header(text: str) -> dict[str, Any]:
    parts = text.split(".")
    if len(parts) != 3 or parts[1] != "" or not parts[0] or not parts[2]:
        raise SignatureError(
            "la firma no es un JWS compacto separado (cabecera..firma)",
            "the signature is not a detached compact JWS (header..signature)",
            code="signature.malformed",
        )
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise SignatureError(
            "cabecera de firma ilegible", "unreadable signature header", code="signature.malformed", detail=str(exc)
        ) from exc
    if not isinstance(header, dict):
        raise SignatureError("cabecera de firma ilegible", "unreadable signature header", code="signature.malformed")
    if header.get("crit") or header.get("b64") is not None:
        raise SignatureError(
            "cabecera de firma con extensiones no soportadas",
            "signature header uses unsupported extensions",
            code="signature.malformed",
        )
    return header


def _kid(key: OKPKey) -> str:
    return key.kid or key.thumbprint()
