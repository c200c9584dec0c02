"""The harvest's service to others: push notices, verified, deduplicated, rate-limited and harvested at once."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import msgspec
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from ogp_federation.aggregator.registry import Node
from ogp_federation.core.db import Database
from ogp_federation.core.errors import InvalidInputError, NotFoundError, TooManyRequestsError, invalid_input
from ogp_federation.feed import signing
from ogp_federation.feed.protocol import PUSH_NOTICE_TYPE, PushNotice

from .models import PushReceipt

__all__ = ["PushAccepted", "PushService", "TooManyPushesError"]

MAX_AGE = timedelta(minutes=10)


class TooManyPushesError(TooManyRequestsError):
    """The node pushed again too soon."""

    default_code = "push.rate_limited"
    status_code = 429


class PushAccepted(msgspec.Struct, kw_only=True):
    """The answer to a push: the notice's commune and sequence, and whether it is being harvested now."""

    cut: str
    sequence: int
    harvesting: bool


class PushService:
    """Accepts a node's signed notice and has it harvested at once when it is new."""

    def __init__(self, db: Database, *, min_seconds: float) -> None:
        self.db = db
        self.min_seconds = min_seconds
        self.on_new: Callable[[str], None] | None = None  # harvest this commune now (wired by the runtime)
        self.on_outcome: Callable[[str], None] | None = None  # new | duplicate | refused (metrics)

    async def accept(self, token: str) -> PushAccepted:
        """:meth:`receive` ``token``, count the outcome, and start the harvest of a new notice."""
        try:
            notice, new = await self.receive(token)
        except Exception:
            self._count("refused")
            raise
        self._count("new" if new else "duplicate")
        if new and self.on_new is not None:
            self.on_new(notice.cut)
        return PushAccepted(cut=notice.cut, sequence=notice.sequence, harvesting=new)

    def _count(self, outcome: str) -> None:
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    async def receive(self, token: str) -> tuple[PushNotice, bool]:
        """Verify ``token``; return the notice and whether it is new (False: duplicate or already held)."""
        cut = self._claimed_cut(token)
        async with self.db.sessions() as session:
            node = await session.scalar(select(Node).where(Node.cut == cut, Node.state != "removed"))
        if node is None or not node.keys_confirmed:
            raise NotFoundError(f"no hay nodo registrado para {cut}", f"no registered node for {cut}")
        payload, _ = signing.verify_compact(token, signing.load_jwks(json.dumps(node.keys)), typ=PUSH_NOTICE_TYPE)
        try:
            notice = msgspec.json.decode(payload, type=PushNotice)
        except msgspec.DecodeError as exc:  # ValidationError included: the path names the field
            raise invalid_input(exc, "aviso ilegible", "unreadable notice") from exc
        if notice.cut != cut or abs(datetime.now(UTC) - notice.sent_at) > MAX_AGE:
            raise InvalidInputError(
                "aviso vencido o ajeno",
                "stale or foreign notice",
                errors=[{"path": "$.sent_at", "message": "older than 10 minutes"}],
            )
        now = datetime.now(UTC)
        async with self.db.transaction() as session:  # one clock for every process serving /push
            admitted = await session.execute(
                update(Node)
                .where(
                    Node.id == node.id,
                    or_(Node.last_push_at.is_(None), Node.last_push_at <= now - timedelta(seconds=self.min_seconds)),
                )
                .values(last_push_at=now)
            )
        if admitted.rowcount == 0:  # type: ignore[attr-defined]
            raise TooManyPushesError(
                "demasiados avisos seguidos", "too many notices in a row", retry_after=self.min_seconds
            )
        if node.sequence is not None and notice.sequence <= node.sequence:
            return notice, False
        try:
            async with self.db.transaction() as session:
                session.add(PushReceipt(node_id=node.id, sequence=notice.sequence, received_at=datetime.now(UTC)))
        except IntegrityError:
            return notice, False
        return notice, True

    @staticmethod
    def _claimed_cut(token: str) -> str:
        """The CUT the (not yet verified) notice claims, to know whose keys to verify with."""
        try:
            payload = token.split(".")[1]
            claimed = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            cut = claimed["cut"]
        except (IndexError, ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise InvalidInputError(
                "aviso mal formado",
                "malformed notice",
                errors=[{"path": "$", "message": "not a compact JWS with a cut"}],
            ) from exc
        if not isinstance(cut, str):
            raise InvalidInputError(
                "aviso mal formado", "malformed notice", errors=[{"path": "$.cut", "message": "not a string"}]
            )
        return cut
