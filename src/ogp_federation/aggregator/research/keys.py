"""The aggregator's own Ed25519 keys, kept in its database so every process signs and verifies alike.

The newest key signs; retired keys stay in the published JWKS so what they signed still verifies.
The first process that needs a key makes one (a concurrent first use keeps only one of them).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from joserfc.jwk import OKPKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ogp_federation.core.db import Database
from ogp_federation.feed import signing

from .models import SigningKey

__all__ = ["KeyStore"]


class KeyStore:
    """The aggregator's signing keys (cached in the process once read)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._keys: list[OKPKey] | None = None

    async def keys(self) -> list[OKPKey]:
        """Every key, newest first (one is made when there is none)."""
        if self._keys is None:
            self._keys = await self._load()
            if not self._keys:
                await self._create()
                self._keys = await self._load()
        return self._keys

    async def current(self) -> OKPKey:
        """The key that signs now."""
        return (await self.keys())[0]

    async def jwks(self) -> signing.Jwks:
        """The public JWKS of every key (what tokens and releases are verified with)."""
        return signing.jwks_of(await self.keys())

    async def rotate(self) -> str:
        """Make a new key the signing one; the old ones stay published. Returns the new ``kid``."""
        kid = await self._create()
        self._keys = None
        return kid

    async def _load(self) -> list[OKPKey]:
        async with self.db.sessions() as session:
            rows = await session.scalars(select(SigningKey).order_by(SigningKey.created_at.desc()))
            return [signing.load_private_key(json.dumps(row.private_jwk)) for row in rows]

    async def _create(self) -> str:
        key = signing.generate_key()
        kid = key.kid or key.thumbprint()
        try:
            async with self.db.transaction() as session:
                session.add(
                    SigningKey(
                        kid=kid,
                        private_jwk=json.loads(signing.private_key_json(key)),
                        created_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:  # pragma: no cover (a thumbprint collision: impossible in practice)
            pass
        return kid
