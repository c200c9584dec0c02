"""The documents a node serves besides the feed: its descriptor, change pages and push notices.

These are part of the standard (the aggregator and any other harvester read them), so they live here,
pure, next to the feed model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from .enums import Entity
from .model import MAX_SEQUENCE, SPEC_VERSION, Cut, Url

__all__ = [
    "CHANGES_PATH",
    "CHANGES_TEMPLATE",
    "DESCRIPTOR_PATH",
    "FEED_PATH",
    "JOSE",
    "JSON",
    "JWKS_PATH",
    "JWK_SET",
    "PUSH_NOTICE_TYPE",
    "SCHEMA_JSON",
    "SCHEMA_PATH",
    "SEQUENCE_HEADER",
    "SIGNATURE_HEADER",
    "SIGNATURE_SUFFIX",
    "STATIC_CHANGES_TEMPLATE",
    "VERSION_HEADER",
    "Change",
    "ChangePage",
    "NodeDescriptor",
    "PushNotice",
]

# Where a node serves each document, relative to its base URL (a static export writes the same paths).
DESCRIPTOR_PATH = "/.well-known/ogp-node"
FEED_PATH = "/feed/v1/plan.json"
SIGNATURE_SUFFIX = ".sig"  # the detached signature of a document is served beside it: plan.json.sig
JWKS_PATH = "/feed/v1/jwks.json"
SCHEMA_PATH = "/feed/v1/schema.json"
CHANGES_PATH = "/feed/v1/changes"  # ?since=N on a live node
CHANGES_TEMPLATE = CHANGES_PATH + "?since={sequence}"  # a live node's change pages
STATIC_CHANGES_TEMPLATE = "/feed/v1/changes/since-{sequence}.json"  # a static export's change pages

# Headers: the feed's detached signature and its sequence travel with the bytes they describe.
SIGNATURE_HEADER = "OGP-Signature"
SEQUENCE_HEADER = "OGP-Sequence"
VERSION_HEADER = "OGP-Version"  # the aggregator's id of a harvested version

# Media types of the documents.
JSON = "application/json"
JOSE = "application/jose"  # a compact JWS: a signature, or a push notice
JWK_SET = "application/jwk-set+json"
SCHEMA_JSON = "application/schema+json"
PUSH_NOTICE_TYPE = "ogp-push-notice+jws"  # the JWS ``typ`` of a push notice


class _Document(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Base of the protocol documents."""


class NodeDescriptor(_Document, kw_only=True):
    """``/.well-known/ogp-node``: what a node is and where its documents are."""

    cut: Annotated[Cut, Meta(description="The commune's CUT.")]
    name: Annotated[str, Meta(description="The commune's name.")]
    spec_version: Annotated[str, Meta(description="Plan Feed version served.")] = SPEC_VERSION
    feed_url: Annotated[Url, Meta(description="The full signed feed.")]
    signature_url: Annotated[Url, Meta(description="Detached signature of the feed.")]
    jwks_url: Annotated[Url, Meta(description="Public keys (JWKS).")]
    changes_url_template: Annotated[
        Annotated[str, Meta(max_length=2048, pattern=r"^https?://\S*\{sequence\}\S*\Z")] | None,
        Meta(description="Change feed URL with '{sequence}' to replace by the last sequence seen; null if none."),
    ] = None
    contact: Annotated[dict[str, Any] | None, Meta(description="Contact, as in the feed.")] = None
    software: Annotated[str, Meta(description="Software and version of the node.")] = "ogp-federation"
    static: Annotated[bool, Meta(description="True when published as static files.")] = False

    @classmethod
    def at(
        cls, base: str, *, cut: str, name: str, changes: str | None = CHANGES_TEMPLATE, **more: Any
    ) -> NodeDescriptor:
        """The descriptor of a node whose documents are at the standard's paths under ``base``; ``changes``:
        its change pages' path (:data:`CHANGES_TEMPLATE` live, :data:`STATIC_CHANGES_TEMPLATE` static), or
        None when it offers none; ``more``: the other fields."""
        return cls(
            cut=cut,
            name=name,
            feed_url=base + FEED_PATH,
            signature_url=base + FEED_PATH + SIGNATURE_SUFFIX,
            jwks_url=base + JWKS_PATH,
            changes_url_template=None if changes is None else base + changes,
            **more,
        )


class Change(_Document, kw_only=True):
    """One record changed (with its new content) or deleted (with its deletion time) after a sequence."""

    entity: Annotated[Entity, Meta(description="Collection of the record.")]
    id: Annotated[str, Meta(description="Identifier (indicator code for indicators).")]
    sequence: Annotated[int, Meta(ge=0, le=MAX_SEQUENCE, description="Sequence that made this change.")]
    record: Annotated[dict[str, Any] | None, Meta(description="The record now, as in the feed.")] = None
    deleted_at: Annotated[datetime | None, Meta(description="Deletion time when the record was deleted.")] = None


class ChangePage(_Document, kw_only=True, omit_defaults=False):
    """A page of changes after ``since`` up to ``until`` (the sequence the page brings you to)."""

    cut: Annotated[Cut, Meta(description="The commune's CUT.")]
    since: Annotated[int, Meta(ge=0, le=MAX_SEQUENCE, description="Changes after this sequence.")]
    until: Annotated[int, Meta(ge=0, le=MAX_SEQUENCE, description="Sequence reached once every page has been read.")]
    generated_at: Annotated[datetime, Meta(description="When the page was produced.")]
    changes: Annotated[list[Change], Meta(description="The changes, oldest first.")]
    next: Annotated[str | None, Meta(description="URL of the next page; null on the last one.")] = None
    spec_version: Annotated[str, Meta(description="Plan Feed version.")] = SPEC_VERSION


class PushNotice(_Document, kw_only=True):
    """What a node sends an aggregator when it publishes a new sequence (signed, compact JWS)."""

    cut: Annotated[Cut, Meta(description="The commune's CUT.")]
    sequence: Annotated[int, Meta(ge=0, le=MAX_SEQUENCE, description="The new sequence.")]
    feed_url: Annotated[Url, Meta(description="Where the new feed is.")]
    sent_at: Annotated[datetime, Meta(description="When the notice was sent (replay protection).")]
