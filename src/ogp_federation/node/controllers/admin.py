"""The admin API: one controller per record collection, plus staff login and milestone history.

Writes need a token of an editor (``Authorization: Bearer …``). Updates and deletions need the
record's current version in ``If-Match`` (from the ``ETag`` of a GET): a stale version gets 412, a
missing one 428, so concurrent edits never silently overwrite each other. Every successful write is
published at once as a new feed sequence (``OGP-Sequence`` header).
"""

# No ``from __future__ import annotations`` here: the handlers built inside record_controller() use
# closure variables in their annotations, which must be evaluated where they are defined.
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import Body, FromPath, HeaderParameter, JSONBody

from ogp_federation.core.errors import InvalidInputError, PreconditionRequiredError
from ogp_federation.feed import COLLECTIONS, Collection, Entity
from ogp_federation.feed.protocol import SCHEMA_PATH, SEQUENCE_HEADER
from ogp_federation.node.auth import Staff
from ogp_federation.node.records import Delete, Put
from ogp_federation.node.snapshot import Snapshot

from ._deps import SECURED, CurrentStaff, Runtime

__all__ = ["ADMIN_HANDLERS", "IfMatch", "provide_staff", "published_response", "record_version"]

IfMatch = Annotated[str | None, HeaderParameter(name="If-Match", description="The record's ETag, from a GET.")]
MAX_RECORD_BYTES = 1024 * 1024


async def provide_staff(request: Request[Any, Any, State], runtime: Runtime) -> Staff:
    """The staff member behind the request's bearer token (already checked when a guard ran first)."""
    known = request.state.get("staff")
    if isinstance(known, Staff):
        return known
    return await runtime.staff.authenticate(request.headers.get("authorization"))


def record_version(if_match: str | None) -> int:
    if if_match is None:
        raise PreconditionRequiredError(
            "falta If-Match con la versión del registro (ETag de un GET)",
            "If-Match with the record's version (ETag of a GET) is required",
        )
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise InvalidInputError(
            "If-Match no es una versión",
            "If-Match is not a version",
            errors=[{"path": "If-Match", "message": if_match}],
        )
    return int(value)


def published_response(
    snapshot: Snapshot, content: Any = None, status: int = 200, etag: int | None = None
) -> Response[Any]:
    headers = {SEQUENCE_HEADER: str(snapshot.sequence)}
    if etag is not None:
        headers["ETag"] = f'"{etag}"'
    return Response(content, status_code=status, headers=headers)


