"""Rendering alerts with the `alerts/` templates: email subject, text and HTML bodies, word-level diffs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from monitor.compare.align import word_diff
from monitor.meaning.significance import most_severe_first

MAX_EMAIL_CHANGES = 10


def alerts_dir() -> Path:
    """The folder of templates and schema: `monitor/_alerts` in a wheel, else the checkout's `alerts/`."""
    packaged = resources.files("monitor") / "_alerts"
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[2] / "alerts"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("alert templates not found: neither monitor/_alerts (installed) nor alerts/ (checkout)")


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(alerts_dir())),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["when"] = readable_time
    return env


def readable_time(iso: str) -> str:
    """'2026-12-01T22:39:29.105960+00:00' → '2026-12-01 22:39 UTC' for people; webhooks keep the ISO form."""
    try:
        moment = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return str(iso)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def webhook_schema() -> dict[str, Any]:
    """The JSON Schema of the webhook envelope (`alerts/webhook.schema.json`)."""
    return json.loads((alerts_dir() / "webhook.schema.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def _sides(before: str, after: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The before side with removed words marked `del`, the after side with added words marked `ins`."""
    old: list[tuple[str, str]] = []
    new: list[tuple[str, str]] = []
    for op, text in word_diff(before or "", after or ""):
        if op <= 0:
            old.append(("del" if op else "same", text))
        if op >= 0:
            new.append(("ins" if op else "same", text))
    return old, new


def _context(payload: dict[str, Any], alert_id: str) -> dict[str, Any]:
    data = payload.get("data", {})
    changes = []
    # most severe first: the payload lists them in document order, and a high change may come ninth
    for change in most_severe_first(data.get("changes", []), lambda c: c.get("severity"))[:MAX_EMAIL_CHANGES]:
        old, new = _sides(change.get("before", ""), change.get("after", ""))
        changes.append({**change, "before_marked": old, "after_marked": new})
    shown = len(changes)
    more = len(data.get("changes", [])) - shown + int(data.get("more_changes", 0) or 0)
    return {"type": payload.get("type"), "timestamp": payload.get("timestamp"), "data": data,
            "changes": changes, "more": more, "alert_id": alert_id}


def render_email(payload: dict[str, Any], alert_id: str) -> RenderedEmail:
    """Subject, plain-text and HTML body of an alert envelope (every event type)."""
    env = _environment()
    context = _context(payload, alert_id)
    subject = " ".join(env.get_template("email_subject.txt").render(context).split())[:250]  # one line
    context["subject"] = subject
    return RenderedEmail(subject=subject, text=env.get_template("email.txt").render(context),
                         html=env.get_template("email.html").render(context))


def subject_line(payload: dict[str, Any]) -> str:
    """The email subject without rendering the bodies (for listings)."""
    subject = _environment().get_template("email_subject.txt").render(_context(payload, ""))
    return " ".join(subject.split())
