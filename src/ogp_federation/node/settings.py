"""Node settings: one typed, documented structure, read from ``node.toml`` and ``OGP_NODE_*`` variables.

Nothing reads the environment at import time: :func:`load_settings` is called by the CLI (or a test)
and the result is passed to :func:`ogp_federation.node.create_app`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from ogp_federation.core.db import check_database_url
from ogp_federation.core.errors import ConfigurationError
from ogp_federation.feed.model import Contact, Identifier, Url

__all__ = ["ENV_FIELDS", "ENV_PREFIX", "NodeSettings", "PublisherSettings", "load_settings"]

ENV_PREFIX = "OGP_NODE_"


class PublisherSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What the feed says about the commune beyond the communes reference."""

    population: Annotated[int | None, Meta(description="Resident population (for peer groups).")] = None
    population_year: Annotated[int | None, Meta(description="Reference year of the population.")] = None
    population_source: Annotated[str | None, Meta(description="Source of the population figure.")] = None
    subdere_group: Annotated[int | None, Meta(description="SUBDERE communal typology group, 1 to 5.")] = None
    identifiers: Annotated[
        list[Identifier], Meta(description="Extra identifiers, e.g. {scheme = 'wikidata', id = 'Q51111'}.")
    ] = []


class NodeSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Settings of one commune node."""

    cut: Annotated[str, Meta(pattern=r"^[0-9]{5}$", description="The commune's CUT, e.g. 13122.")]
    data_dir: Annotated[str, Meta(description="Folder for the database, keys and evidence files.")]
    public_url: Annotated[
        Url, Meta(description="Base URL where the node is reached by citizens and the aggregator.")
    ] = "http://127.0.0.1:8080"
    database_url: Annotated[
        str | None,
        Meta(description="SQLAlchemy URL; default sqlite+aiosqlite in data_dir (postgresql+asyncpg://… for PG)."),
    ] = None
    license: Annotated[str, Meta(description="Licence of the published data (SPDX id or URL).")] = "CC-BY-4.0"
    contact: Annotated[Contact, Meta(description="Who answers questions about the feed.")]
    publisher: Annotated[PublisherSettings, Meta(description="Extra facts about the commune.")] = msgspec.field(
        default_factory=PublisherSettings
    )
    push_urls: Annotated[list[Url], Meta(description="Aggregator push endpoints notified of every new sequence.")] = []
    library_url: Annotated[
        Url | None,
        Meta(description="The federation aggregator whose methodology library `node adopt` reads from."),
    ] = None
    key_grace_days: Annotated[int, Meta(ge=0, description="Days a rotated-out public key stays in the JWKS.")] = 30
    max_upload_bytes: Annotated[
        int, Meta(gt=0, description="Largest evidence file or spreadsheet accepted, in bytes.")
    ] = 20 * 1024 * 1024
    changes_page_size: Annotated[int, Meta(ge=1, le=10_000, description="Records per page of /feed/v1/changes.")] = 500
    feed_cache_check_seconds: Annotated[
        float, Meta(gt=0, description="How often a worker checks the database for a newer publication.")
    ] = 1.0
    json_logs: Annotated[bool, Meta(description="Write logs as JSON lines (for collectors) instead of key=value.")] = (
        False
    )

    def __post_init__(self) -> None:
        if self.database_url is not None:
            _check_database_url(self.database_url)

    @property
    def data_path(self) -> Path:
        """``data_dir`` as a path."""
        return Path(self.data_dir)

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite inside ``data_dir``."""
        return self.database_url or f"sqlite+aiosqlite:///{self.data_path.resolve() / 'node.db'}"

    @property
    def base_url(self) -> str:
        """``public_url`` without a trailing slash."""
        return self.public_url.rstrip("/")


ENV_FIELDS = ("data_dir", "public_url", "database_url", "license", "key_grace_days", "max_upload_bytes", "json_logs")


def load_settings(path: Path, environ: Mapping[str, str] | None = None) -> NodeSettings:
    """Read ``path`` (TOML) and apply ``OGP_NODE_<FIELD>`` overrides from ``environ``."""
    environ = os.environ if environ is None else environ
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigurationError(
            f"no existe {path}; ejecute «ogp-federation node init»",
            f"{path} does not exist; run 'ogp-federation node init'",
        ) from exc
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"{path} ilegible", f"{path} is unreadable", detail=str(exc)) from exc
    node: dict[str, Any] = data.get("node", data)
    for name in ENV_FIELDS:
        value = environ.get(ENV_PREFIX + name.upper())
        if value is not None:
            node[name] = value
    if "data_dir" in node and not Path(node["data_dir"]).is_absolute():
        node["data_dir"] = str((path.parent / node["data_dir"]).resolve())
    try:
        return msgspec.convert(node, NodeSettings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigurationError(
            f"{path}: configuración inválida", f"{path}: invalid settings", detail=str(exc)
        ) from exc


def settings_toml(settings: NodeSettings) -> str:
    """``settings`` as the TOML text ``node init`` writes."""
    lines = ["# ogp-federation node settings: every setting is described in docs/settings.md", "[node]"]
    data = msgspec.to_builtins(settings)
    nested = {key: data.pop(key) for key in ("contact", "publisher")}
    lines += [f"{key} = {_toml(value)}" for key, value in data.items() if value is not None]
    for section, values in nested.items():
        lines.append(f"\n[node.{section}]")
        lines += [f"{key} = {_toml(value)}" for key, value in values.items() if value is not None]
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return msgspec.json.encode(str(value)).decode()


def _check_database_url(url: str) -> None:
    try:
        check_database_url(url)
    except ConfigurationError as exc:
        raise ValueError(exc.describe("en")) from exc  # msgspec turns it into a ValidationError
