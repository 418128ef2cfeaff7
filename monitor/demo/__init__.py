"""The offline demo's parts: bundled real policies, the rounds of edits they go through, and their loopback server."""
