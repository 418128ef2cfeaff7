"""Meaning: topics of a clause, the exact facts it states, and the significance of a change."""
