"""Text: normalized policy text → section tree and clauses, and the wording helpers that compare them."""
