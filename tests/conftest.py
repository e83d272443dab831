"""Store fixtures shared by the store and services tests: SQLite and PostgreSQL.

PostgreSQL comes from ``STOCKPILOT_TEST_POSTGRES_URL`` (CI sets it to the local server);
each test module gets a database of its own, created here and dropped afterwards.

Hypothesis: ``HYPOTHESIS_PROFILE=ci`` (set by ``.ci/run``) derandomizes the examples, so a
CI run is repeatable; a developer's run explores new examples each time (the default).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from stockpilot.store.db import SessionFactory, create_store_engine, session_factory
from stockpilot.store.migrations import upgrade
from stockpilot.store.models import Base

POSTGRES_ENV = "STOCKPILOT_TEST_POSTGRES_URL"

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def _postgres_database() -> Iterator[str]:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(
            f"{POSTGRES_ENV} is not set; set it (e.g. postgresql+psycopg://postgres@127.0.0.1:"
            "5432/stockpilot_test) to run the store tests on PostgreSQL."
        )
    base = make_url(url)
    name = f"stockpilot_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL at {base.render_as_string()} is not usable: {exc}")
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh, empty database per test module and backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('store') / 'stockpilot.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[Engine]:
    """Engine on a database migrated to head."""
    store = create_store_engine(database_url)
    upgrade(store)
    yield store
    store.dispose()


@pytest.fixture
def sessions(engine: Engine) -> SessionFactory:
    """Session factory on an emptied store (tests in a module stay independent)."""
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    return session_factory(engine)
