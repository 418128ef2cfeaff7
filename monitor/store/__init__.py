"""Store: SQLModel tables, migrations and the read-side queries (SQLite or PostgreSQL)."""
