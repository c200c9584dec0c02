"""The registry: the 346 communes, and the nodes registered for them with their pinned keys."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.aggregator.net import Fetcher
from ogp_federation.conformance import check_node
from ogp_federation.core.db import Database
from ogp_federation.core.errors import ConflictError, InvalidInputError, NotFoundError, OGPError
from ogp_federation.feed import signing
from ogp_federation.feed.protocol import DESCRIPTOR_PATH, NodeDescriptor
from ogp_federation.feed.reference import CommuneReference

from .bulk import BulkRow, RowOutcome
from .conformance import GuardedSource
from .keys import remember_keys
from .models import Commune, Node
from .schemas import Attributes, NodeRegistration, checked

__all__ = ["RegistryService"]


class RegistryService:
    """Communes and nodes; shared by the admin CLI, the API and the demo."""

    def __init__(
        self,
        db: Database,
        fetcher: Fetcher,
        *,
        default_interval: int,
        reference: CommuneReference | None = None,
        check_nodes: bool = True,
    ) -> None:
        self.db = db
        self.fetcher = fetcher
        self.default_interval = default_interval
        self.check_nodes = check_nodes
        self.reference = reference or CommuneReference.packaged()
        self.on_attributes: Callable[[], None] | None = None  # told when peer-group attributes change

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

    async def register(self, entry: NodeRegistration) -> Node:
        """Register (or re-point) a node from an admin API body (see :meth:`add_node`)."""
        return await self.add_node(
            entry.cut,
            entry.url,
            jwks=entry.jwks,
            trust_fetched_keys=entry.trust_fetched_keys,
            interval=entry.interval,
            contact_email=entry.contact_email,
            webhook_url=entry.webhook_url,
        )

    async def register_many(self, rows: list[BulkRow], *, concurrency: int = 16) -> list[RowOutcome]:
        """Register every row, ``concurrency`` at a time (each reads its node); one outcome per row, in order.

        Idempotent: registering the same file again re-reads each node and keeps confirmed keys that did
        not change. A node that cannot be read is that row's refusal, never the others'.
        """
        known = {node.cut for node in await self.nodes()}
        limit = asyncio.Semaphore(concurrency)

        async def one(item: BulkRow) -> RowOutcome:
            entry = item.registration
            async with limit:
                try:
                    node = await self.register(entry)
                except OGPError as exc:
                    return RowOutcome(
                        row=item.row,
                        cut=entry.cut,
                        outcome="refused",
                        code=exc.code,
                        message=exc.describe(),
                        message_en=exc.describe("en"),
                    )
            outcome = "updated" if entry.cut in known else "registered"
            return RowOutcome(row=item.row, cut=entry.cut, outcome=outcome, keys_confirmed=node.keys_confirmed)

        return list(await asyncio.gather(*(one(item) for item in rows)))

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
        used only once an admin confirms them (``trust_fetched_keys`` confirms at once). Everything given
        is checked before the node is contacted; the webhook must pass the SSRF guard too.
        """
        given: dict[str, Any] = {"cut": cut, "url": base_url, "jwks": jwks, "trust_fetched_keys": trust_fetched_keys}
        given |= {"interval": interval, "contact_email": contact_email, "webhook_url": webhook_url}
        entry: NodeRegistration = checked(given, NodeRegistration)
        if self.reference.get(cut) is None:  # checked again, against the database, when the node is written
            raise _unknown_commune(cut)
        if entry.webhook_url:
            try:
                await self.fetcher.guard.check(entry.webhook_url)
            except OGPError as exc:  # blocked or unresolvable: say which field
                raise InvalidInputError(
                    "webhook no permitido",
                    "webhook not allowed",
                    code=exc.code,
                    errors=[{"path": "$.webhook_url", "message": exc.describe("en")}],
                ) from exc
        base = entry.url.rstrip("/")
        descriptor = await self._document(base + DESCRIPTOR_PATH, NodeDescriptor, ("el descriptor", "the descriptor"))
        if descriptor.cut != cut:
            raise ConflictError(
                f"el nodo publica el CUT {descriptor.cut}, no {cut}",
                f"the node publishes CUT {descriptor.cut}, not {cut}",
            )
        if jwks is None:
            jwks = await self._document(descriptor.jwks_url, dict[str, Any], ("el JWKS", "the JWKS"))
            confirmed = trust_fetched_keys
        else:
            confirmed = True
        report = await check_node(GuardedSource(self.fetcher), base, cut=cut) if self.check_nodes else None
        keys = signing.load_jwks(msgspec.json.encode(jwks))
        if not keys:
            raise InvalidInputError(
                "el JWKS no trae claves Ed25519",
                "the JWKS has no Ed25519 key",
                errors=[{"path": "jwks", "message": "no Ed25519 key"}],
            )
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            # The commune's row is locked: two registrations of one CUT at once queue, the second re-points.
            if await session.scalar(select(Commune.cut).where(Commune.cut == cut).with_for_update()) is None:
                raise _unknown_commune(cut)
            node = await session.scalar(select(Node).where(Node.cut == cut))
            if node is None:
                node = Node(cut=cut, created_at=now, next_poll_at=now, state="never_harvested", consecutive_failures=0)
                session.add(node)
            node.base_url, node.feed_url = base, descriptor.feed_url
            node.signature_url, node.jwks_url = descriptor.signature_url, descriptor.jwks_url
            node.changes_template = descriptor.changes_url_template
            pinned = signing.pinned_jwks(keys)  # only what verifying needs
            if node.keys_confirmed and not confirmed and pinned == node.keys:
                confirmed = True  # registered again with the keys already confirmed: nothing to confirm anew
            node.keys, node.keys_confirmed = pinned, confirmed
            await remember_keys(session, cut, dict(pinned))
            if report is not None:
                node.conformance = msgspec.to_builtins(report)
            node.poll_interval = interval or node.poll_interval or self.default_interval
            node.contact_email = contact_email or node.contact_email
            node.webhook_url = webhook_url or node.webhook_url
            node.next_poll_at = now
            if node.state == "removed":
                node.state = "never_harvested"
        return node

    async def _document(self, url: str, kind: Any, what: tuple[str, str]) -> Any:
        """A JSON document of the node, decoded as ``kind``; an error naming the URL when it is not."""
        fetched = await self.fetcher.get(url)
        try:
            return msgspec.json.decode(fetched.body, type=kind)
        except msgspec.DecodeError as exc:  # ValidationError included
            raise InvalidInputError(
                f"{what[0]} del nodo no es válido",
                f"{what[1]} of the node is invalid",
                errors=[{"path": url, "message": str(exc)}],
            ) from exc

    async def set_attributes(
        self,
        cut: str,
        *,
        population: int | None = None,
        subdere_group: int | None = None,
        groups: list[str] | None = None,
    ) -> Commune:
        """Record peer-group attributes of a commune (only the ones given change)."""
        given: Attributes = checked(
            {"population": population, "subdere_group": subdere_group, "groups": groups}, Attributes
        )
        async with self.db.transaction() as session:
            commune = await session.get(Commune, cut)
            if commune is None:
                raise _unknown_commune(cut)
            if given.population is not None:
                commune.population = given.population
            if given.subdere_group is not None:
                commune.subdere_group = given.subdere_group
            if given.groups is not None:
                commune.groups = sorted(set(given.groups))
        if self.on_attributes is not None:
            self.on_attributes()
        return commune

    async def record_declared(self, session: AsyncSession, declared: list[tuple[str, int | None, int | None]]) -> None:
        """Keep what accepted feeds declare (cut, population, SUBDERE group), in the accepting transaction."""
        changed = False
        query = select(Commune).where(Commune.cut.in_(sorted({cut for cut, _, _ in declared})))
        communes = {commune.cut: commune for commune in await session.scalars(query)}  # one read for the batch
        for cut, population, subdere_group in declared:
            commune = communes.get(cut)
            if commune is None:
                continue
            if (commune.declared_population, commune.declared_subdere_group) != (population, subdere_group):
                commune.declared_population, commune.declared_subdere_group = population, subdere_group
                changed = True
        if changed and self.on_attributes is not None:
            self.on_attributes()

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

    async def conformance(self, cut: str) -> dict[str, Any]:
        """The conformance report stored when ``cut``'s node was last registered (or checked)."""
        async with self.db.sessions() as session:
            node = await self._node(session, cut)
        if node.conformance is None:
            raise NotFoundError(
                f"el nodo de {cut} no tiene revisión de conformidad", f"the node of {cut} has no conformance report"
            )
        return node.conformance

    async def public_keys(self, cut: str) -> dict[str, Any]:
        """The public keys pinned for ``cut``'s node (a JWKS): what its harvested versions are verified with."""
        async with self.db.sessions() as session:
            node = await self._node(session, cut)
        return dict(signing.pinned_jwks(signing.load_jwks(json.dumps(node.keys))))

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


def _unknown_commune(cut: str) -> NotFoundError:
    return NotFoundError(f"el CUT {cut} no está en el registro", f"CUT {cut} is not in the registry")
