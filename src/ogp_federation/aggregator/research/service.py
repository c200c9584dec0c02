"""Research access: API clients for universities, OAuth2 tokens, and the guard of the endpoints tokens open.

Public open-government data stays public: the pages, the read API, the catalogue and the releases need
no token. A token (client credentials, RFC 6749 §4.4) adds a quota of its own, and opens what is heavy:
the federation-wide record listing (``read``) and the change stream (``stream``).
"""

from __future__ import annotations

import base64
import binascii
import math
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ogp_federation.aggregator.common import AggregatorSettings
from ogp_federation.core.db import Database
from ogp_federation.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    TooManyRequestsError,
)

from .keys import KeyStore
from .models import ApiClient, QuotaWindow, RevokedToken
from .schemas import Granted, OAuthAnswer
from .server import SCOPES, Client, OAuthServer, RequestContext, hash_secret, make_request
from .tokens import AccessToken, InvalidTokenError, issue, read

__all__ = ["Granted", "OAuthAnswer", "ResearchService"]

REALM = "ogp-federation"


def _challenge(error: str | None = None, description: str | None = None, scope: str | None = None) -> str:
    """A ``WWW-Authenticate: Bearer …`` challenge (RFC 6750 §3)."""
    parts = [f'realm="{REALM}"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append('error_description="' + description.replace('"', "'") + '"')
    if scope:
        parts.append(f'scope="{scope}"')
    return "Bearer " + ", ".join(parts)


def _basic_client_id(authorization: str | None) -> str | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return unquote(decoded.partition(":")[0]) or None


class ResearchService:
    """Clients (CLI), the OAuth endpoints (HTTP) and the bearer-token guard (the endpoints tokens open)."""

    def __init__(self, db: Database, settings: AggregatorSettings) -> None:
        self.db = db
        self.settings = settings
        self.keys = KeyStore(db)
        self.issuer = settings.public_url.rstrip("/")
        self.audience = self.issuer + "/api/v1"
        self.server = OAuthServer(self._generate)
        self._signing_key: Any = None

    # Clients (operators) ---------------------------------------------------------------------------

    async def create_client(
        self, *, name: str, contact: str, scopes: list[str], quota_per_minute: int | None = None
    ) -> tuple[ApiClient, str]:
        """A new client and its secret (shown once; only its Argon2id hash is kept)."""
        unknown = [scope for scope in scopes if scope not in SCOPES]
        problems: list[dict[str, object]] = [
            {"path": "scopes", "message": f"unknown scope {scope!r}", "value": scope} for scope in unknown
        ]
        if not name.strip() or len(name) > 200:
            problems.append({"path": "name", "message": "1 to 200 characters"})
        if "@" not in contact or len(contact) > 254:
            problems.append({"path": "contact", "message": "an e-mail address"})
        if quota_per_minute is not None and not 1 <= quota_per_minute <= 100_000:
            problems.append({"path": "quota_per_minute", "message": "from 1 to 100000"})
        if problems or not scopes:
            problems = problems or [{"path": "scopes", "message": "at least one of " + ", ".join(SCOPES)}]
            raise InvalidInputError("cliente inválido", "invalid client", errors=problems)
        secret = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        client = ApiClient(
            client_id="ogp-" + secrets.token_hex(8),
            secret_hash=hash_secret(secret),
            name=name.strip(),
            contact=contact.strip(),
            scopes=" ".join(sorted(set(scopes))),
            quota_per_minute=quota_per_minute,
            created_at=now,
            secret_rotated_at=now,
        )
        async with self.db.transaction() as session:
            session.add(client)
        return client, secret

    async def clients(self) -> list[ApiClient]:
        """Every client, oldest first."""
        async with self.db.sessions() as session:
            return list(await session.scalars(select(ApiClient).order_by(ApiClient.id)))

    async def rotate_secret(self, client_id: str) -> str:
        """A new secret for the client (the old one stops working at once); shown once."""
        secret = secrets.token_urlsafe(32)
        async with self.db.transaction() as session:
            client = await self._client(session, client_id)
            client.secret_hash, client.secret_rotated_at = hash_secret(secret), datetime.now(UTC)
        return secret

    async def disable(self, client_id: str) -> None:
        """Disable a client: no new token, and its current tokens stop working."""
        async with self.db.transaction() as session:
            client = await self._client(session, client_id)
            if client.disabled_at is not None:
                raise ConflictError("el cliente ya está deshabilitado", "the client is already disabled")
            client.disabled_at = datetime.now(UTC)

    @staticmethod
    async def _client(session: Any, client_id: str) -> ApiClient:
        client: ApiClient | None = await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
        if client is None:
            raise NotFoundError(f"no hay cliente {client_id}", f"no client {client_id}")
        return client

    # OAuth endpoints -------------------------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        """Authorization server metadata (RFC 8414)."""
        return {
            "issuer": self.issuer,
            "token_endpoint": self.issuer + "/oauth/token",
            "jwks_uri": self.issuer + "/oauth/jwks.json",
            "revocation_endpoint": self.issuer + "/oauth/revoke",
            "introspection_endpoint": self.issuer + "/oauth/introspect",
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": list(SCOPES),
            "response_types_supported": [],
            "service_documentation": self.issuer + "/docs/investigadores",
        }

    async def jwks(self) -> dict[str, Any]:
        """The public keys access tokens (and releases) are signed with."""
        return dict(await self.keys.jwks())

    async def answer(
        self, endpoint: str | None, path: str, headers: Mapping[str, str], form: dict[str, str]
    ) -> OAuthAnswer:
        """The answer of the token endpoint (``endpoint`` None), ``revocation`` or ``introspection``."""
        client_id = _basic_client_id(headers.get("authorization")) or form.get("client_id")
        context = RequestContext(clients={})
        async with self.db.sessions() as session:
            if client_id:
                row = await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id[:64]))
                if row is not None:
                    context.clients[row.client_id] = Client(row)
        if endpoint is not None and form.get("token"):
            context.token = await self._verified(form["token"], refuse=False)
        else:
            self._signing_key = await self.keys.current()
        request = make_request("POST", self.issuer + path, headers, form)
        status, body, answer_headers = self.server.respond(endpoint, context, request)
        if context.revoked:
            await self._revoke(context.revoked)
        return OAuthAnswer(status, body, answer_headers)

    def _generate(self, **kwargs: Any) -> dict[str, Any]:
        """Authlib's token generator: a signed JWT access token for the granted client and scope."""
        client: Client = kwargs["client"]
        scope = kwargs.get("scope") or client.get_allowed_scope(None)
        lifetime = self.settings.token_lifetime_seconds
        access = issue(
            self._signing_key,
            issuer=self.issuer,
            audience=self.audience,
            client_id=client.get_client_id(),
            scope=scope,
            lifetime=lifetime,
        )
        return {"token_type": "Bearer", "access_token": access, "expires_in": lifetime, "scope": scope}

    async def _revoke(self, tokens: list[AccessToken]) -> None:
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            await session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))  # forget old ones
            for token in tokens:
                if await session.get(RevokedToken, token.jti) is None:
                    session.add(
                        RevokedToken(
                            jti=token.jti,
                            client_id=token.client_id,
                            expires_at=datetime.fromtimestamp(token.expires_at, UTC),
                            revoked_at=now,
                        )
                    )

    async def _verified(self, token: str, *, refuse: bool = True) -> AccessToken | None:
        """The token's claims when it verifies and is live (not revoked, its client enabled)."""
        try:
            access = read(token, await self.keys.keys(), issuer=self.issuer, audience=self.audience)
        except InvalidTokenError as exc:
            if refuse:
                raise _invalid_token(exc.reason) from exc
            return None
        async with self.db.sessions() as session:
            revoked = await session.get(RevokedToken, access.jti)
            client = await session.scalar(select(ApiClient).where(ApiClient.client_id == access.client_id))
        reason = (
            "revoked"
            if revoked is not None
            else "client unknown or disabled"
            if client is None or client.disabled_at is not None
            else None
        )
        if reason is None:
            return access
        if refuse:
            raise _invalid_token(reason)
        return None

    # The guard of what tokens open -------------------------------------------------------------------

    async def authorize(self, authorization: str | None, scope: str) -> Granted:
        """The request's token when it is live and covers ``scope``, counted against its client's quota."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise AuthenticationError(
                "se necesita un token de acceso (OAuth2, credenciales de cliente)",
                "an access token is needed (OAuth2 client credentials)",
                code="token.missing",
                headers={"WWW-Authenticate": _challenge(scope=scope)},
            )
        access = await self._verified(authorization[7:].strip())
        assert access is not None  # noqa: S101 (refuse=True raised otherwise)
        if scope not in access.scopes:
            raise PermissionDeniedError(
                f"el token no incluye el alcance «{scope}»",
                f"the token does not include the '{scope}' scope",
                code="token.insufficient_scope",
                headers={"WWW-Authenticate": _challenge("insufficient_scope", f"needs {scope}", scope)},
            )
        return Granted(access, await self._count(access.client_id))

    async def _count(self, client_id: str) -> dict[str, str]:
        """One more request of ``client_id`` this minute (counted in the database: shared by every process)."""
        now = time.time()
        minute = int(now // 60)
        async with self.db.transaction() as session:
            client = await self._client(session, client_id)
            limit = client.quota_per_minute or self.settings.quota_per_minute
            postgres = session.get_bind().dialect.name == "postgresql"
            insert = pg_insert if postgres else sqlite_insert
            statement = (
                insert(QuotaWindow)
                .values(client_id=client_id, window_start=minute, used=1)
                .on_conflict_do_update(
                    index_elements=["client_id", "window_start"], set_={"used": QuotaWindow.used + 1}
                )
                .returning(QuotaWindow.used)
            )
            used = int((await session.execute(statement)).scalar_one())
            if used == 1:  # the first request of a minute clears the client's older windows
                await session.execute(
                    delete(QuotaWindow).where(QuotaWindow.client_id == client_id, QuotaWindow.window_start < minute)
                )
        reset = max(1, math.ceil((minute + 1) * 60 - now))
        headers = {
            "RateLimit-Policy": f"{limit};w=60",
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": str(max(0, limit - used)),
            "RateLimit-Reset": str(reset),
        }
        if used > limit:
            raise TooManyRequestsError(
                f"cuota de {limit} solicitudes por minuto agotada",
                f"quota of {limit} requests a minute used up",
                retry_after=reset,
                code="quota.exceeded",
                headers=headers,
            )
        return headers


def _invalid_token(reason: str) -> AuthenticationError:
    return AuthenticationError(
        f"token de acceso inválido: {reason}",
        f"invalid access token: {reason}",
        code="token.invalid",
        headers={"WWW-Authenticate": _challenge("invalid_token", reason)},
    )
