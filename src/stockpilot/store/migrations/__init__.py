"""Alembic migrations shipped inside the package (no alembic.ini needed at runtime).

:func:`upgrade` runs ``alembic upgrade head`` programmatically against a URL or an open
connection; :func:`alembic_config` builds the configuration for other Alembic commands
(``revision --autogenerate`` when a model changes).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

__all__ = ["MIGRATIONS_DIR", "alembic_config", "current_revision", "head_revision", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(url: str | None = None, *, connection: Connection | None = None) -> Config:
    """Alembic configuration pointing at this package's migration scripts.

    Either ``url`` (the store's SQLAlchemy URL) or an open ``connection`` is used by
    ``env.py``; a connection wins so callers can migrate inside their own transaction.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolation would treat '%' in passwords as a directive.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(target: str | Engine, *, revision: str = "head") -> None:
    """Bring the database at ``target`` (URL or engine) up to ``revision``.

    Parameters
    ----------
    target : str or sqlalchemy.Engine
        Store URL (``sqlite:///...`` / ``postgresql+psycopg://...``) or an engine from
        :func:`stockpilot.store.db.create_store_engine`.
    revision : str, default "head"
        Alembic revision to reach.
    """
    if isinstance(target, Engine):
        with target.begin() as connection:
            command.upgrade(alembic_config(connection=connection), revision)
        return
    command.upgrade(alembic_config(target), revision)


def head_revision() -> str:
    """Identifier of the newest migration shipped with this version of stockpilot."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # the package always ships at least one revision
    return head


def current_revision(engine: Engine) -> str | None:
    """Revision the database behind ``engine`` is at (``None`` when never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
