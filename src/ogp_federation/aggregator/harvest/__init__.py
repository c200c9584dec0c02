"""The harvest: claim due nodes, poll them (fetch, verify, validate, guard), record what they published.

Polls run outside any transaction; their results are written in batches (group commit) through the
history's write side. Push notices from nodes start a poll at once.
"""

from __future__ import annotations

from .harvester import MAX_ENDORSEMENTS, Harvester
from .scheduler import PUSH_LANE, HarvestScheduler, RoundSummary
from .schemas import Candidate, HarvestResult, Polled, StateChange
from .service import PushAccepted, PushService, TooManyPushesError

__all__ = [
    "MAX_ENDORSEMENTS",
    "PUSH_LANE",
    "Candidate",
    "HarvestResult",
    "HarvestScheduler",
    "Harvester",
    "Polled",
    "PushAccepted",
    "PushService",
    "RoundSummary",
    "StateChange",
    "TooManyPushesError",
]
