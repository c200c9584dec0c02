"""What the registry takes and gives: registrations, peer-group attributes, and views of nodes and communes."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from ogp_federation.core.errors import invalid_input
from ogp_federation.feed.model import Cut, Url

from .models import Commune, Node

__all__ = ["Attributes", "CommuneView", "NodeRegistration", "NodeView", "checked"]

MAX_INTERVAL = 7 * 24 * 3600
Email = Annotated[str, Meta(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
GroupName = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^\S(.*\S)?$")]


class NodeRegistration(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A node to register (admin API body; the CLI's arguments are checked the same way)."""

    cut: Cut
    url: Url
    jwks: dict[str, Any] | None = None
    trust_fetched_keys: bool = False
    interval: Annotated[int, Meta(ge=10, le=MAX_INTERVAL)] | None = None
    contact_email: Email | None = None
    webhook_url: Url | None = None


class Attributes(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Peer-group attributes of a commune; only the ones given change."""

    population: Annotated[int, Meta(ge=0, le=100_000_000)] | None = None
    subdere_group: Annotated[int, Meta(ge=1, le=5)] | None = None
    groups: Annotated[list[GroupName], Meta(max_length=50)] | None = None


def checked(value: dict[str, Any], kind: type[msgspec.Struct]) -> Any:
    """``value`` as ``kind``, or an :class:`InvalidInputError` naming the field and the rule it breaks."""
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        raise invalid_input(exc, "datos inválidos", "invalid input") from exc


class NodeView(msgspec.Struct, kw_only=True):
    """A registered node as operators see it."""

    cut: str
    base_url: str
    state: str
    sequence: int | None
    keys_confirmed: bool
    kids: list[str | None]
    poll_interval: int
    last_error_code: str | None
    conformance_level: str | None  # none, basic or full: the checks run on registration
    conformance_failed: list[str]  # the ids of the checks that failed

    @classmethod
    def of(cls, node: Node) -> NodeView:
        """The view of ``node``."""
        return cls(
            cut=node.cut,
            base_url=node.base_url,
            state=node.state,
            sequence=node.sequence,
            keys_confirmed=node.keys_confirmed,
            kids=[key.get("kid") for key in node.keys.get("keys", [])],
            poll_interval=node.poll_interval,
            last_error_code=node.last_error_code,
            conformance_level=(node.conformance or {}).get("level"),
            conformance_failed=[
                check["id"] for check in (node.conformance or {}).get("checks", []) if check.get("status") == "fail"
            ],
        )


class CommuneView(msgspec.Struct, kw_only=True):
    """A commune's peer-group attributes."""

    cut: str
    population: int | None  # the operator's value
    subdere_group: int | None
    groups: list[str]
    declared_population: int | None = None  # what the commune's feed says (used when the operator set none)
    declared_subdere_group: int | None = None

    @classmethod
    def of(cls, commune: Commune) -> CommuneView:
        """The view of ``commune``."""
        return cls(
            cut=commune.cut,
            population=commune.population,
            subdere_group=commune.subdere_group,
            groups=commune.groups,
            declared_population=commune.declared_population,
            declared_subdere_group=commune.declared_subdere_group,
        )
