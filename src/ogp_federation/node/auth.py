"""Staff accounts, hashed passwords, personal API tokens and the role check of the admin API.

Passwords are hashed with Argon2id (argon2-cffi, RFC 9106 parameters); hashes of an older scheme
(scrypt, before 0.2) or of weaker parameters are replaced at the next successful login. Tokens are 256
random bits shown once, stored only as their SHA-256, and expire. Usernames are compared as written in
Unicode normal form and lower case, so no look-alike account can be made. Failed logins are limited per
account and per address. Roles: ``editor`` changes the plan, ``admin`` also manages staff.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
import unicodedata
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, or_, select, update

from ogp_federation.core.db import Database
from ogp_federation.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    TooManyRequestsError,
)

from .models import ApiToken, User

__all__ = [
    "MIN_PASSWORD",
    "ROLES",
    "LoginThrottle",
    "Staff",
    "StaffService",
    "TokenView",
    "hash_password",
    "normalise_username",
    "verify_password",
]

USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
TOKEN_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,100}")
MIN_PASSWORD = 12
TOKEN_DAYS = 180  # a personal token lasts this long unless said otherwise
LOGIN_TOKEN_DAYS = 30


def _check(value: str, pattern: re.Pattern[str], field: str, rule_es: str, rule_en: str) -> None:
    if not pattern.fullmatch(value):
        raise InvalidInputError(
            f"{field}: {rule_es}", f"{field}: {rule_en}", errors=[{"path": field, "message": rule_en}]
        )


def normalise_username(raw: str) -> str:
    """``raw`` as accounts are compared: Unicode NFKC, without surrounding spaces, lower case."""
    return unicodedata.normalize("NFKC", raw).strip().casefold()


ROLES = ("editor", "admin")
TOKEN_PREFIX = "ogpn_"  # noqa: S105 (a public prefix that makes leaked tokens easy to spot)
_HASHER = PasswordHasher()  # Argon2id, t=3, m=64 MiB, p=4: RFC 9106's second recommended option


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password`` (PHC string format)."""
    return _HASHER.hash(password)


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``, an Argon2id hash or an older scrypt one (constant time)."""
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` should be replaced by a hash of today's scheme and parameters."""
    return stored.startswith("scrypt$") or _HASHER.check_needs_rehash(stored)


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), dklen=len(expected), n=int(n), r=int(r), p=int(p)
        )
    except (ValueError, TypeError):
        return False
    return scheme == "scrypt" and hmac.compare_digest(actual, expected)


class LoginThrottle:
    """Failed logins, counted per account and per client address over a sliding window (this process).

    Past the limits a login is refused with 429 and ``Retry-After`` before the password is even checked.
    """

    def __init__(
        self, *, per_account: int = 5, per_address: int = 20, window: float = 900.0, max_keys: int = 100_000
    ) -> None:
        self.limits = {"account": per_account, "address": per_address}
        self.window = window
        self.max_keys = max_keys
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    def check(self, username: str, address: str) -> None:
        """Raise :class:`TooManyRequestsError` when either the account or the address is over its limit."""
        now = time.monotonic()
        for kind, key in (("account", username), ("address", address)):
            failures = self._recent((kind, key), now)
            if failures is not None and len(failures) >= self.limits[kind]:
                raise TooManyRequestsError(
                    "demasiados intentos fallidos; espere antes de volver a intentar",
                    "too many failed attempts; wait before trying again",
                    retry_after=failures[0] + self.window - now,
                    code="login.throttled",
                )

    def failed(self, username: str, address: str) -> None:
        """Count a failed login (past ``max_keys`` names, the oldest are forgotten first)."""
        now = time.monotonic()
        for key in (("account", username), ("address", address)):
            self._failures.setdefault(key, deque()).append(now)
            self._failures.move_to_end(key)
        while len(self._failures) > self.max_keys:  # invented usernames must not grow the memory forever
            self._failures.popitem(last=False)

    def succeeded(self, username: str) -> None:
        """Forget the account's failures (the address keeps its own)."""
        self._failures.pop(("account", username), None)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float] | None:
        """The failures of ``key`` within the window (None, and forgotten, when there are none)."""
        failures = self._failures.get(key)
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            self._failures.pop(key, None)
            return None
        return failures


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Staff:
    """An authenticated staff member."""

    username: str
    role: str

    def require(self, role: str) -> None:
        """Raise :class:`PermissionDeniedError` unless this member has ``role`` (admin has every role)."""
        if self.role not in (role, "admin"):
            raise PermissionDeniedError(f"se requiere el rol {role}", f"the {role} role is required")


