"""Research access: OAuth2 clients for universities, JWT access tokens, quotas, and what a token opens."""

from __future__ import annotations

from .models import ApiClient, QuotaWindow, RevokedToken, SigningKey
from .server import SCOPES
from .service import Granted, OAuthAnswer, ResearchService

__all__ = [
    "SCOPES",
    "ApiClient",
    "Granted",
    "OAuthAnswer",
    "QuotaWindow",
    "ResearchService",
    "RevokedToken",
    "SigningKey",
]
