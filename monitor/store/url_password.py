"""A password in a database URL, found and hidden as SQLAlchemy reads the URL (one rule for the config and logs)."""

from __future__ import annotations

import re

# for a URL SQLAlchemy cannot read: `user:password@`, or a `password` query parameter (libpq takes one),
# its name percent-encoded or not
_USER_PASSWORD = re.compile(r"(://[^/@\s]*):[^/@\s]*@")
_QUERY_PASSWORD = re.compile(r"([?&]pass(?:%77|w)ord=)[^&#\s]*", re.I)


def holds_password(url: str) -> bool:
    """Whether a database URL carries a password: `user:password@` (an empty user too), or a `password` query
    parameter in any case, percent-encoded or not."""
    parsed = _parsed(url)
    if parsed is None:
        return bool(_USER_PASSWORD.search(url) or _QUERY_PASSWORD.search(url))
    return parsed.password is not None or any(key.lower() == "password" for key in parsed.query)


def redact_url(url: str) -> str:
    """The URL with its password, wherever it is, replaced by `***`, for a message or a log."""
    parsed = _parsed(url)
    if parsed is None:
        return _QUERY_PASSWORD.sub(r"\1***", _USER_PASSWORD.sub(r"\1:***@", url))
    if parsed.password is not None:
        parsed = parsed.set(password="***")
    if hidden := {key: "***" for key in parsed.query if key.lower() == "password"}:
        parsed = parsed.update_query_dict(hidden)
    return parsed.render_as_string(hide_password=False).replace("%2A%2A%2A", "***")  # (rendering quotes the stars)


def _parsed(url: str):
    from sqlalchemy.engine import make_url  # only when a URL is looked at: `check` on SQLite never pays it

    try:
        return make_url(url)
    except Exception:  # noqa: BLE001 — not a URL SQLAlchemy reads: the patterns above
        return None
