"""Compare: two versions' sections → section changes, and their renderings for people."""
