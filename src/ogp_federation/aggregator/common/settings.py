"""Aggregator settings: one typed, documented structure (TOML file and ``OGP_AGG_*`` overrides)."""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from ogp_federation.core.db import check_database_url
from ogp_federation.core.errors import ConfigurationError

__all__ = ["AggregatorSettings", "load_settings"]

ENV_PREFIX = "OGP_AGG_"


class AggregatorSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Settings of the association's aggregator."""

    database_url: Annotated[
        str, Meta(description="SQLAlchemy URL: postgresql+asyncpg://… in production, sqlite+aiosqlite for a demo.")
    ]
    public_url: Annotated[str, Meta(description="Where the aggregator is reached.")] = "http://127.0.0.1:8100"
    db_pool_size: Annotated[int, Meta(ge=1, le=500, description="PostgreSQL connections each process keeps open.")] = 10
    db_max_overflow: Annotated[
        int, Meta(ge=0, le=500, description="Further connections a process may open under load.")
    ] = 10
    db_pool_timeout: Annotated[
        float, Meta(gt=0, description="Seconds a request waits for a free connection before a 503.")
    ] = 30.0
    worker_id: Annotated[str, Meta(description="Name of this process in leases and logs (default: host:pid).")] = ""
    allowed_networks: Annotated[
        list[str], Meta(description="Non-public networks nodes may live in (e.g. 127.0.0.0/8 for tests/demo).")
    ] = []
    scheduler: Annotated[bool, Meta(description="Run the polling scheduler in this process.")] = True
    token_lifetime_seconds: Annotated[
        int, Meta(ge=60, le=86400, description="How long a researcher's access token lasts.")
    ] = 600
    quota_per_minute: Annotated[
        int, Meta(ge=1, description="Requests a minute an API client may make (unless its own quota says otherwise).")
    ] = 600
    stream_settle_seconds: Annotated[
        float, Meta(ge=0, description="The change stream shows a version this long after it was accepted.")
    ] = 5.0
    releases_dir: Annotated[
        str, Meta(description="Folder of the bulk releases (kept for good: back it up with the database).")
    ] = "releases"
    check_on_registration: Annotated[
        bool, Meta(description="Run the protocol's conformance checks (`node check`) when a node is registered.")
    ] = True
    tick_seconds: Annotated[float, Meta(gt=0, description="How often the scheduler claims due nodes.")] = 1.0
    batch_size: Annotated[int, Meta(ge=1, description="Most nodes one worker claims per tick.")] = 100
    concurrency: Annotated[int, Meta(ge=1, description="Simultaneous harvests per worker.")] = 50
    lease_seconds: Annotated[int, Meta(ge=5, description="A claimed poll is retaken by others after this.")] = 120
    default_poll_interval: Annotated[int, Meta(ge=10, description="Seconds between polls of a node.")] = 3600
    jitter: Annotated[float, Meta(ge=0, le=0.5, description="Random share added to intervals to spread load.")] = 0.1
    drop_threshold: Annotated[
        float, Meta(gt=0, le=1, description="Share of records a version may drop before it is quarantined.")
    ] = 0.5
    full_refresh_seconds: Annotated[
        int, Meta(ge=0, description="A node offering a change feed is still fetched in full this often (0: always).")
    ] = 86400
    retry_base_seconds: Annotated[int, Meta(ge=1, description="First retry delay after a failure (doubles).")] = 60
    circuit_failures: Annotated[int, Meta(ge=1, description="Consecutive failures that open a node's circuit.")] = 5
    circuit_seconds: Annotated[int, Meta(ge=1, description="How long an open circuit skips the node.")] = 3600
    stale_factor: Annotated[
        float, Meta(ge=1, description="A node is stale after this many intervals without success.")
    ] = 3
    max_bytes: Annotated[int, Meta(ge=1024, description="Largest body accepted from a node.")] = 16 * 1024 * 1024
    max_decompressed_bytes: Annotated[int, Meta(ge=1024, description="Largest body after gzip.")] = 64 * 1024 * 1024
    connect_timeout: Annotated[float, Meta(gt=0, description="Seconds to connect to a node.")] = 5.0
    read_timeout: Annotated[float, Meta(gt=0, description="Seconds a node may stay silent mid-response.")] = 15.0
    total_timeout: Annotated[float, Meta(gt=0, description="Seconds for a whole response.")] = 30.0
    max_redirects: Annotated[int, Meta(ge=0, description="Redirects followed per request.")] = 3
    ca_file: Annotated[
        str | None,
        Meta(description="PEM file of certificate authorities trusted for nodes' HTTPS besides the system's."),
    ] = None
    communes_file: Annotated[
        str | None,
        Meta(
            description=(
                "CSV of the communes known (cut,name,province_cut,province,region_cut,region) instead of the "
                "packaged DPA reference: a test federation, or communes the DPA adds."
            )
        ),
    ] = None
    poll_timeout: Annotated[
        float,
        Meta(gt=0, description="Seconds for a whole poll, all its requests (never more than 80 % of the lease)."),
    ] = 90.0
    push_min_seconds: Annotated[float, Meta(ge=0, description="Pushes from one node closer than this are refused.")] = (
        2.0
    )
    admin_token_hashes: Annotated[
        list[Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]],
        Meta(description="SHA-256 (hex) of the operators' admin API tokens (`aggregator admin-token`)."),
    ] = []
    metrics_token_hashes: Annotated[
        list[Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]],
        Meta(
            description="SHA-256 (hex) of the tokens that may read /metrics (Authorization: Bearer; operator "
            "tokens also may); empty: /metrics is public."
        ),
    ] = []
    json_logs: Annotated[bool, Meta(description="Write logs as JSON lines (for collectors) instead of key=value.")] = (
        False
    )
    smtp_host: Annotated[str | None, Meta(description="SMTP server for alert e-mails (none: no e-mail).")] = None
    smtp_port: Annotated[int, Meta(description="SMTP port.")] = 25
    smtp_sender: Annotated[str, Meta(description="From address of alerts.")] = "ogp-federation@localhost"
    min_group_size: Annotated[
        int, Meta(ge=2, description="Smallest peer group a comparison summarises (fewer reporting: refused).")
    ] = 5
    population_bands: Annotated[
        list[Annotated[int, Meta(ge=1)]],
        Meta(max_length=20, description="Upper limits of the population bands (peer groups population:1, 2, …)."),
    ] = msgspec.field(default_factory=lambda: [10_000, 50_000, 100_000, 250_000])
    similar_communes: Annotated[
        int, Meta(ge=2, le=345, description="Size of the 'communes like mine' group (nearest neighbours).")
    ] = 15

    def __post_init__(self) -> None:
        try:
            check_database_url(self.database_url)
        except ConfigurationError as exc:
            raise ValueError(exc.describe("en")) from exc  # msgspec turns it into a ValidationError
        for network in self.allowed_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ValueError(f"allowed_networks: {network!r} is not a network (e.g. 127.0.0.0/8)") from exc
        if self.population_bands != sorted(set(self.population_bands)):
            raise ValueError("population_bands: limits must increase (e.g. [10000, 50000, 100000])")

    def worker_name(self) -> str:
        """``worker_id`` or ``host:pid``."""
        return self.worker_id or f"{socket.gethostname()}:{os.getpid()}"


