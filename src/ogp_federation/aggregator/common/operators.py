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
from ogp_federation.core.openapi import SECURED

from .settings import AggregatorSettings

__all__ = ["METRICS_READER", "OPERATOR", "SECURED", "Operator", "require_metrics_reader", "require_operator"]


def _bearer_digest(request: Request[Any, Any, Any], known: list[str]) -> str | None:
    """The SHA-256 of the request's bearer token when it is one of ``known``, else None."""
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    digest = hashlib.sha256(token.encode()).hexdigest()
    return digest if token and any(hmac.compare_digest(digest, hashed) for hashed in known) else None


async def require_operator(request: Request[Any, Any, Any], settings: NamedDependency[AggregatorSettings]) -> str:
    """The operator token's hash, or 401."""
    digest = _bearer_digest(request, settings.admin_token_hashes)
    if digest is None:
        raise AuthenticationError("token de operador inválido", "invalid operator token")
    return digest


async def require_metrics_reader(
    request: Request[Any, Any, Any], settings: NamedDependency[AggregatorSettings]
) -> None:
    """Nothing when ``/metrics`` is public; else a metrics or operator token, or 401."""
    if not settings.metrics_token_hashes:
        return
    if _bearer_digest(request, [*settings.metrics_token_hashes, *settings.admin_token_hashes]) is None:
        raise AuthenticationError("token de métricas inválido", "invalid metrics token")


OPERATOR = {"operator": Provide(require_operator)}  # the dependencies of a guarded handler
METRICS_READER = {"reader": Provide(require_metrics_reader)}
Operator = NamedDependency[str]
