"""``node export-static``: the node as plain files, for communes without a server of their own.

Any static web server can host the folder: descriptor, signed feed, signature, JWKS, change pages
(``feed/v1/changes/since-N.json`` for the last sequences, each with its ``.sig``) and the citizen page.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

import msgspec

from ogp_federation.core.errors import InvalidInputError, NotFoundError
from ogp_federation.feed import signing
from ogp_federation.feed.protocol import (
    DESCRIPTOR_PATH,
    FEED_PATH,
    JWKS_PATH,
    SIGNATURE_SUFFIX,
    STATIC_CHANGES_TEMPLATE,
)

from .changes import change_page, encode_page
from .citizen import render_commitment, render_plan
from .controllers.citizen import STATIC_DIR
from .runtime import NodeRuntime

__all__ = ["CHANGE_WINDOW", "export_static"]

CHANGE_WINDOW = 50
ALL = 10**9


async def export_static(runtime: NodeRuntime, out: Path, *, base_url: str | None = None) -> list[Path]:
    """Write the static node into ``out`` (replacing what a previous export wrote); return the files."""
    if base_url is not None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise InvalidInputError(
                "la URL base debe ser http(s)://servidor/ruta",
                "the base URL must be http(s)://host/path",
                errors=[{"path": "base_url", "message": f"not an http(s) base URL: {base_url!r}"}],
            )
    snapshot = await runtime.plan.latest()
    if snapshot is None:
        raise NotFoundError("aún no hay nada publicado", "nothing has been published yet")
    jwks_body, endorsements = runtime.jwks_document()
    changes_dir = out / STATIC_CHANGES_TEMPLATE.lstrip("/").rpartition("/")[0]
    shutil.rmtree(changes_dir, ignore_errors=True)
    changes_dir.mkdir(parents=True, exist_ok=True)
    files = {
        out / DESCRIPTOR_PATH.lstrip("/"): msgspec.json.encode(runtime.descriptor(base_url, static=True)),
        out / FEED_PATH.lstrip("/"): snapshot.body,
        out / (FEED_PATH.lstrip("/") + SIGNATURE_SUFFIX): snapshot.signature.encode(),
        out / JWKS_PATH.lstrip("/"): jwks_body,
        out / (JWKS_PATH.lstrip("/") + SIGNATURE_SUFFIX): endorsements,
    }
    for since in range(max(0, snapshot.sequence - CHANGE_WINDOW), snapshot.sequence + 1):
        page, _ = await change_page(
            runtime.plan, runtime.settings.cut, since=since, until=snapshot.sequence, after=(since, 0), limit=ALL
        )
        body = encode_page(page, None)
        page_path = out / STATIC_CHANGES_TEMPLATE.format(sequence=since).lstrip("/")
        files[page_path] = body
        files[page_path.with_name(page_path.name + SIGNATURE_SUFFIX)] = signing.sign(
            body, runtime.keyring.current
        ).encode()
    feed = snapshot.feed
    files[out / "index.html"] = render_plan(feed).encode()
    for commitment in feed.commitments:
        html = render_commitment(feed, commitment.id)
        if html is not None:
            files[out / "plan" / commitment.id / "index.html"] = html.encode()
    files[out / "static" / "site.css"] = (STATIC_DIR / "site.css").read_bytes()
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_bytes(content)
        temporary.replace(path)
    return sorted(files)
