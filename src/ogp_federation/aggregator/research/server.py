"""Authlib's OAuth 2.0 authorization server behind the aggregator's HTTP API (Authlib ships no Litestar glue).

Authlib's core is synchronous: the clients a request can name are read from the database first and
handed to the server for that request only. What it runs: the client credentials grant (RFC 6749
§4.4) with ``client_secret_basic`` or ``client_secret_post``, token revocation (RFC 7009) and
introspection (RFC 7662), over the aggregator's own JWT access tokens (RFC 9068).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ClassVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from authlib.oauth2 import AuthorizationServer  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Request, grants  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload  # type: ignore[import-untyped]
from authlib.oauth2.rfc7009 import RevocationEndpoint  # type: ignore[import-untyped]
from authlib.oauth2.rfc7662 import IntrospectionEndpoint  # type: ignore[import-untyped]

from .models import ApiClient
from .tokens import AccessToken

__all__ = ["SCOPES", "Client", "OAuthServer", "RequestContext"]

# What each scope opens (public pages, the read API, the catalogue and the releases need none).
SCOPES = {
    "read": "the federated API with a quota of its own",
    "stream": "the change stream, to keep a mirror in sync",
    "bulk": "bulk releases with a quota of their own",
}
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
_HASHER = PasswordHasher()


class Client(ClientMixin):  # type: ignore[misc]
    """An API client as Authlib asks about it (credentials checked against the stored Argon2id hash)."""

    def __init__(self, row: ApiClient) -> None:
        self.row = row

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = self.row.scopes.split()
        if not scope:
            return " ".join(allowed)
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        if self.row.disabled_at is not None:
            return False
        try:
            return bool(_HASHER.verify(self.row.secret_hash, client_secret))
        except (VerificationError, InvalidHashError):
            return False

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials" and self.row.disabled_at is None


@dataclass
class RequestContext:
    """What one request may need from the database, read before Authlib runs."""

    clients: dict[str, Client]
    token: AccessToken | None = None  # the token a revocation or introspection names, when it verifies
    revoked: list[AccessToken] | None = None  # filled by a revocation


_CONTEXT: ContextVar[RequestContext] = ContextVar("oauth_request")


class _ClientCredentials(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)


class _Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)

    def query_token(self, token_string: str, token_type_hint: str | None) -> _Token | None:
        token = _CONTEXT.get().token
        return _Token(token) if token is not None else None

    def revoke_token(self, token: _Token, request: OAuth2Request) -> None:
        context = _CONTEXT.get()
        context.revoked = [*(context.revoked or []), token.access]


class _Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)

    def query_token(self, token_string: str, token_type_hint: str | None) -> _Token | None:
        token = _CONTEXT.get().token
        return _Token(token) if token is not None else None

    def introspect_token(self, token: _Token) -> dict[str, Any]:
        access = token.access
        return {
            "active": True,
            "client_id": access.client_id,
            "scope": " ".join(sorted(access.scopes)),
            "token_type": "Bearer",
            "exp": access.expires_at,
            "iat": access.issued_at,
            "sub": access.client_id,
            "iss": access.claims.get("iss"),
            "aud": access.claims.get("aud"),
            "jti": access.jti,
        }

    def check_permission(self, token: _Token, client: Client, request: OAuth2Request) -> bool:
        return bool(token.check_client(client))  # a client may look at its own tokens only


class _Token:
    """A verified access token, as Authlib's endpoints ask about it."""

    def __init__(self, access: AccessToken) -> None:
        self.access = access

    def check_client(self, client: Client) -> bool:
        return self.access.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return " ".join(sorted(self.access.scopes))

    def get_expires_in(self) -> int:
        return max(0, self.access.expires_at - int(self.access.issued_at))

    def is_expired(self) -> bool:
        return False  # read() refused expired tokens already

    def is_revoked(self) -> bool:
        return False  # the service did not load revoked ones


class _Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, method: str, uri: str, headers: Mapping[str, str], form: dict[str, str]) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self._form = form
        self.payload = BasicOAuth2Payload(form)

    @property
    def args(self) -> dict[str, str]:
        return {}

    @property
    def form(self) -> dict[str, str]:
        return self._form


class OAuthServer(AuthorizationServer):  # type: ignore[misc]
    """The authorization server; ``token_generator`` makes the access token of a granted request."""

    def __init__(self, token_generator: Callable[..., dict[str, Any]]) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.register_grant(_ClientCredentials)
        self.register_token_generator("default", token_generator)
        self.register_endpoint(_Revocation)
        self.register_endpoint(_Introspection)

    def query_client(self, client_id: str) -> Client | None:
        return _CONTEXT.get().clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Nothing to save: the token is a signed JWT, checked on each use."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Authlib's hooks (after authentication, after revocation): nothing listens to them."""

    def create_oauth2_request(self, request: _Request) -> _Request:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple[int, Any, dict[str, str]]:
        return status, body, dict(headers)

    def respond(
        self, endpoint: str | None, context: RequestContext, request: _Request
    ) -> tuple[int, Any, dict[str, str]]:
        """Authlib's answer to ``request`` (``endpoint`` None: the token endpoint)."""
        reset = _CONTEXT.set(context)
        try:
            if endpoint is None:
                return self.create_token_response(request)  # type: ignore[no-any-return]
            return self.create_endpoint_response(endpoint, request)  # type: ignore[no-any-return]
        finally:
            _CONTEXT.reset(reset)


def make_request(method: str, uri: str, headers: Mapping[str, str], form: dict[str, str]) -> _Request:
    """An Authlib request from what the web layer read."""
    return _Request(method, uri, headers, form)


def hash_secret(secret: str) -> str:
    """The Argon2id hash stored for a client secret."""
    return _HASHER.hash(secret)
