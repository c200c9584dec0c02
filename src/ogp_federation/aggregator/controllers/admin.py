"""Operators' admin API: register nodes, confirm keys, peer-group attributes, quarantine review.

Authenticated with operator tokens (``Authorization: Bearer …``) whose SHA-256 is listed in the
``admin_token_hashes`` setting (``ogp-federation aggregator admin-token`` makes one).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from litestar import Request, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody

from ogp_federation.aggregator.controllers._deps import CutPath, Runtime, VersionId
from ogp_federation.aggregator.registry import Attributes, NodeRegistration
from ogp_federation.aggregator.review import Review
from ogp_federation.core.errors import AuthenticationError

__all__ = ["ADMIN_HANDLERS"]


async def require_operator(request: Request[Any, Any, Any], runtime: Runtime) -> str:
    """The operator token's hash, or 401."""
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    digest = hashlib.sha256(token.encode()).hexdigest()
    if not token or not any(hmac.compare_digest(digest, known) for known in runtime.settings.admin_token_hashes):
        raise AuthenticationError("token de operador inválido", "invalid operator token")
    return digest


_operator = {"operator": Provide(require_operator)}
Operator = NamedDependency[str]


def _node(node: Any) -> dict[str, Any]:
    return {
        "cut": node.cut,
        "base_url": node.base_url,
        "state": node.state,
        "sequence": node.sequence,
        "keys_confirmed": node.keys_confirmed,
        "kids": [k.get("kid") for k in node.keys.get("keys", [])],
        "poll_interval": node.poll_interval,
        "last_error_code": node.last_error_code,
    }


@get("/admin/api/nodes", dependencies=_operator, tags=["admin"])
async def list_nodes(runtime: Runtime, operator: Operator) -> list[dict[str, Any]]:
    """Registered nodes."""
    return [_node(node) for node in await runtime.registry.nodes()]


@post("/admin/api/nodes", dependencies=_operator, tags=["admin"], request_max_body_size=256 * 1024)
async def add_node(runtime: Runtime, operator: Operator, data: JSONBody[NodeRegistration]) -> dict[str, Any]:
    """Register (or re-point) a commune's node; its descriptor is read through the SSRF guard."""
    node = await runtime.registry.add_node(
        data.cut,
        data.url,
        jwks=data.jwks,
        trust_fetched_keys=data.trust_fetched_keys,
        interval=data.interval,
        contact_email=data.contact_email,
        webhook_url=data.webhook_url,
    )
    return _node(node)


@post("/admin/api/nodes/{cut:str}/confirm", dependencies=_operator, tags=["admin"], status_code=200)
async def confirm_node(runtime: Runtime, operator: Operator, cut: CutPath) -> dict[str, str]:
    """Confirm the keys fetched on first contact."""
    await runtime.registry.confirm_keys(cut)
    return {"cut": cut, "keys": "confirmed"}


@delete("/admin/api/nodes/{cut:str}", dependencies=_operator, tags=["admin"], status_code=200)
async def remove_node(runtime: Runtime, operator: Operator, cut: CutPath) -> dict[str, str]:
    """Stop polling a node (its history stays)."""
    await runtime.registry.remove_node(cut)
    return {"cut": cut, "state": "removed"}


@patch("/admin/api/communes/{cut:str}", dependencies=_operator, tags=["admin"], request_max_body_size=16 * 1024)
async def set_attributes(
    runtime: Runtime, operator: Operator, cut: CutPath, data: JSONBody[Attributes]
) -> dict[str, Any]:
    """Record a commune's population, SUBDERE group and custom peer groups."""
    commune = await runtime.registry.set_attributes(
        cut, population=data.population, subdere_group=data.subdere_group, groups=data.groups
    )
    return {
        "cut": commune.cut,
        "population": commune.population,
        "subdere_group": commune.subdere_group,
        "groups": commune.groups,
    }


@get("/admin/api/quarantine", dependencies=_operator, tags=["admin"])
async def quarantine(runtime: Runtime, operator: Operator) -> list[dict[str, Any]]:
    """Versions held for review."""
    return await Review(runtime.db).pending()


@post("/admin/api/quarantine/{version_id:int}/approve", dependencies=_operator, tags=["admin"], status_code=200)
async def approve(runtime: Runtime, operator: Operator, version_id: VersionId) -> dict[str, Any]:
    """Apply a quarantined version newer than the accepted one."""
    await Review(runtime.db).approve(version_id)
    return {"id": version_id, "status": "accepted"}


@post("/admin/api/quarantine/{version_id:int}/discard", dependencies=_operator, tags=["admin"], status_code=200)
async def discard(runtime: Runtime, operator: Operator, version_id: VersionId) -> dict[str, Any]:
    """Keep a quarantined version out."""
    await Review(runtime.db).discard(version_id)
    return {"id": version_id, "status": "discarded"}


ADMIN_HANDLERS = [list_nodes, add_node, confirm_node, remove_node, set_attributes, quarantine, approve, discard]
