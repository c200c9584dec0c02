"""The node's signing key and the public keys it still publishes after a rotation.

Files under ``<data_dir>/keys``: ``signing-key.jwk.json`` (the current private key, mode 0600) and
``retired.json`` (keys rotated out, with the time they were retired; mode 0600 as it keeps their private
part until the grace period ends). The JWKS holds the current key plus every retired key younger than
the grace period, the newest ``MAX_JWKS_KEYS`` in all. The JWKS is *endorsed* (``jwks.json.sig``) by
every key it holds, so a harvester that pinned the old key accepts the new one on the old key's word.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from joserfc.jwk import OKPKey

from ogp_federation.core.errors import ConfigurationError
from ogp_federation.core.files import write_private
from ogp_federation.feed import signing

__all__ = ["KeyRing"]

PRIVATE_FILE = "signing-key.jwk.json"
RETIRED_FILE = "retired.json"


@dataclass
class KeyRing:
    """The current signing key and the retired public keys."""

    folder: Path
    current: OKPKey
    retired: list[dict[str, Any]]

    @classmethod
    def create(cls, folder: Path) -> KeyRing:
        """Generate the first key in ``folder`` (refusing to replace an existing one)."""
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if (folder / PRIVATE_FILE).exists():
            raise ConfigurationError(
                f"ya existe una clave en {folder}", f"a key already exists in {folder}", code="key.exists"
            )
        ring = cls(folder, signing.generate_key(), [])
        ring.save()
        return ring

    @classmethod
    def load(cls, folder: Path) -> KeyRing:
        """Read the key ring from ``folder``."""
        try:
            current = signing.load_private_key((folder / PRIVATE_FILE).read_bytes())
            retired_path = folder / RETIRED_FILE
            retired = json.loads(retired_path.read_text(encoding="utf-8")) if retired_path.exists() else []
        except OSError as exc:
            raise ConfigurationError(
                f"no se pudo leer la clave en {folder}", f"cannot read the key in {folder}", detail=str(exc)
            ) from exc
        return cls(folder, current, retired)

    @property
    def kid(self) -> str:
        """The current key's id."""
        return self.current.kid or self.current.thumbprint()

    def save(self) -> None:
        """Write both files (the private key with mode 0600)."""
        write_private(self.folder / PRIVATE_FILE, signing.private_key_json(self.current))
        write_private(self.folder / RETIRED_FILE, json.dumps(self.retired, indent=2) + "\n")

    def rotate(self, now: datetime) -> str:
        """Replace the current key by a new one; the old public key is kept as retired. Returns the new kid."""
        (public,) = signing.jwks_of([self.current])["keys"]
        private = json.loads(signing.private_key_json(self.current))
        self.retired.append({"jwk": public, "private": private, "retired_at": now.isoformat()})
        self.current = signing.generate_key()
        self.save()
        return self.kid

    def _live_retired(self, now: datetime, grace: timedelta) -> list[dict[str, Any]]:
        """The retired keys still published: within ``grace``, newest first, as many as a JWKS may hold."""
        live = [e for e in reversed(self.retired) if datetime.fromisoformat(e["retired_at"]) + grace >= now]
        return live[: signing.MAX_JWKS_KEYS - 1]

    def jwks(self, now: datetime, grace: timedelta) -> dict[str, Any]:
        """The published JWKS: the current key and the retired keys still within ``grace``."""
        keys = signing.jwks_of([self.current])["keys"]
        keys += [entry["jwk"] for entry in self._live_retired(now, grace)]
        return {"keys": keys}

    def endorsements(self, jwks_bytes: bytes, now: datetime, grace: timedelta) -> list[str]:
        """Detached signatures of the JWKS bytes by the current key and every retired key in ``grace``."""
        keys = [self.current] + [
            signing.load_private_key(json.dumps(entry["private"]))
            for entry in self._live_retired(now, grace)
            if "private" in entry
        ]
        return [signing.sign(jwks_bytes, key) for key in keys]