def record_controller(collection: Collection) -> type[Controller]:
    """The CRUD controller of one collection (the same shape for every collection)."""
    entity = collection.entity
    record_doc = f"A {collection.record_type.__name__} record of Plan Feed v1 (see {SCHEMA_PATH})."

    class RecordController(Controller):
        path = f"/admin/api/{entity.value}"
        tags = [entity.value]  # noqa: RUF012 (Litestar reads these class attributes)
        dependencies = {"staff": Provide(provide_staff)}  # noqa: RUF012
        security = SECURED

        @get("/", summary=f"List {entity.value}")
        async def list_records(self, runtime: Runtime, staff: CurrentStaff) -> list[dict[str, Any]]:
            return [{"record": r.data, "version": r.version} for r in await runtime.plan.list_records(entity)]

        @get("/{key:str}", summary=f"Get one of {entity.value}")
        async def get_record(
            self, runtime: Runtime, staff: CurrentStaff, key: FromPath[str]
        ) -> Response[dict[str, Any]]:
            record = await runtime.plan.get_record(entity, key)
            return Response(record.data, headers={"ETag": f'"{record.version}"'})

        @post("/", summary=f"Create one of {entity.value}", request_max_body_size=MAX_RECORD_BYTES)
        async def create_record(
            self, runtime: Runtime, staff: CurrentStaff, data: Annotated[dict[str, Any], Body(description=record_doc)]
        ) -> Response[dict[str, Any]]:
            staff.require("editor")
            published = await runtime.change([Put(entity, data)], author=staff.username, summary=f"create {entity}")
            record = await runtime.plan.get_record(entity, str(data.get(collection.key)))
            return published_response(published.snapshot, record.data, 201, record.version)

        @put("/{key:str}", summary=f"Replace one of {entity.value}", request_max_body_size=MAX_RECORD_BYTES)
        async def replace_record(
            self,
            runtime: Runtime,
            staff: CurrentStaff,
            key: FromPath[str],
            data: Annotated[dict[str, Any], Body(description=record_doc)],
            if_match: IfMatch = None,
        ) -> Response[dict[str, Any]]:
            staff.require("editor")
            if data.get(collection.key) != key:
                raise InvalidInputError(
                    f"«{collection.key}» del cuerpo no coincide con la URL",
                    f"the body's '{collection.key}' does not match the URL",
                    errors=[{"path": f"$.{collection.key}", "message": f"expected {key!r}"}],
                )
            change = Put(entity, data, expected_version=record_version(if_match))
            published = await runtime.change([change], author=staff.username, summary=f"update {entity} {key}")
            record = await runtime.plan.get_record(entity, key)
            return published_response(published.snapshot, record.data, 200, record.version)

        @delete("/{key:str}", summary=f"Delete one of {entity.value}", status_code=200)
        async def delete_record(
            self, runtime: Runtime, staff: CurrentStaff, key: FromPath[str], if_match: IfMatch = None
        ) -> Response[None]:
            staff.require("editor")
            change = Delete(entity, key, record_version(if_match))
            published = await runtime.change([change], author=staff.username, summary=f"delete {entity} {key}")
            return published_response(published.snapshot, None, 200)

    RecordController.__name__ = f"{entity.value.title().replace('_', '')}Controller"
    return RecordController


@get(
    "/admin/api/milestones/{key:str}/history",
    dependencies={"staff": Provide(provide_staff)},
    security=SECURED,
    tags=["milestones"],
)
async def milestone_history(runtime: Runtime, staff: CurrentStaff, key: FromPath[str]) -> list[dict[str, Any]]:
    """Every status change of a milestone: when, by whom, from and to."""
    await runtime.plan.get_record(Entity.MILESTONES, key)
    return [
        {
            "from": row.old_status,
            "to": row.new_status,
            "sequence": row.sequence,
            "at": row.changed_at.isoformat(),
            "by": row.changed_by,
        }
        for row in await runtime.plan.milestone_history(key)
    ]


class Login(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Credentials exchanged for a personal API token."""

    username: str
    password: str
    token_name: str = "login"  # noqa: S105 (a label, not a secret)


@post("/admin/api/login", tags=["auth"], request_max_body_size=16 * 1024)
async def login(request: Request[Any, Any, State], runtime: Runtime, data: JSONBody[Login]) -> dict[str, str]:
    """Exchange a username and password for a new personal API token (failed attempts limited: 429)."""
    address = request.client.host if request.client else ""
    token = await runtime.staff.token_for_password(data.username, data.password, data.token_name, address=address)
    return {"token": token, "token_type": "Bearer"}


class NewStaff(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A staff account to create."""

    username: str
    password: str
    role: str = "editor"


@post(
    "/admin/api/users",
    tags=["auth"],
    dependencies={"staff": Provide(provide_staff)},
    security=SECURED,
    request_max_body_size=16 * 1024,
)
async def create_user(runtime: Runtime, staff: CurrentStaff, data: JSONBody[NewStaff]) -> dict[str, str]:
    """Create a staff account (admins only)."""
    staff.require("admin")
    username = await runtime.staff.create_user(data.username, data.password, data.role)
    return {"username": username, "role": data.role}


ADMIN_HANDLERS: list[Any] = [milestone_history, login, create_user] + [record_controller(c) for c in COLLECTIONS]
