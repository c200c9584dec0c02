"""Alembic migrations run from code (``node db upgrade``, tests), on SQLite or PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData

from .db import Database, database_failure, is_sqlite, not_initialised
from .errors import DatabaseUnavailableError

__all__ = ["FILE_TEMPLATE", "alembic_config", "require_current", "run_env", "upgrade"]

FILE_TEMPLATE = "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s"


def alembic_config(script_location: str, connection: Connection | None = None) -> Config:
    """An Alembic configuration for a package's migrations, bound to ``connection``."""
    config = Config()
    config.set_main_option("script_location", script_location)
    config.set_main_option("file_template", FILE_TEMPLATE)
    config.attributes["connection"] = connection
    return config


async def upgrade(db: Database, script_location: str, revision: str = "head") -> None:
    """Bring the database to ``revision`` in one transaction.

    On SQLite, Alembic's batch mode re-creates a table to alter it; with foreign keys enforced, dropping
    the old table would cascade-delete the rows that refer to it. Migrations therefore run on a
    connection without enforcement (the recipe Alembic documents), and the foreign keys are checked
    before the transaction commits.
    """
    sqlite = is_sqlite(db.url)
    migrator = Database(db.url, foreign_keys=False) if sqlite and ":memory:" not in db.url else db

    def run(connection: Connection, *_: Any) -> None:
        command.upgrade(alembic_config(script_location, connection), revision)
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migration left rows without their parent: {broken[:5]}")

    try:
        async with migrator.engine.begin() as connection:
            await connection.run_sync(run)
    finally:
        if migrator is not db:
            await migrator.close()


async def require_current(db: Database, script_location: str) -> None:
    """Raise a clear :class:`DatabaseUnavailableError` unless the database is at the migrations' head.

    Servers call it before they start, so a database that is missing, empty or left behind by a software
    update stops them with the command to run, instead of failing on every request.
    """
    heads = set(ScriptDirectory.from_config(alembic_config(script_location)).get_heads())

    def current(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    try:
        async with db.engine.connect() as connection:
            revisions = await connection.run_sync(current)
    except Exception as exc:
        failure = database_failure(exc)
        if failure is None:
            raise
        raise failure from exc
    if not revisions:
        raise not_initialised()
    if revisions != heads:
        raise DatabaseUnavailableError(
            "la base de datos no está al día: aplique las migraciones (`ogp-federation … db upgrade`)",
            "the database is not up to date: apply the migrations (`ogp-federation … db upgrade`)",
            code="database.outdated",
            detail=f"database at {', '.join(sorted(revisions))}; this version needs {', '.join(sorted(heads))}",
        )


def run_env(metadata: MetaData) -> None:
    """The body of a context's Alembic ``env.py``: migrate the connection handed over by :func:`upgrade`."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations with 'ogp-federation node db upgrade' or 'aggregator db upgrade'")
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
