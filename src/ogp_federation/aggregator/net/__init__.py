"""Reaching what nodes publish, defensively: the SSRF guard and the bounded fetcher.

Every outbound request of the aggregator goes through here — node documents read by the registry and
the harvest, and the webhooks the status context posts alerts to.
"""

from __future__ import annotations

from .fetch import Fetched, Fetcher, FetchFailedError, FetchLimits, retry_after_seconds
from .guard import BlockedAddressError, NetworkGuard, ResolvedTarget

__all__ = [
    "BlockedAddressError",
    "FetchFailedError",
    "FetchLimits",
    "Fetched",
    "Fetcher",
    "NetworkGuard",
    "ResolvedTarget",
    "retry_after_seconds",
]
