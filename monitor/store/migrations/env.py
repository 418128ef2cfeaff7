"""Alembic environment: runs on the connection the Store hands over (never a second engine)."""

from alembic import context
from sqlmodel import SQLModel

import monitor.store.database  # noqa: F401  (registers the tables on SQLModel.metadata)

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