@dataclass(frozen=True)
class TokenView:
    """A personal token as listed (never the token itself)."""

    id: int
    username: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class StaffService:
    """Accounts and tokens, shared by the CLI and the admin API."""

    def __init__(self, db: Database, throttle: LoginThrottle | None = None) -> None:
        self.db = db
        self.throttle = throttle or LoginThrottle()

    @staticmethod
    def check_username(raw: str) -> str:
        """The normalised username, or a clear error naming the rule."""
        username = normalise_username(raw)
        _check(
            username,
            USERNAME,
            "username",
            "letras, dígitos y . _ @ -, hasta 64, empezando por letra o dígito",
            "letters, digits and . _ @ -, at most 64, starting with a letter or digit",
        )
        return username

    @staticmethod
    def check_password(password: str) -> None:
        """A clear error unless ``password`` is long enough."""
        if len(password) < MIN_PASSWORD:
            raise InvalidInputError(
                f"la contraseña necesita al menos {MIN_PASSWORD} caracteres",
                f"the password needs at least {MIN_PASSWORD} characters",
                errors=[{"path": "password", "message": "too short"}],
            )

    async def create_user(self, username: str, password: str, role: str) -> str:
        """Add a staff account; its username as stored (normalised)."""
        username = self.check_username(username)
        if role not in ROLES:
            raise InvalidInputError("rol desconocido", "unknown role", errors=[{"path": "role", "message": role}])
        self.check_password(password)
        async with self.db.transaction() as session:
            if await self._user_id(session, username) is not None:
                raise ConflictError(f"el usuario {username} ya existe", f"user {username} already exists")
            session.add(
                User(username=username, password_hash=hash_password(password), role=role, created_at=datetime.now(UTC))
            )
        return username

    async def create_token(self, username: str, name: str = "personal", *, days: int | None = TOKEN_DAYS) -> str:
        """A new token for ``username``, valid ``days`` (None: until revoked); the only time it is seen."""
        _check(name, TOKEN_NAME, "token_name", "de 1 a 100 caracteres imprimibles", "1 to 100 printable characters")
        if days is not None and not 1 <= days <= 3650:
            raise InvalidInputError(
                "la vigencia va de 1 a 3650 días",
                "validity is 1 to 3650 days",
                errors=[{"path": "days", "message": str(days)}],
            )
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            user_id = await self._user_id(session, normalise_username(username))
            if user_id is None:
                raise NotFoundError(f"el usuario {username} no existe", f"user {username} does not exist")
            session.add(
                ApiToken(
                    user_id=user_id,
                    token_hash=_token_hash(token),
                    name=name,
                    created_at=now,
                    expires_at=now + timedelta(days=days) if days is not None else None,
                )
            )
        return token

    async def tokens(self, username: str | None = None) -> list[TokenView]:
        """Every token (of ``username``), newest first, revoked and expired ones included."""
        query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
        if username is not None:
            query = query.where(func.lower(User.username) == normalise_username(username))
        async with self.db.sessions() as session:
            rows = (await session.execute(query.order_by(ApiToken.id.desc()))).all()
        return [
            TokenView(
                id=token.id,
                username=owner,
                name=token.name,
                created_at=token.created_at,
                expires_at=token.expires_at,
                revoked_at=token.revoked_at,
            )
            for token, owner in rows
        ]

    async def revoke_token(self, token_id: int) -> None:
        """Revoke a token at once (it stays listed)."""
        async with self.db.transaction() as session:
            done = await session.execute(
                update(ApiToken)
                .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
            if done.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFoundError(f"no hay token vigente con id {token_id}", f"no token in force with id {token_id}")

    async def token_for_password(self, username: str, password: str, name: str, *, address: str = "") -> str:
        """Exchange a username and password for a new token (failed attempts are limited)."""
        username = normalise_username(username)
        self.throttle.check(username, address)
        user = None
        if USERNAME.fullmatch(username):  # else no such account can exist: no need to ask the database
            async with self.db.sessions() as session:
                user = await session.scalar(select(User).where(func.lower(User.username) == username))
        if user is None or not verify_password(password, user.password_hash):
            self.throttle.failed(username, address)
            raise AuthenticationError("usuario o contraseña incorrectos", "wrong username or password")
        self.throttle.succeeded(username)
        if needs_rehash(user.password_hash):  # an older scheme or weaker parameters: replaced now
            async with self.db.transaction() as session:
                await session.execute(
                    update(User).where(User.id == user.id).values(password_hash=hash_password(password))
                )
        return await self.create_token(user.username, name, days=LOGIN_TOKEN_DAYS)

    @staticmethod
    async def _user_id(session: Any, username: str) -> int | None:
        user_id: int | None = await session.scalar(select(User.id).where(func.lower(User.username) == username))
        return user_id

    async def authenticate(self, authorization: str | None) -> Staff:
        """The staff member behind an ``Authorization: Bearer`` header."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise AuthenticationError(
                "falta el token (Authorization: Bearer …)", "missing token (Authorization: Bearer …)"
            )
        token = authorization[7:].strip()
        async with self.db.sessions() as session:
            row = (
                await session.execute(
                    select(User.username, User.role)
                    .join(ApiToken, ApiToken.user_id == User.id)
                    .where(
                        ApiToken.token_hash == _token_hash(token),
                        ApiToken.revoked_at.is_(None),
                        or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > datetime.now(UTC)),
                    )
                )
            ).first()
        if row is None:
            raise AuthenticationError("token inválido, vencido o revocado", "invalid, expired or revoked token")
        return Staff(username=row.username, role=row.role)
