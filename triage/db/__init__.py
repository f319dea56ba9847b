"""Database: typed SQLAlchemy models, engines with durable settings, Alembic migrations."""
