"""Database plumbing shared by the node and the aggregator: engines, sessions, naming, migrations.

SQLite (aiosqlite) is the embedded default; PostgreSQL (asyncpg) is chosen by URL. On SQLite every
transaction starts with ``BEGIN IMMEDIATE`` so that concurrent writers queue instead of failing midway,
and foreign keys are enforced.
"""

from __future__ import annotations

import errno
import re
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import JSON, DateTime, Table, event, insert
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from .errors import ConfigurationError, DatabaseUnavailableError

__all__ = [
    "JSON_DOCUMENT",
    "NAMING",
    "Database",
    "UTCDateTime",
    "bulk_insert",
    "check_database_url",
    "database_failure",
    "is_sqlite",
    "not_initialised",
]

# Stable constraint names, so Alembic migrations are reproducible; each context's declarative base uses it.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def is_sqlite(url: str) -> bool:
    """Whether ``url`` names a SQLite database."""
    return url.startswith("sqlite")


_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
_MISSING_TABLE = re.compile(r"no such table|relation \"[^\"]+\" does not exist")
_DRIVER_CLASS = re.compile(r"^<class '[^']+'>: ")
# What asyncpg reports, as plain DBAPI errors, when it cannot open a session.
_CONNECTING = re.compile(
    r"(database|role) \"[^\"]+\" does not exist|password authentication failed|no pg_hba\.conf"
    r"|too many clients|the database system is (starting up|shutting down)"
)


def check_database_url(url: str) -> str:
    """``url`` if it names a database this project can use (SQLite or PostgreSQL, async drivers)."""
    try:
        driver = make_url(url).drivername
    except ArgumentError as exc:
        raise ConfigurationError(
            "database_url no es una URL de base de datos",
            "database_url is not a database URL",
            detail="e.g. postgresql+asyncpg://user@host/db or sqlite+aiosqlite:///path.db",
        ) from exc
    if driver not in _DRIVERS:
        raise ConfigurationError(
            f"database_url usa {driver!r}; se admite {' o '.join(_DRIVERS)}",
            f"database_url uses {driver!r}; supported: {' or '.join(_DRIVERS)}",
        )
    return url


def not_initialised(detail: str | None = None) -> DatabaseUnavailableError:
    """The error of a database without the project's tables, with the command that makes them."""
    return DatabaseUnavailableError(
        "la base de datos no tiene las tablas: aplique las migraciones (`ogp-federation … db upgrade`)",
        "the database has no tables yet: apply the migrations (`ogp-federation … db upgrade`)",
        code="database.not_initialised",
        detail=detail,
    )


def database_failure(exc: BaseException) -> DatabaseUnavailableError | None:
    """A clear error for a database that cannot be reached or has no tables yet; None for anything else.

    Other database errors (a constraint, a bug) are not the operator's to fix and stay as they are.
    """
    if isinstance(exc, PoolTimeoutError):  # every pooled connection busy for longer than the pool waits
        return DatabaseUnavailableError(
            "la base de datos está ocupada; intente de nuevo", "the database is busy; try again", detail=str(exc)[:300]
        )
    reason = str(exc.orig if isinstance(exc, DBAPIError) else exc).strip().splitlines()
    first = _DRIVER_CLASS.sub("", reason[0])[:300] if reason else type(exc).__name__
    if isinstance(exc, DBAPIError) and _MISSING_TABLE.search(first):
        return not_initialised(first)
    network = isinstance(exc, ConnectionError | socket.gaierror) or (
        isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH)
    )
    reachable = not (network or isinstance(exc, OperationalError | InterfaceError))
    connecting = isinstance(exc, DBAPIError) and (exc.connection_invalidated or _CONNECTING.search(first))
    if reachable and not connecting:
        return None
    return DatabaseUnavailableError("no se pudo usar la base de datos", "the database cannot be used", detail=first)


# JSON on SQLite, JSONB on PostgreSQL.
JSON_DOCUMENT = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """A moment, stored in UTC and always read back aware (SQLite keeps no offset of its own).

    A naive ``datetime`` is refused when written: a bare local time is ambiguous (Chile is UTC-3 or -4).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        """``datetime``."""
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """``value`` in UTC; a naive one is a programming error."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise TypeError("a naive datetime cannot be stored: give it its UTC offset")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """``value`` aware, in UTC."""
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


class Database:
    """An async engine and its session factory, created from a URL and disposed with :meth:`close`."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        foreign_keys: bool = True,
        pool_size: int = 10,
        max_overflow: int = 10,
        pool_timeout: float = 30.0,
    ) -> None:
        """``foreign_keys=False`` only for migrations (SQLite re-creates tables; see :func:`.migrations.upgrade`).

        On PostgreSQL a process keeps ``pool_size`` connections and opens up to ``max_overflow`` more
        under load; a request waits ``pool_timeout`` seconds for one, then gets 503.
        """
        self.url = url
        # msgspec (de)serialises JSON columns several times faster than the standard library.
        options: dict[str, Any] = {
            "echo": echo,
            "json_serializer": lambda value: msgspec.json.encode(value).decode(),
            "json_deserializer": msgspec.json.decode,
        }
        if is_sqlite(url):
            options["connect_args"] = {"timeout": 30}
        else:
            options.update(
                pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout, pool_pre_ping=True
            )
        self.engine: AsyncEngine = create_async_engine(url, **options)
        if is_sqlite(url):
            _sqlite_immediate_transactions(self.engine, foreign_keys=foreign_keys)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on any error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def close(self) -> None:
        """Dispose of the engine's connections."""
        await self.engine.dispose()


def _sqlite_immediate_transactions(engine: AsyncEngine, *, foreign_keys: bool) -> None:
    # pysqlite's own transaction handling is disabled so that SQLAlchemy's BEGIN is the one used
    # (the documented recipe for correct SQLite transactions with SQLAlchemy).
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


async def bulk_insert(
    session: AsyncSession, table: Table, columns: Sequence[str], records: Sequence[tuple[Any, ...]]
) -> None:
    """Insert many rows in the session's transaction: on PostgreSQL with COPY (one fast round trip), else INSERT.

    Values go as the driver takes them; a JSON column on PostgreSQL takes its text as is.
    """
    if not records:
        return
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection  # the asyncpg connection, inside this session's transaction
        await driver.copy_records_to_table(table.name, columns=list(columns), records=list(records))
        return
    await session.execute(insert(table), [dict(zip(columns, record, strict=True)) for record in records])