def load_settings(path: Path | None, environ: Mapping[str, str] | None = None) -> AggregatorSettings:
    """Read ``path`` (TOML, section ``[aggregator]``) if given, then ``OGP_AGG_<FIELD>`` overrides."""
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if path is not None:
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(f"{path} ilegible", f"{path} is unreadable", detail=str(exc)) from exc
        if "aggregator" not in document and document:
            raise ConfigurationError(
                f"{path} no tiene la sección [aggregator]",
                f"{path} has no [aggregator] section",
                detail=f"found: {', '.join(sorted(document))[:200]}",
            )
        data = document.get("aggregator", {})
    fields = {f.name: f.type for f in msgspec.structs.fields(AggregatorSettings)}
    for name in fields:
        value = environ.get(ENV_PREFIX + name.upper())
        if value is not None:
            listed = name in ("allowed_networks", "admin_token_hashes", "metrics_token_hashes", "population_bands")
            data[name] = [v.strip() for v in value.split(",") if v.strip()] if listed else value
    try:
        return msgspec.convert(data, AggregatorSettings, strict=False)
    except msgspec.ValidationError as exc:
        raise _invalid(exc) from exc


_FIELD = re.compile(r"field `(\w+)`|at `\$\.(\w+)")


def _invalid(exc: msgspec.ValidationError) -> ConfigurationError:
    """The settings error, naming the setting and the environment variable that sets it."""
    match = _FIELD.search(str(exc))
    name = next((group for group in match.groups() if group), None) if match else None
    if name is None:
        return ConfigurationError("configuración inválida", "invalid settings", detail=str(exc))
    variable = ENV_PREFIX + name.upper()
    return ConfigurationError(
        f"configuración inválida: {name} (variable {variable}, o «{name} = …» en [aggregator])",
        f"invalid settings: {name} (variable {variable}, or '{name} = …' under [aggregator])",
        detail=str(exc),
    )
