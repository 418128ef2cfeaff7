"""The distributed mode: many `worker` processes and a `dispatcher` sharing one PostgreSQL (procrastinate)."""
