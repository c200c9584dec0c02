"""Conformance of a commune's node to the protocol: the checks a commune runs (`node check`) and the
aggregator runs when it registers the node. Reads through a :class:`Source` (HTTP, or a static folder)."""

from __future__ import annotations

from .catalogue import CHECKS, CheckInfo
from .checks import CheckResult, Report, check_node
from .sources import Answer, FolderSource, HttpSource, Source, SourceError

__all__ = [
    "CHECKS",
    "Answer",
    "CheckInfo",
    "CheckResult",
    "FolderSource",
    "HttpSource",
    "Report",
    "Source",
    "SourceError",
    "check_node",
]
