"""A node's current version as one row of record digests, and the digests of a feed's records as sent.

A full feed that changed a few records is compared with this row (one read) instead of with every open
record state, and its records are digested from their bytes as the node sent them, so only the records
whose digest moved are encoded and stored (a record written anew with the same content moves its digest
once, and the comparison with its open state, by the encoding's digest, finds it unchanged). A version
made current another way (a change page, a review) removes the row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import msgspec
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.feed import PlanFeed
from ogp_federation.feed.entities import COLLECTIONS

from .models import CurrentDigests

__all__ = ["Digests", "RecordKey", "body_digests", "keep_digests", "known_digests", "pack", "unpack"]

RecordKey = tuple[str, str]  # (collection, key) of a record
Digests = dict[RecordKey, bytes]  # (collection, key) → 16-byte BLAKE2b
# A feed read as each collection's records' bytes, nothing decoded inside them.
_RawFeed = msgspec.defstruct("_RawFeed", [(c.entity.value, list[msgspec.Raw], []) for c in COLLECTIONS])
_PACKED = dict[str, dict[str, bytes]]


def body_digests(body: bytes, feed: PlanFeed) -> Digests | None:
    """Each record's digest from its bytes in ``body`` (which ``feed`` was decoded from), encoding nothing.

    ``None`` when the two do not line up record for record (never for a valid feed).
    """
    raw = msgspec.json.decode(body, type=_RawFeed)
    out: Digests = {}
    blake2b = hashlib.blake2b
    for collection in COLLECTIONS:
        entity, key = collection.entity.value, collection.key
        records, texts = collection.records(feed), getattr(raw, entity)
        if len(records) != len(texts):
            return None
        for record, text in zip(records, texts, strict=True):
            out[(entity, getattr(record, key))] = blake2b(text, digest_size=16).digest()
    return out


def pack(digests: Mapping[RecordKey, bytes]) -> bytes:
    """The digests as stored (MessagePack, by collection)."""
    packed: _PACKED = {}
    for (entity, key), digest in digests.items():
        packed.setdefault(entity, {})[key] = digest
    return msgspec.msgpack.encode(packed)


def unpack(data: bytes) -> Digests:
    """The digests stored by :func:`pack`."""
    packed = msgspec.msgpack.decode(data, type=_PACKED)
    return {(entity, key): digest for entity, keys in packed.items() for key, digest in keys.items()}


async def known_digests(session: AsyncSession, node_id: int, version_id: int | None) -> Digests | None:
    """The digests of ``version_id`` if it is the one the node's row was written for; else ``None``."""
    if version_id is None:
        return None
    data = await session.scalar(
        select(CurrentDigests.digests).where(CurrentDigests.node_id == node_id, CurrentDigests.version_id == version_id)
    )
    return None if data is None else unpack(data)


async def keep_digests(session: AsyncSession, current: list[tuple[int, int, Digests | None]]) -> None:
    """Each node's row for its new current version: (node, version, digests); ``None`` removes the row."""
    if not current:
        return
    last = {node: (version, digests) for node, version, digests in current}  # a node's last version wins
    await session.execute(delete(CurrentDigests).where(CurrentDigests.node_id.in_(list(last))))
    rows = [
        {"node_id": node, "version_id": version, "digests": pack(digests)}
        for node, (version, digests) in last.items()
        if digests is not None
    ]
    if rows:
        await session.execute(insert(CurrentDigests), rows)
