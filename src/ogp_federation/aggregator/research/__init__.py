"""Research access: OAuth2 clients for universities, JWT access tokens, quotas, and what a token opens."""

from __future__ import annotations

from .models import ApiClient, QuotaWindow, RevokedToken, SigningKey
from .releases import ReleaseService, ReleaseView
from .schemas import Granted, OAuthAnswer, OAuthError
from .server import SCOPES
from .service import ResearchService

__all__ = [
    "SCOPES",
    "ApiClient",
    "Granted",
    "OAuthAnswer",
    "OAuthError",
    "QuotaWindow",
    "ReleaseService",
    "ReleaseView",
    "ResearchService",
    "RevokedToken",
    "SigningKey",
]
