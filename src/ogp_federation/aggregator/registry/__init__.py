"""The registry: the 346 communes with their peer-group attributes, and each commune's registered node."""

from __future__ import annotations

from .bulk import BulkRow, RowOutcome, parse_registrations
from .keys import remember_keys
from .models import ETAG_LENGTH, LAST_MODIFIED_LENGTH, Commune, Node, NodeKey
from .schemas import Attributes, CommuneView, NodeRegistration, NodeView
from .service import RegistryService

__all__ = [
    "ETAG_LENGTH",
    "LAST_MODIFIED_LENGTH",
    "Attributes",
    "BulkRow",
    "Commune",
    "CommuneView",
    "Node",
    "NodeKey",
    "NodeRegistration",
    "NodeView",
    "RegistryService",
    "RowOutcome",
    "parse_registrations",
    "remember_keys",
]
