"""JWT access tokens (RFC 9068) signed with the aggregator's Ed25519 key, and their checking.

Only ``Ed25519`` is accepted, and only a token of type ``at+jwt`` from this issuer for this audience,
inside its validity: a token with ``alg: none``, an HMAC token (even one keyed with the public key),
a token signed by another key, expired, not yet valid, for another audience or from another issuer
is refused, each with its reason.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OKPKey

from ogp_federation.feed.signing import ALGORITHM

__all__ = ["AccessToken", "InvalidTokenError", "issue", "read"]

TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type, not a secret)
LEEWAY = 30  # seconds of clock difference tolerated on exp and nbf


class InvalidTokenError(Exception):
    """A token that is not a valid access token here; ``reason`` says why (for WWW-Authenticate)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AccessToken:
    """The claims of a verified access token."""

    client_id: str
    scopes: frozenset[str]
    jti: str
    issued_at: int
    expires_at: int
    claims: dict[str, Any]


def issue(key: OKPKey, *, issuer: str, audience: str, client_id: str, scope: str, lifetime: int) -> str:
    """A signed access token for ``client_id`` with ``scope`` (space separated), valid ``lifetime`` seconds."""
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": client_id,
        "client_id": client_id,
        "scope": scope,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": secrets.token_hex(16),
    }
    header = {"alg": ALGORITHM, "typ": TOKEN_TYPE, "kid": key.kid or key.thumbprint()}
    return jwt.encode(header, claims, key, algorithms=[ALGORITHM])


def read(token: str, keys: list[OKPKey], *, issuer: str, audience: str) -> AccessToken:
    """The verified claims of ``token``, or :class:`InvalidTokenError` with the reason."""
    if token.count(".") != 2 or len(token) > 8192:
        raise InvalidTokenError("malformed token")
    try:
        decoded = jwt.decode(token, KeySet(list(keys)), algorithms=[ALGORITHM])
    except JoseError as exc:
        raise InvalidTokenError(f"signature or algorithm refused ({exc.error})") from exc
    except (ValueError, TypeError) as exc:
        raise InvalidTokenError("malformed token") from exc
    if decoded.header.get("typ") != TOKEN_TYPE:
        raise InvalidTokenError("not an access token (typ at+jwt)")
    claims = dict(decoded.claims)
    now = int(time.time())
    if claims.get("iss") != issuer:
        raise InvalidTokenError("issued by someone else")
    audiences = claims.get("aud")
    if audience not in (audiences if isinstance(audiences, list) else [audiences]):
        raise InvalidTokenError("issued for another audience")
    expires, not_before, jti = claims.get("exp"), claims.get("nbf", claims.get("iat")), claims.get("jti")
    if not isinstance(expires, int) or expires + LEEWAY < now:
        raise InvalidTokenError("expired")
    if not isinstance(not_before, int) or not_before - LEEWAY > now:
        raise InvalidTokenError("not valid yet")
    client_id, scope = claims.get("client_id"), claims.get("scope", "")
    if not isinstance(client_id, str) or not isinstance(jti, str) or not isinstance(scope, str):
        raise InvalidTokenError("claims missing")
    return AccessToken(client_id, frozenset(scope.split()), jti, int(claims.get("iat", now)), expires, claims)
