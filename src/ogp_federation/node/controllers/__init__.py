"""HTTP controllers of the node: public feed, admin API, evidence and the citizen page."""

from __future__ import annotations
