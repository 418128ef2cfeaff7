"""Recorded versions of one policy read from an archive: dated files in a folder, or one file's history in git.

A folder (what a crawl or a download of Open Terms Archive's dataset leaves): every file whose name holds when
it was captured is one version: `2021-10-05`, `2021-10-05T12-30-00`, `2021-10-05 12:30`, with an optional zone
(`Z`, `+02:00`, `+0200`; none: UTC), or a Wayback Machine timestamp (`20211005123000`). Hidden files and folders
are skipped; a file without a date in its name is an error (it would be silently left out otherwise), and so is
a date in the future. Captures at the same moment keep their names' order, numbers read as numbers (`9_…`
before `10_…`).

A git repository with `git_path` (Open Terms Archive's versions repositories record each capture as a commit of
one file): every commit that changed the file on the main line of history (merges read against their first
parent) is a version captured at the commit's author date. Renames are followed back; the history starts where
the file was added or copied from another (a copy's earlier history is the other document's, not this one's).

The content type comes from the file's extension (`.html`, `.md`, `.txt`, `.pdf`). Contents are read one at a
time, when asked (`ArchivedVersion.read`), so an archive of thousands of captures is never held whole.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from pathlib import Path

from monitor.errors import UsageError

CONTENT_TYPES = {".html": "text/html", ".htm": "text/html", ".xhtml": "text/html", ".md": "text/markdown",
                 ".markdown": "text/markdown", ".txt": "text/plain", ".pdf": "application/pdf"}
_DATE_IN_NAME = re.compile(
    r"(?<!\d)(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"
    r"(?:[T_ ](?P<h>\d{2})[:-]?(?P<mi>\d{2})(?:[:-]?(?P<s>\d{2})(?:\.\d+)?)?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?)?(?!\d)")
_WAYBACK_STAMP = re.compile(r"(?<!\d)(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})(?!\d)")
_NUMBER = re.compile(r"(\d+)")
GIT_TIMEOUT = 120  # seconds for one git command (a repository of thousands of captures answers in a few)


@dataclass(frozen=True)
class ArchivedVersion:
    """One recorded capture: when, where it came from (a file name, or a commit), its size and its bytes."""

    captured_at: datetime  # UTC
    label: str
    content_type: str
    size: Callable[[], int]  # bytes, asked before reading: one over a cap is never read
    read: Callable[[int], bytes]  # at most `limit` + 1 bytes (one more: the capture is over the cap)
    origin: str  # where it is kept, stored as the version's address: a file:// URI (#commit:path in git)


def is_archived(address: str) -> bool:
    """Whether a stored version's address is an archive's (`import`): it was never fetched from the web."""
    return address.startswith("file:")


def read_archive(path: Path, git_path: str | None = None, *, now: datetime | None = None) -> list[ArchivedVersion]:
    """The archive's versions, oldest first. Raises UsageError naming what is wrong: a missing folder, a file
    without a date, with a date to come or of an unknown type, a path that is no file in git, git not answering."""
    versions = _git_history(path, git_path) if git_path is not None else _folder(path)
    latest = now or datetime.now(UTC)
    if future := [v for v in versions if v.captured_at > latest + timedelta(minutes=5)]:
        raise UsageError(f"{future[0].label}: captured {future[0].captured_at:%Y-%m-%d %H:%M} UTC, which is still to "
                         "come (a typo in the date?)")
    return versions


def _folder(path: Path) -> list[ArchivedVersion]:
    if not path.is_dir():
        raise UsageError(f"{path}: not a folder (to read a file's history in a git repository, give the "
                         "repository and --git-path)")
    if (path / ".git").exists():
        raise UsageError(f"{path} is a git repository: name the policy's file in it with --git-path")
    try:
        entries = [(p, p.lstat().st_mode) for p in path.iterdir() if not p.name.startswith(".")]
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({type(exc).__name__}: {exc.strerror or exc})") from None
    # only the folder's own regular files: a link may point anywhere (another folder, /proc/self/environ) and a
    # pipe or a device never ends
    files = [p for p, mode in entries if stat.S_ISREG(mode)]
    problems = [f"{p.name}: a symbolic link, not a capture (copy the file itself into the folder)"
                if stat.S_ISLNK(mode) else f"{p.name}: not a regular file"
                for p, mode in entries if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)]
    if not files and not problems:
        folders = sum(1 for _, mode in entries if stat.S_ISDIR(mode))
        inside = (f" ({folders} folder{'s' * (folders != 1)} in it: an archive is the folder holding one policy's "
                  "captures)") if folders else ""
        raise UsageError(f"{path}: no files to read{inside}")
    versions = []
    for file in files:
        try:
            versions.append(ArchivedVersion(_date_in_name(file.name), file.name, _content_type(file.name),
                                            lambda file=file: file.lstat().st_size, partial(_read_file, file),
                                            file.resolve().as_uri()))
        except UsageError as exc:
            problems.append(str(exc))
    if problems:  # every file that cannot be read as a capture, as `validate` lists every problem
        more = f"\n… and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise UsageError(f"{len(problems)} file{'s' * (len(problems) != 1)} of {path} cannot be read as captures:\n"
                         + "\n".join(sorted(problems)[:10]) + more)
    return sorted(versions, key=lambda v: (v.captured_at, _natural(v.label)))


def _read_file(file: Path, limit: int) -> bytes:
    """At most `limit` + 1 bytes of `file`, which must still be a regular file (not swapped for a link since)."""
    descriptor = os.open(file, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with open(descriptor, "rb") as opened:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(errno.EINVAL, "no longer a regular file")
        return opened.read(limit + 1)


def _natural(name: str) -> list[object]:
    """A name as numbers and text, so that `9_…` sorts before `10_…`."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in _NUMBER.split(name) if part]


