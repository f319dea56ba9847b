"""Alembic environment: triage's models, triage's engine settings, batch mode on SQLite.

The URL comes from the programmatic config (``triage.db.migrate``), else ``sqlalchemy.url`` in
the ini file if set, else ``Settings.from_env().database_url`` (``TRIAGE_DATABASE_URL``).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import make_url

# Both register their tables on Base.metadata: the mail and case side, and the staff web UI's.
import triage.db.models
import triage.db.staff  # noqa: F401
from triage.config import Settings
from triage.db.base import Base
from triage.db.engine import make_engine
from triage.db.migrate import URL_ATTRIBUTE

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    url = config.attributes.get(URL_ATTRIBUTE) or config.get_main_option("sqlalchemy.url")
    return str(url) if url else Settings.from_env().database_url


def _configure_options(url: str) -> dict[str, object]:
    return {
        "target_metadata": target_metadata,
        "render_as_batch": make_url(url).get_backend_name() == "sqlite",
        "compare_type": True,
    }


def run_migrations_offline() -> None:
    url = _database_url()
    context.configure(url=url, literal_binds=True, **_configure_options(url))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = _database_url()
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, **_configure_options(url))
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
