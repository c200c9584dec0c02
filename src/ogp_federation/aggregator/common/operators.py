"""The operators' guard: admin endpoints need a token whose SHA-256 the settings list.

``ogp-federation aggregator admin-token`` makes a token and prints the hash to add to
``admin_token_hashes``; the token itself is never stored.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide

from ogp_federation.core.errors import AuthenticationError

from .settings import AggregatorSettings

__all__ = ["OPERATOR", "Operator", "require_operator"]


async def require_operator(request: Request[Any, Any, Any], settings: NamedDependency[AggregatorSettings]) -> str:
    """The operator token's hash, or 401."""
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    digest = hashlib.sha256(token.encode()).hexdigest()
    if not token or not any(hmac.compare_digest(digest, known) for known in settings.admin_token_hashes):
        raise AuthenticationError("token de operador inválido", "invalid operator token")
    return digest


OPERATOR = {"operator": Provide(require_operator)}  # the dependencies of a guarded handler
Operator = NamedDependency[str]
