"""What research access answers: OAuth 2.0 errors and answers, and a request a token let through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from .tokens import AccessToken

__all__ = ["Granted", "OAuthAnswer", "OAuthError"]


class OAuthError(msgspec.Struct, kw_only=True):
    """An OAuth 2.0 error (RFC 6749 §5.2)."""

    error: str
    error_description: str | None = None


@dataclass(frozen=True)
class OAuthAnswer:
    """What an OAuth endpoint answers: status, JSON body, headers."""

    status: int
    body: Any
    headers: dict[str, str]


@dataclass(frozen=True)
class Granted:
    """A request a token let through, with the quota headers to send back."""

    token: AccessToken
    headers: dict[str, str]
