"""What every command module shares: the typer app, consoles, exit codes and the lazily opened config and store."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from monitor.errors import EXIT_DATABASE as EXIT_DATABASE  # re-exported: the commands take them from here
from monitor.errors import EXIT_OK as EXIT_OK
from monitor.errors import EXIT_SOURCE_FAILED as EXIT_SOURCE_FAILED
from monitor.errors import EXIT_USAGE as EXIT_USAGE
from monitor.errors import ConfigError, ConfigNotFoundError

if TYPE_CHECKING:  # imported when a command opens them: `--help` must not load pydantic or SQLAlchemy
    from monitor.config import Config
    from monitor.store.database import Store



class CommandGroup(TyperGroup):
    """typer's help shows every parameter's Python type, `<bool>` on flags too; a flag takes no value,
    so its type column stays empty: in this group's help and in each of its commands'."""

    def get_params(self, ctx: typer.Context) -> list:
        return [_untyped_flag(param) for param in super().get_params(ctx)]

    def get_command(self, ctx: typer.Context, cmd_name: str):
        command = super().get_command(ctx, cmd_name)
        if command is not None and not isinstance(command, CommandGroup):
            for param in (*command.params, command.get_help_option(ctx)):
                _untyped_flag(param)
        return command

    def make_context(self, *args, **kwargs):
        with _plain_usage_errors():
            return super().make_context(*args, **kwargs)

    def resolve_command(self, ctx: typer.Context, args: list[str]):
        """An unknown command that other tools use for one of ours names ours (click only suggests look-alikes)."""
        try:
            return super().resolve_command(ctx, args)
        except typer.TyperException as exc:  # typer's own copy of click's UsageError
            meant = _OTHER_NAMES.get(args[0]) if args else None
            message = getattr(exc, "message", None)
            if meant in self.commands and isinstance(message, str) and message.startswith("No such command"):
                exc.message = message.split(" Did you mean")[0] + f" Did you mean '{meant}'?"
            raise

    def invoke(self, ctx: typer.Context):
        with _plain_usage_errors():
            return super().invoke(ctx)


# names a user may try first (from other tools, or this one's docs: "the web view", "the daemon") → our command
_OTHER_NAMES = {"web": "serve", "server": "serve", "ui": "serve", "daemon": "run", "start": "run", "watch": "run",
                "log": "history", "versions": "history", "list": "sources", "compare": "diff", "changes": "timeline"}


@contextmanager
def _plain_usage_errors() -> Iterator[None]:
    """typer validates options with pydantic, whose messages start "Value error, ": a user typing `--format html`
    needs only what follows. Here, where every command's arguments are parsed, so no command repeats it."""
    try:
        yield
    except typer.BadParameter as exc:
        exc.message = exc.message.removeprefix("Value error, ")
        raise


def _untyped_flag(param):
    if param is not None and getattr(param, "is_bool_flag", False) and param.metavar is None:
        param.metavar = ""
    return param


app = typer.Typer(
    name="policy-monitor",
    cls=CommandGroup,
    help="Watch privacy policies and report changes about sharing, retention and minors.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain help and usage errors: typer's rich help formatter imports rich's Markdown, Traceback and the
    # rest (some 40% of `--help`'s start-up) to draw boxes around the same text
    rich_markup_mode=None,
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
            from monitor.config import config_path_origin, load_config, resolve_config_path

            self._config = load_config(resolve_config_path(self.config_path), config_path_origin(self.config_path))
        return self._config

    def working_config(self) -> Config:
        """The config of the commands that check and alert (`check`, `run`, `worker`, `dispatcher`), with
        what can never alert logged as a warning first (`validate` says the same, with the rest)."""
        from monitor.config import topic_warnings

        config = self.config()
        for warning in topic_warnings(config):
            log.warning(warning)
        return config

    def optional_config(self) -> Config | None:
        """The config when it exists; reading commands work on the database alone. A config that exists but is
        invalid is an error (its `database:` may name another database than the default), unless the database
        is named elsewhere (--db, POLICY_MONITOR_DB): then one warning says the config was left aside."""
        if self._cache.get("config_left_aside"):
            return None
        try:
            return self.config()
        except ConfigNotFoundError:
            if self.config_path:
                raise
            return None
        except ConfigError as exc:
            if not (self.db_url or os.environ.get("POLICY_MONITOR_DB")):
                raise
            count = len(exc.problems)
            log.warning(f"the config has {count} problem{'s' * (count != 1)} (`policy-monitor validate` lists "
                        f"them): reading the database alone")
            self._cache["config_left_aside"] = True  # said once, however often a command asks
            return None

    def store(self, *, read_only: bool = False, deferred: bool = False) -> Store:
        """The database, migrated to head on first use; `read_only` (the reading commands) never creates,
        migrates or changes it, and raises a DatabaseNotReadyError (exit 2) if it is missing or behind.
        `deferred` (`check`): a SQLite file at head is opened beside the first fetch (monitor.store.deferred)."""
        if self._store is not None and self._store.read_only and not read_only:
            self._store.dispose()
            self._store = None
        if self._store is None:
            from monitor.config import resolve_database_url

            url = resolve_database_url(self.db_url, self.optional_config())
            if deferred and not read_only:
                from monitor.store.deferred import DeferredStore

                self._store = DeferredStore.open(url)
            else:
                from monitor.store.database import Store

                self._store = Store(url, migrate=not read_only, read_only=read_only)
        return self._store

    def close(self) -> None:
        """Close the database the command opened, if any. Never raises: it runs as the command exits, and its
        exit code (a check's 1, Ctrl-C's 130) is the news, not a connection that would not close."""
        if self._store is None:
            return
        try:
            self._store.dispose()
        except Exception as exc:  # noqa: BLE001
            log.debug(f"closing the database: {type(exc).__name__}: {exc}")
        self._store = None


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def ctx_obj(ctx: typer.Context) -> Context:
    return ctx.find_root().obj


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
