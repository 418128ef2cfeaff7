"""`policy-monitor ARGS` through its real entry point in this process: the one in-process CLI runner of the tests."""

from __future__ import annotations

import contextlib
import io
import json
from typing import NamedTuple


class CliResult(NamedTuple):
    """What a run printed and its exit code; unpacks as `code, out, err`."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


def run_cli(*args: object) -> CliResult:
    """Run `policy-monitor ARGS` (`monitor.cli.main.main`) here, capturing stdout, stderr and the exit code."""
    from monitor.cli.main import main

    stdout, stderr = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return CliResult(code, stdout.getvalue(), stderr.getvalue())
