"""The node database: one SQLAlchemy metadata for every capability's tables, engines with
durable settings, and Alembic migrations that build the schema."""
