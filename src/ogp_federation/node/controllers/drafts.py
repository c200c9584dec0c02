"""The admin API of drafts: adopt a methodology from the federation's library, edit it, publish it.

Editing a draft publishes nothing; ``…/publish`` publishes it as a new sequence (``OGP-Sequence``) and
removes the draft in the same transaction. Edits and discards need the draft's version in ``If-Match``.
The library's address is the node's ``library_url`` setting: the API never fetches a URL it is given.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Response, delete, get, post, put
from litestar.di import Provide
from litestar.params import Body, FromPath, JSONBody

from ogp_federation.feed import Entity
from ogp_federation.feed.model import Cut, RecordId

from ._deps import SECURED, CurrentStaff, Runtime
from .admin import IfMatch, provide_staff, published_response, record_version

__all__ = ["DRAFT_HANDLERS"]

STAFF = {"staff": Provide(provide_staff)}
MAX_DRAFT_BYTES = 1024 * 1024


class Adopt(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Which methodology of which commune to adopt, and (optionally) the identifier it gets here."""

    cut: Cut
    id: RecordId
    new_id: RecordId | None = None


def _draft(view: Any, status: int = 200) -> Response[Any]:
    return Response(view, status_code=status, headers={"ETag": f'"{view.version}"'})


@get("/admin/api/drafts", dependencies=STAFF, security=SECURED, tags=["drafts"])
async def list_drafts(runtime: Runtime, staff: CurrentStaff) -> list[Any]:
    """Every draft (not published), oldest first."""
    return list(await runtime.drafts.list())


@post(
    "/admin/api/drafts/adopt",
    dependencies=STAFF,
    security=SECURED,
    tags=["drafts"],
    request_max_body_size=16 * 1024,
)
async def adopt(runtime: Runtime, staff: CurrentStaff, data: JSONBody[Adopt]) -> Response[Any]:
    """Adopt another commune's methodology: read from its signed version, verified, kept as a draft."""
    staff.require("editor")
    view = await runtime.adopter.adopt(data.cut, data.id, author=staff.username, new_id=data.new_id)
    return _draft(view, 201)


@get("/admin/api/drafts/{entity:str}/{key:str}", dependencies=STAFF, security=SECURED, tags=["drafts"])
async def get_draft(
    runtime: Runtime, staff: CurrentStaff, entity: FromPath[Entity], key: FromPath[str]
) -> Response[Any]:
    """One draft, with its version as ETag."""
    return _draft(await runtime.drafts.get(entity, key))


@put(
    "/admin/api/drafts/{entity:str}/{key:str}",
    dependencies=STAFF,
    security=SECURED,
    tags=["drafts"],
    request_max_body_size=MAX_DRAFT_BYTES,
)
async def replace_draft(
    *,
    runtime: Runtime,
    staff: CurrentStaff,
    entity: FromPath[Entity],
    key: FromPath[str],
    data: Annotated[dict[str, Any], Body(description="The record as it should be published.")],
    if_match: IfMatch = None,
) -> Response[Any]:
    """Edit a draft (nothing is published)."""
    staff.require("editor")
    version = record_version(if_match)
    return _draft(await runtime.drafts.replace(entity, key, data, expected_version=version, author=staff.username))


@post(
    "/admin/api/drafts/{entity:str}/{key:str}/publish",
    dependencies=STAFF,
    security=SECURED,
    tags=["drafts"],
    status_code=200,
)
async def publish_draft(
    runtime: Runtime, staff: CurrentStaff, entity: FromPath[Entity], key: FromPath[str], if_match: IfMatch = None
) -> Response[Any]:
    """Publish a draft as a new sequence of the feed; the draft is gone once it is published."""
    staff.require("editor")
    version = record_version(if_match) if if_match is not None else None
    published = await runtime.publish_draft(entity, key, author=staff.username, expected_version=version)
    record = await runtime.plan.get_record(entity, key)
    return published_response(published.snapshot, record.data, 200, record.version)


@delete(
    "/admin/api/drafts/{entity:str}/{key:str}",
    dependencies=STAFF,
    security=SECURED,
    tags=["drafts"],
    status_code=200,
)
async def discard_draft(
    runtime: Runtime, staff: CurrentStaff, entity: FromPath[Entity], key: FromPath[str], if_match: IfMatch = None
) -> dict[str, str]:
    """Discard a draft without publishing it."""
    staff.require("editor")
    await runtime.drafts.discard(entity, key, expected_version=record_version(if_match))
    return {"entity": entity.value, "key": key, "state": "discarded"}


DRAFT_HANDLERS: list[Any] = [list_drafts, adopt, get_draft, replace_draft, publish_draft, discard_draft]
