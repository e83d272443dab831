"""Engine and session factory from a database URL.

SQLite (the embedded default) gets the pragmas a multi-reader store needs: write-ahead
logging, enforced foreign keys and a busy timeout. PostgreSQL is used as configured by
its URL (``postgresql+psycopg://user@host:5432/db``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from stockpilot.errors import parameter_error

__all__ = ["SessionFactory", "create_store_engine", "dialect_of", "open_store", "session_factory"]

SessionFactory = sessionmaker[Session]
SUPPORTED_DIALECTS = ("sqlite", "postgresql")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # WAL is a property of the database file; in-memory databases ignore it.
        cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()


def create_store_engine(url: str, *, echo: bool = False) -> Engine:
    """Create a SQLAlchemy engine for the store.

    Parameters
    ----------
    url : str
        SQLAlchemy URL, e.g. ``sqlite:///path/stockpilot.db`` or
        ``postgresql+psycopg://postgres@127.0.0.1:5432/stockpilot``. The folder of a
        SQLite file is created when missing.
    echo : bool, default False
        Log every SQL statement (debugging).

    Returns
    -------
    sqlalchemy.Engine
        An engine whose SQLite connections run with ``journal_mode=WAL`` and
        ``foreign_keys=ON``.

    Examples
    --------
    >>> engine = create_store_engine("sqlite://")
    >>> dialect_of(engine)
    'sqlite'
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_DIALECTS:
        raise parameter_error(
            "create_store_engine",
            "url",
            "a sqlite:/// or postgresql+psycopg:// URL",
            parsed.render_as_string(hide_password=True),
            hint="Set STOCKPILOT_DATABASE_URL to a SQLite file or a PostgreSQL database.",
        )
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def session_factory(engine: Engine) -> SessionFactory:
    """A session factory bound to ``engine``; services open one session per use case.

    Objects stay readable after commit (``expire_on_commit=False``) so a service can
    return what it wrote.
    """
    return sessionmaker(bind=engine, expire_on_commit=False)


def dialect_of(bind: Engine | Session) -> str:
    """Name of the database dialect behind an engine or session (``sqlite``/``postgresql``)."""
    engine = bind if isinstance(bind, Engine) else bind.get_bind()
    return str(engine.dialect.name)


def open_store(url: str, *, migrate: bool = True, echo: bool = False) -> SessionFactory:
    """Engine + migrations + session factory in one call (what the CLI and web app need).

    Parameters
    ----------
    url : str
        Store URL, usually ``Settings.resolved_database_url()``.
    migrate : bool, default True
        Run ``alembic upgrade head`` first (idempotent; a no-op when already at head).
    echo : bool, default False
        Log SQL.

    Examples
    --------
    >>> sessions = open_store("sqlite://")
    >>> with sessions() as session:
    ...     dialect_of(session)
    'sqlite'
    """
    from stockpilot.store.migrations import upgrade

    engine = create_store_engine(url, echo=echo)
    if migrate:
        upgrade(engine)
    return session_factory(engine)