def _date_in_name(name: str) -> datetime:
    found = _DATE_IN_NAME.search(name) or _WAYBACK_STAMP.search(name)
    if found is None:
        raise UsageError(f"{name}: no capture date in the file name (name each version after when it was "
                         "captured, e.g. 2021-10-05.html, 007_2021-10-05T12-30-00Z.md or a Wayback Machine "
                         "timestamp, 20211005123000.html)")
    parts = found.groupdict()
    zone = parts.get("zone")
    try:
        moment = datetime(*(int(parts[k] or 0) for k in ("y", "mo", "d", "h", "mi", "s")), tzinfo=_zone(zone))
    except ValueError as exc:
        raise UsageError(f"{name}: {found.group()} is not a date ({exc})") from None
    return moment.astimezone(UTC)


def _zone(text: str | None) -> timezone:
    if not text or text == "Z":
        return UTC
    digits = text[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return timezone(-offset if text[0] == "-" else offset)


def _content_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in CONTENT_TYPES:
        raise UsageError(f"{name}: unknown file type {suffix or '(no extension)'!r}: "
                         f"one of {', '.join(CONTENT_TYPES)}")
    return CONTENT_TYPES[suffix]


def _git_history(repository: Path, git_path: str) -> list[ArchivedVersion]:
    """Each commit that changed `git_path` on the main line, newest first in git's answer, oldest first here;
    renames followed back, the history cut where the file was added or copied."""
    if shutil.which("git") is None:
        raise UsageError("reading a git history needs the git command, which is not installed")
    # a path given from a folder inside the repository reads from that folder, as git itself does
    prefix = _git(repository, "rev-parse", "--show-prefix", what=git_path).strip()
    repository = Path(os.fsdecode(_git(repository, "rev-parse", "--show-toplevel", what=git_path).strip()))
    name = prefix + os.fsencode(git_path)
    git_path = os.fsdecode(name)
    kind = _git(repository, "cat-file", "-t", b"HEAD:" + name, what=git_path).strip()
    if kind != b"blob":
        raise UsageError(f"{repository}: {git_path!r} is not a file in the last commit "
                         f"({kind.decode() or 'nothing'}): name the one file of the policy")
    # -z: names as bytes, never quoted; a record per commit: \x1e, the hash and author date, \0, then its changes
    log = _git(repository, "log", "-z", "--follow", "-M", "--first-parent", "--diff-merges=first-parent",
               "--name-status", "--format=%x1e%H %aI", "--", name, what=git_path)
    versions: list[ArchivedVersion] = []
    for record in log.split(b"\x1e")[1:]:
        head, _, changes = record.partition(b"\x00")
        commit, date = head.decode().strip().split(" ", 1)
        fields = [f for f in changes.lstrip(b"\n").split(b"\x00") if f]
        status = fields[0][:1] if fields else b""
        if status == b"D" or not fields:
            continue  # the file deleted in this commit: no capture
        now_named = fields[-1]  # R and C give the old name, then the new one
        label = commit[:12] if now_named == name else f"{commit[:12]} {os.fsdecode(now_named)}"
        blob = commit.encode() + b":" + now_named
        versions.append(ArchivedVersion(datetime.fromisoformat(date).astimezone(UTC), label,
                                        _content_type(os.fsdecode(now_named)),
                                        partial(_blob_size, repository, blob, git_path),
                                        partial(_blob, repository, blob, git_path),
                                        f"{repository.resolve().as_uri()}#{commit}:{os.fsdecode(now_named)}"))
        if status in (b"A", b"C"):
            break  # where this document's history starts: what --follow finds before a copy is another document's
    if not versions:
        raise UsageError(f"{repository}: no commit changed {git_path!r}")
    # oldest first; commits of the same moment in history's order (git answered newest first)
    order = {id(v): at for at, v in enumerate(reversed(versions))}
    return sorted(versions, key=lambda v: (v.captured_at, order[id(v)]))


def _blob(repository: Path, blob: bytes, what: str, limit: int) -> bytes:
    """A blob's bytes (its size, asked before, is exact: git names a blob by its content)."""
    return _git(repository, "cat-file", "blob", blob, what=what)[:limit + 1]


def _blob_size(repository: Path, blob: bytes, what: str) -> int:
    return int(_git(repository, "cat-file", "-s", blob, what=what))


def _git(repository: Path, *args: str | bytes, what: str) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(repository), *args], capture_output=True, timeout=GIT_TIMEOUT,
                              check=False)
    except subprocess.TimeoutExpired:
        raise UsageError(f"{repository}: git did not answer within {GIT_TIMEOUT} s reading {what!r}") from None
    if done.returncode != 0:
        first = (done.stderr.decode(errors="replace").strip().splitlines() or ["failed"])[0]
        raise UsageError(f"{repository}: git: {first}")
    return done.stdout
