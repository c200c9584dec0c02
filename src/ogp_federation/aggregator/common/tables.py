"""What every aggregator table builds on: one declarative base (one metadata, one migration history)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase

from ogp_federation.core.db import NAMING

__all__ = ["SEQUENCE", "AggregatorBase"]

# Sequences may reach 2**53 (the standard): 64-bit columns (SQLite's INTEGER already is).
SEQUENCE = BigInteger().with_variant(Integer(), "sqlite")


class AggregatorBase(DeclarativeBase):
    """Declarative base of the aggregator's tables (every sub-context's ``models`` module uses it)."""

    metadata = MetaData(naming_convention=NAMING)
