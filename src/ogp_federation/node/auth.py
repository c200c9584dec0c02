"""Staff accounts, hashed passwords, personal API tokens and the role check of the admin API.

Passwords are hashed with scrypt (standard library, memory-hard); tokens are 256 random bits shown
once and stored only as their SHA-256. Roles: ``editor`` changes the plan, ``admin`` also manages staff.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from ogp_federation.core.db import Database
from ogp_federation.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)

from .models import ApiToken, User

__all__ = ["ROLES", "Staff", "StaffService", "hash_password", "verify_password"]

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
TOKEN_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,100}$")


def _check(value: str, pattern: re.Pattern[str], field: str, rule_es: str, rule_en: str) -> None:
    if not pattern.match(value):
        raise InvalidInputError(
            f"{field}: {rule_es}", f"{field}: {rule_en}", errors=[{"path": field, "message": rule_en}]
        )


ROLES = ("editor", "admin")
TOKEN_PREFIX = "ogpn_"  # noqa: S105 (a public prefix that makes leaked tokens easy to spot)
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` for ``password``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    encoded = [base64.b64encode(part).decode() for part in (salt, digest)]
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${encoded[0]}${encoded[1]}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), dklen=len(expected), n=int(n), r=int(r), p=int(p)
        )
    except (ValueError, TypeError):
        return False
    return scheme == "scrypt" and hmac.compare_digest(actual, expected)


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


class StaffService:
    """Accounts and tokens, shared by the CLI and the admin API."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_user(self, username: str, password: str, role: str) -> None:
        """Add a staff account."""
        _check(
            username,
            USERNAME,
            "username",
            "letras, dígitos y . _ @ -, hasta 64, empezando por letra o dígito",
            "letters, digits and . _ @ -, at most 64, starting with a letter or digit",
        )
        if role not in ROLES:
            raise InvalidInputError("rol desconocido", "unknown role", errors=[{"path": "role", "message": role}])
        if len(password) < 12:
            raise InvalidInputError(
                "la contraseña necesita al menos 12 caracteres",
                "the password needs at least 12 characters",
                errors=[{"path": "password", "message": "too short"}],
            )
        async with self.db.transaction() as session:
            if await session.scalar(select(User.id).where(User.username == username)) is not None:
                raise ConflictError(f"el usuario {username} ya existe", f"user {username} already exists")
            session.add(
                User(username=username, password_hash=hash_password(password), role=role, created_at=datetime.now(UTC))
            )

    async def create_token(self, username: str, name: str = "personal") -> str:
        """A new token for ``username``; the only time the plain token is seen."""
        _check(name, TOKEN_NAME, "token_name", "de 1 a 100 caracteres imprimibles", "1 to 100 printable characters")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        async with self.db.transaction() as session:
            user_id = await session.scalar(select(User.id).where(User.username == username))
            if user_id is None:
                raise NotFoundError(f"el usuario {username} no existe", f"user {username} does not exist")
            session.add(
                ApiToken(user_id=user_id, token_hash=_token_hash(token), name=name, created_at=datetime.now(UTC))
            )
        return token

    async def token_for_password(self, username: str, password: str, name: str) -> str:
        """Exchange a username and password for a new token."""
        if not USERNAME.match(username):  # no such account can exist: no need to ask the database
            raise AuthenticationError("usuario o contraseña incorrectos", "wrong username or password")
        async with self.db.sessions() as session:
            user = await session.scalar(select(User).where(User.username == username))
        if user is None or not verify_password(password, user.password_hash):
            raise AuthenticationError("usuario o contraseña incorrectos", "wrong username or password")
        return await self.create_token(username, name)

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
                    .where(ApiToken.token_hash == _token_hash(token), ApiToken.revoked_at.is_(None))
                )
            ).first()
        if row is None:
            raise AuthenticationError("token inválido o revocado", "invalid or revoked token")
        return Staff(username=row.username, role=row.role)
