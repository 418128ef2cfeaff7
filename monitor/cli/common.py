"""What every command module shares: the typer app, consoles, exit codes and the lazily opened config and store."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from monitor.config import Config, load_config, resolve_config_path, resolve_database_url
from monitor.errors import ConfigError
from monitor.store.database import Store

EXIT_OK, EXIT_SOURCE_FAILED, EXIT_USAGE = 0, 1, 2

app = typer.Typer(
    name="policy-monitor",
    help="Watch privacy policies and report changes about sharing, retention and minors.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)
log = logging.getLogger("monitor")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of a table.")]


@dataclass
class Context:
    """What the global options chose; the config and database are opened only when a command needs them."""

    config_path: str | None
    db_url: str | None
    log_format: str = "text"
    _config: Config | None = None
    _store: Store | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(resolve_config_path(self.config_path))
        return self._config

    def optional_config(self) -> Config | None:
        """The config when it exists; reading commands work on the database alone."""
        try:
            return self.config()
        except ConfigError:
            if self.config_path:
                raise
            return None

    def store(self) -> Store:
        if self._store is None:
            self._store = Store(resolve_database_url(self.db_url, self.optional_config()))
        return self._store


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def ctx_obj(ctx: typer.Context) -> Context:
    return ctx.find_root().obj


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
