"""The project's one error hierarchy.

Every error carries a stable ``code`` and a message in Spanish and English. The web layers (node,
aggregator) turn these into RFC 9457 problem responses in one place; the CLI prints them and exits 2.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "DatabaseUnavailableError",
    "FetchError",
    "InvalidInputError",
    "NotFoundError",
    "NotReadyError",
    "OGPError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "PreconditionRequiredError",
    "SignatureError",
    "TooManyRequestsError",
    "UnsupportedMediaError",
    "invalid_input",
]


class OGPError(Exception):
    """Base of every error ogp-federation raises on purpose."""

    default_code = "error"
    status_code = 400

    def __init__(
        self,
        message: str,
        message_en: str,
        *,
        code: str | None = None,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message
        self.message_en = message_en
        self.code = code or self.default_code
        self.detail = detail
        self.headers = headers or {}  # sent with the HTTP answer (e.g. WWW-Authenticate)
        super().__init__(f"{message_en} ({detail})" if detail else message_en)

    def describe(self, language: str = "es") -> str:
        """A one-line description in ``language`` (``es`` or ``en``)."""
        text = self.message if language == "es" else self.message_en
        return f"{text} ({self.detail})" if self.detail else text


class SignatureError(OGPError):
    """A key, JWKS or signature is unreadable, or a signature does not verify."""

    default_code = "signature.invalid"


class FetchError(OGPError):
    """A document could not be read from a file or URL (over HTTP: the server we asked failed us, 502)."""

    default_code = "fetch.failed"
    status_code = 502


class NotFoundError(OGPError):
    """The requested record or resource does not exist."""

    default_code = "not_found"
    status_code = 404


class ConflictError(OGPError):
    """The request conflicts with the current state (e.g. the record already exists)."""

    default_code = "conflict"
    status_code = 409


class PreconditionFailedError(OGPError):
    """``If-Match`` names a version that is no longer current: someone else changed the record."""

    default_code = "precondition_failed"
    status_code = 412


class PreconditionRequiredError(OGPError):
    """An update or deletion came without ``If-Match``: lost updates are refused."""

    default_code = "precondition_required"
    status_code = 428


class AuthenticationError(OGPError):
    """Missing or invalid credentials."""

    default_code = "unauthenticated"
    status_code = 401


class PermissionDeniedError(OGPError):
    """Authenticated, but the role does not allow this."""

    default_code = "forbidden"
    status_code = 403


class InvalidInputError(OGPError):
    """Input that breaks the rules; ``errors`` lists every problem with where it is."""

    default_code = "invalid_input"
    status_code = 422

    def __init__(
        self,
        message: str,
        message_en: str,
        *,
        errors: list[dict[str, object]],
        code: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, message_en, code=code, detail=detail)
        self.errors = errors


class PayloadTooLargeError(OGPError):
    """The body or file is over the configured limit."""

    default_code = "too_large"
    status_code = 413


class UnsupportedMediaError(OGPError):
    """The uploaded file's type is not allowed."""

    default_code = "unsupported_media_type"
    status_code = 415


class ConfigurationError(OGPError):
    """Settings or files on disk are missing or inconsistent."""

    default_code = "configuration"


class TooManyRequestsError(OGPError):
    """Too many attempts too close together; ``retry_after`` says in how many seconds to try again."""

    default_code = "rate_limited"
    status_code = 429

    def __init__(
        self,
        message: str,
        message_en: str,
        *,
        retry_after: float,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, message_en, code=code, headers=headers)
        self.retry_after = retry_after


class NotReadyError(OGPError):
    """The service is up but cannot do its job yet (e.g. a node that publishes nothing so far)."""

    default_code = "not_ready"
    status_code = 503


class DatabaseUnavailableError(OGPError):
    """The database cannot be reached, or does not hold the project's tables yet."""

    default_code = "database.unavailable"
    status_code = 503


def invalid_input(exc: Exception, message: str, message_en: str) -> InvalidInputError:
    """An :class:`InvalidInputError` from a msgspec error (``reason - at `$.path```), naming the path."""
    reason, _, where = str(exc).partition(" - at `")
    return InvalidInputError(message, message_en, errors=[{"path": where.rstrip("`") or "$", "message": reason}])
