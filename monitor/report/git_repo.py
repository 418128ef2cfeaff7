"""The export repository on disk: `git init`, the versions it already holds, and appending commits through
one `git fast-import` process (the git command line, run as a subprocess)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from monitor.errors import PolicyMonitorError, UsageError
from monitor.report.git_plan import SOURCE_TRAILER, VERSION_TRAILER, exported_versions, fast_import_commit
from monitor.store.streams import VersionRecord

# No user or system config, hooks or pager may change what an export writes or reads.
_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0",
        "GIT_PAGER": "cat", "LC_ALL": "C"}


class GitExportError(PolicyMonitorError):
    """git is missing or refused the export."""


def _git(repo: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    if shutil.which("git") is None:
        raise GitExportError("`export --format git` needs the git command, which is not installed "
                             "(e.g. `apt-get install git`)")
    result = subprocess.run(["git", "-C", str(repo), "-c", "core.hooksPath=/dev/null", *args],
                            capture_output=True, text=True, env={**os.environ, **_ENV}, **kwargs)
    if result.returncode != 0:
        raise GitExportError(f"git {args[0]} failed in {repo}: {result.stderr.strip().splitlines()[-1:]}")
    return result


class ExportRepository:
    """A git repository that `export --format git` owns: one Markdown file per source, one commit per version."""

    def __init__(self, path: Path):
        self.path = path
        if path.exists() and not path.is_dir():
            raise UsageError(f"--out {path} is a file, not a directory")
        if path.exists() and any(path.iterdir()) and not (path / ".git").exists():
            raise UsageError(f"--out {path} is neither empty nor a git repository made by `export --format git`")
        if not (path / ".git").exists():
            path.mkdir(parents=True, exist_ok=True)
            _git(path, "init", "--quiet", "--initial-branch=main")
        self.branch = _git(path, "symbolic-ref", "HEAD").stdout.strip()

    def has_commits(self) -> bool:
        return subprocess.run(["git", "-C", str(self.path), "rev-parse", "--verify", "--quiet", self.branch],
                              capture_output=True, env={**os.environ, **_ENV}).returncode == 0

    def exported(self) -> dict[str, int]:
        """Per source, the last version committed (read from the commits' trailers, streamed)."""
        if not self.has_commits():
            return {}
        fmt = (f"--format=%(trailers:key={SOURCE_TRAILER},valueonly,separator=%x20)"
               f" %(trailers:key={VERSION_TRAILER},valueonly)")
        with subprocess.Popen(["git", "-C", str(self.path), "log", fmt, self.branch], stdout=subprocess.PIPE,
                              text=True, env={**os.environ, **_ENV}) as log:
            assert log.stdout is not None
            done = exported_versions(log.stdout)
        return done

    def append(self, records: Iterable[VersionRecord]) -> int:
        """Commit each version in order on the branch, through one fast-import; then check out the files.
        Nothing is committed unless all are: fast-import moves the branch only when it finishes."""
        parent = f"{self.branch}^0" if self.has_commits() else None
        count = 0
        importer = subprocess.Popen(["git", "-C", str(self.path), "fast-import", "--quiet", "--done"],
                                    stdin=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **_ENV})
        assert importer.stdin is not None
        try:
            for record in records:
                importer.stdin.write(fast_import_commit(record, self.branch, parent if count == 0 else None))
                count += 1
            importer.stdin.write(b"done\n")
            importer.stdin.close()
        except BrokenPipeError:
            pass  # fast-import stopped early: its exit status and message, below, say why
        except BaseException:
            importer.kill()
            importer.wait()
            raise
        error = importer.stderr.read().decode(errors="replace") if importer.stderr else ""
        if importer.wait() != 0:
            raise GitExportError(f"git fast-import failed in {self.path}: {error.strip()}")
        if count:
            _git(self.path, "reset", "--hard", "--quiet")  # the working tree shows the latest texts
        return count
