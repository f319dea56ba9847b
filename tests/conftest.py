"""Shared fixtures: a database URL on SQLite and on PostgreSQL for every ``db_url`` test.

PostgreSQL comes from ``TRIAGE_TEST_POSTGRES_URL`` (default: the local ``test`` database). Each
PostgreSQL test gets its own schema (via ``search_path``), dropped afterwards; tests that need a
whole database of their own use :func:`postgres_database`. When PostgreSQL cannot be reached its
parameters are skipped, or fail when ``TRIAGE_REQUIRE_POSTGRES=1`` (CI).
"""

from __future__ import annotations

import functools
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

POSTGRES_URL_ENV = "TRIAGE_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "TRIAGE_REQUIRE_POSTGRES"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    return os.environ.get(POSTGRES_URL_ENV, "").strip() or DEFAULT_POSTGRES_URL


def _admin_engine(url: str | None = None) -> sa.Engine:
    return sa.create_engine(
        url or postgres_url(),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": 3},
    )


@functools.cache
def _postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used, or None (asked once per test run)."""
    engine = _admin_engine()
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except Exception as exc:  # any failure means "not available"; the reason is reported
        first_line = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return f"PostgreSQL at {make_url(postgres_url())!r} is unreachable ({first_line})"
    finally:
        engine.dispose()
    return None


def require_postgres() -> str:
    """The PostgreSQL URL, or skip (fail under TRIAGE_REQUIRE_POSTGRES=1) when it is down."""
    problem = _postgres_problem()
    if problem is not None:
        if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
            pytest.fail(f"{problem}; {REQUIRE_POSTGRES_ENV}=1 requires it")
        pytest.skip(f"{problem}; set {POSTGRES_URL_ENV} or start it (or {REQUIRE_POSTGRES_ENV}=1 to fail)")
    return postgres_url()


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh, empty schema; the yielded URL puts it first on the search_path."""
    base = require_postgres()
    schema = f"triage_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(base)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        try:
            yield url.render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        admin.dispose()


@contextmanager
def postgres_database() -> Iterator[tuple[str, str]]:
    """A fresh database of its own: (url, database name); dropped afterwards (WITH FORCE)."""
    base = require_postgres()
    name = f"triage_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(base)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(base).set(database=name).render_as_string(hide_password=False), name
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
                connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def postgres_admin(statement: str) -> None:
    """Run one statement on the PostgreSQL server as the test superuser (autocommit)."""
    admin = _admin_engine(require_postgres())
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(statement)
    finally:
        admin.dispose()


# The test harness's own settings, kept when a test clears the service's environment.
HARNESS_ENV = (POSTGRES_URL_ENV, REQUIRE_POSTGRES_ENV)


@pytest.fixture
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """README defaults whatever the caller's TRIAGE_* holds; the root logger restored after.

    The harness's own variables (PostgreSQL URL, "PostgreSQL required") stay, so CI still fails
    rather than skips when PostgreSQL is down.
    """
    for name in list(os.environ):
        if name.startswith("TRIAGE_") and name not in HARNESS_ENV:
            monkeypatch.delenv(name)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.db),
        pytest.param("postgresql", marks=pytest.mark.db),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database (no tables): a temporary SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'triage.db'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture
def migrated_db_url(db_url: str) -> str:
    """``db_url`` upgraded to the head revision."""
    from triage.db.migrate import upgrade

    upgrade(db_url)
    return db_url


@pytest.fixture
def sessions(migrated_db_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on ``migrated_db_url``; the engine is disposed of after the test."""
    from triage.db.engine import make_engine, session_factory

    engine = make_engine(migrated_db_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite database in a temporary file."""
    from triage.db.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'triage.db'}"
    upgrade(url)
    return url


@pytest.fixture
def postgres_server_url() -> str:
    """The PostgreSQL URL itself (shared database; skipped when PostgreSQL is down)."""
    return require_postgres()


@pytest.fixture
def postgres_db() -> Iterator[tuple[str, str]]:
    """A PostgreSQL database of the test's own: (url, name); dropped afterwards."""
    with postgres_database() as made:
        yield made


@pytest.fixture
def postgres_superuser() -> Callable[[str], None]:
    """Runs one statement on the PostgreSQL server as the test superuser (autocommit)."""
    require_postgres()
    return postgres_admin
