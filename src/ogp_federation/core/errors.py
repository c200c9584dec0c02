"""The project's one error hierarchy.

Every error carries a stable ``code`` and a message in Spanish and English. The web layers (node,
aggregator) turn these into RFC 9457 problem responses in one place; the CLI prints them and exits 2.
"""

from __future__ import annotations

__all__ = ["FetchError", "OGPError", "SignatureError"]


class OGPError(Exception):
    """Base of every error ogp-federation raises on purpose."""

    default_code = "error"

    def __init__(self, message: str, message_en: str, *, code: str | None = None, detail: str | None = None) -> None:
        self.message = message
        self.message_en = message_en
        self.code = code or self.default_code
        self.detail = detail
        super().__init__(f"{message_en} ({detail})" if detail else message_en)

    def describe(self, language: str = "es") -> str:
        """A one-line description in ``language`` (``es`` or ``en``)."""
        text = self.message if language == "es" else self.message_en
        return f"{text} ({self.detail})" if self.detail else text


class SignatureError(OGPError):
    """A key, JWKS or signature is unreadable, or a signature does not verify."""

    default_code = "signature.invalid"


class FetchError(OGPError):
    """A document could not be read from a file or URL."""

    default_code = "fetch.failed"
