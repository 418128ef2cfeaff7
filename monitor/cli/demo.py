"""`policy-monitor demo`: watch two bundled real policies change on loopback, offline, through the real commands."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.rule import Rule

from monitor.cli.common import EXIT_OK, EXIT_SOURCE_FAILED, app, fail, out

DEMO_DB = "demo.db"
# shown after the checks, each when this build has the command (all read-only, all on the demo database)
SHOWN_AFTER_CHECKS = (
    ("history", "frank"),
    ("history", "signal"),
    ("diff", "frank", "--format", "text"),
    ("timeline",),
    ("alerts",),
)


@app.command()
def demo(
    keep: Annotated[Path | None, typer.Option("--keep", metavar="DIR", help="Keep the demo's database and "
                    "config in DIR (created if missing) to explore with the other commands.")] = None,
) -> None:
    """Show what policy-monitor reports, offline: two sample sites on 127.0.0.1 change while it checks them.

    Reads no sources.yaml, ignores --config and --db, and without --keep leaves nothing behind."""
    from monitor.demo.scenario import ATTRIBUTION, rounds
    from monitor.demo.server import SampleSites

    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        if (keep / DEMO_DB).exists():
            fail(f"{keep / DEMO_DB} exists already: give --keep an empty or new folder")
    folder = keep or Path(tempfile.mkdtemp(prefix="policy-monitor-demo-"))
    surprises: list[str] = []
    # a proxy set for the outside world must not be asked for 127.0.0.1 (httpx honours NO_PROXY)
    proxies_were = {variable: os.environ.get(variable) for variable in ("NO_PROXY", "no_proxy")}
    for variable, value in proxies_were.items():
        os.environ[variable] = ",".join(filter(None, (value, "127.0.0.1")))
    try:
        with SampleSites() as sites:
            config_path = _write_config(folder, sites)
            db_url = f"sqlite:///{folder / DEMO_DB}"
            out.print(f"Two sample sites now serve their privacy policies on 127.0.0.1 ({ATTRIBUTION}); "
                      f"policy-monitor checks them three times while they change.", highlight=False, soft_wrap=True)
            for step in rounds():
                sites.publish(step.pages)
                _heading(step.title, step.story)
                _run(config_path, db_url, "check", "--no-deliver")
                surprises.extend(_surprises(db_url, step))
            if not surprises:  # what follows reads the versions and the alert the rounds should have made
                _heading("afterwards", "What was stored, and what would be sent.")
                for args in SHOWN_AFTER_CHECKS:
                    if _has_command(args[0]):
                        _run(config_path, db_url, *args)
                _show_alerts(db_url)
        if keep is not None:
            out.print(f"\nKept in {keep}/: explore with `policy-monitor --db {db_url} history frank` (or show, diff, "
                      f"alerts); the sample sites are gone, so `check` there fails.", highlight=False, soft_wrap=True)
    finally:
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)
        for variable, value in proxies_were.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value
    if surprises:  # the demo doubles as a smoke test of an installation: say what went wrong
        fail("the demo did not go as it should: " + "; ".join(surprises), EXIT_SOURCE_FAILED)
    raise typer.Exit(EXIT_OK)


def _surprises(db_url: str, step) -> list[str]:
    """Each source whose last check in this round did not end as the round expects, with its error."""
    from sqlmodel import select

    from monitor.store.database import Check, Source, Store

    store = Store(db_url, read_only=True)
    try:
        with store.session() as session:
            last = {name: (outcome, error) for name, outcome, error in session.exec(
                select(Source.name, Check.outcome, Check.error).join(Check, Check.source_id == Source.id)
                .order_by(Check.id))}
    finally:
        store.dispose()
    found = []
    for name, expected in step.expect.items():
        outcome, error = last.get(name, ("not checked", None))
        if outcome != expected:
            found.append(f"{step.title}: {name} was {outcome}{f' ({error})' if error else ''}, expected {expected}")
    return found


def _write_config(folder: Path, sites) -> Path:
    """The demo's sources.yaml: the two sample sites and one e-mail channel nothing is ever sent to."""
    config = {
        "daemon": {"per_host_delay": 0},
        "fetch": {"retries": 0},
        "channels": {"privacy-team": {"type": "email", "to": ["privacy-team@example.org"],
                                      "smtp": {"host": "127.0.0.1", "port": 25, "starttls": False}}},
        "sources": [{"name": name, "url": sites.url(name)} for name in ("frank", "signal")],
    }
    import yaml

    path = folder / "sources.yaml"
    path.write_text("# written by `policy-monitor demo`\n" + yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def _heading(title: str, story: str = "") -> None:
    out.print()
    out.print(Rule(title, align="left", style="dim"), highlight=False)
    if story:
        out.print(story, highlight=False, markup=False, soft_wrap=False)


def _run(config_path: Path, db_url: str, *args: str) -> int:
    """Run one policy-monitor command on the demo's config and database, as a user would type it."""
    out.print(f"$ policy-monitor {' '.join(args)}", style="bold", highlight=False, markup=False, soft_wrap=True)
    try:
        code = app(args=["--config", str(config_path), "--db", db_url, *args], standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    return code if isinstance(code, int) else EXIT_OK


def _has_command(name: str) -> bool:
    names = {command.name or command.callback.__name__.replace("_", "-") for command in app.registered_commands}
    return name in names or any(group.name == name for group in app.registered_groups)


def _show_alerts(db_url: str) -> None:
    """Each alert the checks queued, as its e-mail and its webhook request (rendered, never sent)."""
    from sqlmodel import select

    from monitor.notify.render import render_email
    from monitor.notify.webhook import body_bytes
    from monitor.store.database import Alert, Store

    store = Store(db_url, read_only=True)
    try:
        with store.session() as session:
            alerts = list(session.exec(select(Alert).order_by(Alert.id)))
    finally:
        store.dispose()
    for alert in alerts:
        email = render_email(alert.payload, alert.idempotency_key)
        _heading(f"alert {alert.id}: the e-mail", f"What {alert.channel} would receive (the demo sends nothing).")
        out.print(f"Subject: {email.subject}\n\n{email.text.rstrip()}", highlight=False, markup=False,
                  soft_wrap=True)
        _heading(f"alert {alert.id}: the webhook", f"The JSON a webhook channel would POST "
                 f"({len(body_bytes(alert.payload)):,} bytes, webhook-id {alert.idempotency_key}); each change's "
                 f"before and after are left out here.")
        out.print(_short_envelope(alert.payload), highlight=False, markup=False, soft_wrap=True)


def _short_envelope(payload: dict) -> str:
    """The webhook body as indented JSON, one line per change, without the changes' before and after."""
    def line(value) -> str:
        return json.dumps(value, ensure_ascii=False)

    data = dict(payload["data"])
    changes = data.pop("changes", None) or []
    fields = [f'    {line(key)}: {line(value)}' for key, value in data.items()]
    shown = [f"      {line({k: v for k, v in c.items() if k not in ('before', 'after')})}" for c in changes]
    fields.append('    "changes": [\n' + ",\n".join(shown) + "\n    ]")
    head = ", ".join(f"{line(k)}: {line(v)}" for k, v in payload.items() if k != "data")
    return "{" + head + ',\n  "data": {\n' + ",\n".join(fields) + "\n  }\n}"
