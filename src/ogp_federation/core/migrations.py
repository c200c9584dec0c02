"""Alembic migrations run from code (``node db upgrade``, tests), on SQLite or PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, MetaData

from .db import Database, is_sqlite

__all__ = ["FILE_TEMPLATE", "alembic_config", "run_env", "upgrade"]

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


def run_env(metadata: MetaData) -> None:
    """The body of a context's Alembic ``env.py``: migrate the connection handed over by :func:`upgrade`."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations with 'ogp-federation node db upgrade' or 'aggregator db upgrade'")
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
