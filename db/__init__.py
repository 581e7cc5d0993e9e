"""Storage: SQLAlchemy models, Alembic migrations, repositories and the curated dataset."""
