"""Federation health: the status page and its JSON twin, alerts to a node's contact, Prometheus metrics."""

from __future__ import annotations

from .alerts import AlertSender
from .metrics import Metrics
from .schemas import FederationStatus, LastError, StatusRow
from .service import STATE_ES, StatusService

__all__ = ["STATE_ES", "AlertSender", "FederationStatus", "LastError", "Metrics", "StatusRow", "StatusService"]
