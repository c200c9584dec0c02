"""The research access tables: API clients, revoked tokens, shared quota counters, the aggregator's keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ogp_federation.aggregator.common import AggregatorBase
from ogp_federation.core.db import JSON_DOCUMENT, UTCDateTime

__all__ = ["ApiClient", "QuotaWindow", "RevokedToken", "SigningKey"]


class ApiClient(AggregatorBase):
    """A researcher's OAuth2 client (client credentials): only the Argon2id hash of its secret is kept."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(254))
    scopes: Mapped[str] = mapped_column(String(200))  # space separated
    quota_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: the default
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    secret_rotated_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)


class RevokedToken(AggregatorBase):
    """An access token revoked before it expires (by its ``jti``); forgotten once expired."""

    __tablename__ = "revoked_tokens"
    __table_args__ = (Index("ix_revoked_tokens_expires_at", "expires_at"),)

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))


class QuotaWindow(AggregatorBase):
    """Requests of one client in one minute, counted in the database so every process shares the count."""

    __tablename__ = "quota_windows"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[int] = mapped_column(Integer, primary_key=True)  # Unix minute
    used: Mapped[int] = mapped_column(Integer, default=0)


class SigningKey(AggregatorBase):
    """The aggregator's own Ed25519 keys (access tokens; release manifests): the newest signs."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_jwk: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
