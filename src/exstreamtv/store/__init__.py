"""Persistence: the async database engine, the schema, migrations and repositories."""
