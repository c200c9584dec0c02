"""Operators' admin API of the registry: register nodes, confirm keys, peer-group attributes.

Guarded by operator tokens (``Authorization: Bearer …``; see ``common.operators``).
"""

from __future__ import annotations

from typing import Any

from litestar import delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from ogp_federation.aggregator.common.operators import OPERATOR, SECURED, Operator
from ogp_federation.aggregator.common.params import CutPath

from .schemas import Attributes, CommuneView, NodeRegistration, NodeView
from .service import RegistryService

__all__ = ["HANDLERS"]

Registry = NamedDependency[RegistryService]


@get("/admin/api/nodes", dependencies=OPERATOR, security=SECURED, tags=["admin"])
async def list_nodes(registry: Registry, operator: Operator) -> list[NodeView]:
    """Registered nodes."""
    return [NodeView.of(node) for node in await registry.nodes()]


@post("/admin/api/nodes", dependencies=OPERATOR, security=SECURED, tags=["admin"], request_max_body_size=256 * 1024)
async def add_node(registry: Registry, operator: Operator, data: JSONBody[NodeRegistration]) -> NodeView:
    """Register (or re-point) a commune's node; its descriptor is read through the SSRF guard."""
    return NodeView.of(await registry.register(data))


@post("/admin/api/nodes/{cut:str}/confirm", dependencies=OPERATOR, security=SECURED, tags=["admin"], status_code=200)
async def confirm_node(registry: Registry, operator: Operator, cut: CutPath) -> dict[str, str]:
    """Confirm the keys fetched on first contact."""
    await registry.confirm_keys(cut)
    return {"cut": cut, "keys": "confirmed"}


@delete("/admin/api/nodes/{cut:str}", dependencies=OPERATOR, security=SECURED, tags=["admin"], status_code=200)
async def remove_node(registry: Registry, operator: Operator, cut: CutPath) -> dict[str, str]:
    """Stop polling a node (its history stays)."""
    await registry.remove_node(cut)
    return {"cut": cut, "state": "removed"}


@patch(
    "/admin/api/communes/{cut:str}",
    dependencies=OPERATOR,
    security=SECURED,
    tags=["admin"],
    request_max_body_size=16 * 1024,
)
async def set_attributes(
    registry: Registry, operator: Operator, cut: CutPath, data: JSONBody[Attributes]
) -> CommuneView:
    """Record a commune's population, SUBDERE group and custom peer groups."""
    commune = await registry.set_attributes(
        cut, population=data.population, subdere_group=data.subdere_group, groups=data.groups
    )
    return CommuneView.of(commune)


@get("/admin/api/nodes/{cut:str}/conformance", dependencies=OPERATOR, security=SECURED, tags=["admin"])
async def node_conformance(registry: Registry, operator: Operator, cut: CutPath) -> dict[str, Any]:
    """The conformance checks run when the node was registered: each check, its detail and how to fix it."""
    return await registry.conformance(cut)


@get("/api/v1/communes/{cut:str}/keys", tags=["read"])
async def commune_keys(registry: Registry, cut: CutPath) -> dict[str, Any]:
    """The public keys (JWKS) pinned for a commune's node: check any of its harvested versions offline."""
    return await registry.public_keys(cut)


HANDLERS = [list_nodes, add_node, confirm_node, remove_node, set_attributes, node_conformance, commune_keys]
