"""Recorded versions of one policy read from an archive: dated files in a folder, or one file's history in git.

A folder (what a crawl or a download of Open Terms Archive's dataset leaves): every file whose name holds a
date, `2021-10-05` or `2021-10-05T12-30-00` / `2021-10-05 12:30`, UTC, is one version captured then; hidden
files and folders are skipped, and a file without a date in its name is an error (it would be silently left
out otherwise). A git repository with `git_path` (Open Terms Archive's versions repositories record each capture
as a commit of one file): every commit that changed the file, renames followed, is a version captured at the
commit's author date. The content type comes from the file's extension (`.html`, `.md`, `.txt`, `.pdf`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from monitor.errors import UsageError

CONTENT_TYPES = {".html": "text/html", ".htm": "text/html", ".xhtml": "text/html", ".md": "text/markdown",
                 ".markdown": "text/markdown", ".txt": "text/plain", ".pdf": "application/pdf"}
_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?:[T_ ](\d{2})[:-]?(\d{2})(?:[:-]?(\d{2}))?)?(?!\d)")
GIT_TIMEOUT = 120  # seconds for one git command (a repository of thousands of captures answers in a few)


@dataclass(frozen=True)
class ArchivedVersion:
    """One recorded capture: when, where it came from (a file name, or a commit), its bytes."""

    captured_at: datetime  # UTC
    label: str
    content: bytes
    content_type: str


def read_archive(path: Path, git_path: str | None = None) -> list[ArchivedVersion]:
    """The archive's versions, oldest first (captures at the same moment in name order). Raises UsageError
    naming what is wrong: a missing folder, a file without a date or of an unknown type, git not answering."""
    if git_path is not None:
        return sorted(_git_history(path, git_path), key=lambda v: (v.captured_at, v.label))
    if not path.is_dir():
        raise UsageError(f"{path}: not a folder (to read a file's history in a git repository, give the "
                         "repository and --git-path)")
    versions = []
    for file in sorted(p for p in path.iterdir() if not p.name.startswith(".") and p.is_file()):
        versions.append(ArchivedVersion(_date_in_name(file.name), file.name, file.read_bytes(),
                                        _content_type(file.name)))
    if not versions:
        raise UsageError(f"{path}: no files to read")
    return sorted(versions, key=lambda v: (v.captured_at, v.label))


def _date_in_name(name: str) -> datetime:
    found = _DATE_IN_NAME.search(name)
    if found is None:
        raise UsageError(f"{name}: no capture date in the file name (name each version after when it was "
                         "captured, e.g. 2021-10-05.html or 007_2021-10-05T12-30-00.md)")
    year, month, day, hour, minute, second = (int(part) if part else 0 for part in found.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise UsageError(f"{name}: {found.group()} is not a date ({exc})") from None


def _content_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in CONTENT_TYPES:
        raise UsageError(f"{name}: unknown file type {suffix or '(no extension)'!r}: "
                         f"one of {', '.join(CONTENT_TYPES)}")
    return CONTENT_TYPES[suffix]


def _git_history(repository: Path, git_path: str) -> list[ArchivedVersion]:
    """Every commit that changed `git_path` (renames followed), with the file as that commit left it."""
    if shutil.which("git") is None:
        raise UsageError("reading a git history needs the git command, which is not installed")
    log = _git(repository, "log", "--follow", "--diff-filter=AMR", "--format=%x00%H %aI", "--name-only", "--",
               git_path).decode()
    versions = []
    for entry in log.split("\x00")[1:]:
        head, *names = [line for line in entry.splitlines() if line]
        commit, date = head.split(" ", 1)
        name = names[-1] if names else git_path  # the file's name in that commit (it may have been renamed)
        content = _git(repository, "show", f"{commit}:{name}")
        label = commit[:12] if name == git_path else f"{commit[:12]} {name}"  # the old name, before a rename
        versions.append(ArchivedVersion(datetime.fromisoformat(date).astimezone(UTC), label, content,
                                        _content_type(name)))
    if not versions:
        raise UsageError(f"{repository}: no commit changed {git_path!r}")
    return versions


def _git(repository: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(repository), "-c", "core.quotepath=off", *args],
                              capture_output=True, timeout=GIT_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise UsageError(f"{repository}: git {args[0]} did not answer within {GIT_TIMEOUT} s") from None
    if done.returncode != 0:
        first = (done.stderr.decode(errors="replace").strip().splitlines() or ["failed"])[0]
        raise UsageError(f"{repository}: git {args[0]}: {first}")
    return done.stdout
