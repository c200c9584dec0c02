"""The registry: the 346 communes, and the nodes registered for them with their pinned keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import select

from ogp_federation.core.db import Database
from ogp_federation.core.errors import ConflictError, InvalidInputError, NotFoundError
from ogp_federation.feed import signing
from ogp_federation.feed.protocol import DESCRIPTOR_PATH, NodeDescriptor
from ogp_federation.feed.reference import CommuneReference

from .harvest.fetch import Fetcher
from .models import Commune, Node

__all__ = ["Registry"]


class Registry:
    """Communes and nodes; shared by the admin CLI, the API and the demo."""

    def __init__(
        self, db: Database, fetcher: Fetcher, *, default_interval: int, reference: CommuneReference | None = None
    ) -> None:
        self.db = db
        self.fetcher = fetcher
        self.default_interval = default_interval
        self.reference = reference or CommuneReference.packaged()

    async def seed(self) -> int:
        """Add every commune of the reference that is missing; return how many were added."""
        async with self.db.transaction() as session:
            known = set(await session.scalars(select(Commune.cut)))
            missing = [c for c in self.reference if c.cut not in known]
            session.add_all(
                Commune(
                    cut=c.cut,
                    name=c.name,
                    province_cut=c.province_cut,
                    province=c.province,
                    region_cut=c.region_cut,
                    region=c.region,
                    groups=[],
                )
                for c in missing
            )
        return len(missing)

    async def add_node(
        self,
        cut: str,
        base_url: str,
        *,
        jwks: dict[str, Any] | None = None,
        trust_fetched_keys: bool = False,
        interval: int | None = None,
        contact_email: str | None = None,
        webhook_url: str | None = None,
    ) -> Node:
        """Register (or re-point) the node of ``cut`` at ``base_url`` after reading its descriptor.

        Keys are pinned from ``jwks`` when given (confirmed), or fetched from the node — then they are
        used only once an admin confirms them (``trust_fetched_keys`` confirms at once).
        """
        base = base_url.rstrip("/")
        fetched = await self.fetcher.get(base + DESCRIPTOR_PATH)
        try:
            descriptor = msgspec.json.decode(fetched.body, type=NodeDescriptor)
        except msgspec.DecodeError as exc:
            raise InvalidInputError(
                "el descriptor del nodo no es válido",
                "the node descriptor is invalid",
                errors=[{"path": DESCRIPTOR_PATH, "message": str(exc)}],
            ) from exc
        if descriptor.cut != cut:
            raise ConflictError(
                f"el nodo publica el CUT {descriptor.cut}, no {cut}",
                f"the node publishes CUT {descriptor.cut}, not {cut}",
            )
        if jwks is None:
            jwks = msgspec.json.decode((await self.fetcher.get(descriptor.jwks_url)).body)
            confirmed = trust_fetched_keys
        else:
            confirmed = True
        if not signing.load_jwks(msgspec.json.encode(jwks)):
            raise InvalidInputError(
                "el JWKS no trae claves Ed25519",
                "the JWKS has no Ed25519 key",
                errors=[{"path": "jwks", "message": "no Ed25519 key"}],
            )
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            if await session.get(Commune, cut) is None:
                raise NotFoundError(f"el CUT {cut} no está en el registro", f"CUT {cut} is not in the registry")
            node = await session.scalar(select(Node).where(Node.cut == cut))
            if node is None:
                node = Node(cut=cut, created_at=now, next_poll_at=now, state="never_harvested", consecutive_failures=0)
                session.add(node)
            node.base_url, node.feed_url = base, descriptor.feed_url
            node.signature_url, node.jwks_url = descriptor.signature_url, descriptor.jwks_url
            node.changes_template = descriptor.changes_url_template
            node.keys, node.keys_confirmed = jwks, confirmed
            node.poll_interval = interval or node.poll_interval or self.default_interval
            node.contact_email = contact_email or node.contact_email
            node.webhook_url = webhook_url or node.webhook_url
            node.next_poll_at = now
            if node.state == "removed":
                node.state = "never_harvested"
        return node

    async def set_attributes(
        self,
        cut: str,
        *,
        population: int | None = None,
        subdere_group: int | None = None,
        groups: list[str] | None = None,
    ) -> Commune:
        """Record peer-group attributes of a commune (only the ones given change)."""
        if subdere_group is not None and not 1 <= subdere_group <= 5:
            raise InvalidInputError(
                "grupo SUBDERE entre 1 y 5",
                "SUBDERE group between 1 and 5",
                errors=[{"path": "subdere_group", "message": str(subdere_group)}],
            )
        async with self.db.transaction() as session:
            commune = await session.get(Commune, cut)
            if commune is None:
                raise NotFoundError(f"el CUT {cut} no está en el registro", f"CUT {cut} is not in the registry")
            if population is not None:
                commune.population = population
            if subdere_group is not None:
                commune.subdere_group = subdere_group
            if groups is not None:
                commune.groups = sorted(set(groups))
        return commune

    async def confirm_keys(self, cut: str) -> None:
        """An admin confirms the keys fetched on first contact."""
        async with self.db.transaction() as session:
            node = await self._node(session, cut)
            node.keys_confirmed = True

    async def remove_node(self, cut: str) -> None:
        """Stop polling a node; its history stays."""
        async with self.db.transaction() as session:
            node = await self._node(session, cut)
            node.state, node.lease_owner, node.lease_until = "removed", None, None

    async def nodes(self) -> list[Node]:
        """Every registered node."""
        async with self.db.sessions() as session:
            return list(await session.scalars(select(Node).order_by(Node.cut)))

    @staticmethod
    async def _node(session: Any, cut: str) -> Node:
        node: Node | None = await session.scalar(select(Node).where(Node.cut == cut))
        if node is None:
            raise NotFoundError(f"no hay nodo para {cut}", f"no node for {cut}")
        return node
