"""A real loopback HTTP server that misbehaves on purpose, per path: the fault injector for fetch/pipeline/daemon tests.

It speaks HTTP/1.1 over raw sockets (one request per connection, `Connection: close`) so it can do
what well-behaved servers cannot: hang, reset mid-body, lie about Content-Length, send gzip bombs.

    from tests.faulty_server import FaultyServer

    with FaultyServer() as server:                        # 127.0.0.1, a free port, a background thread
        server.page("/policy", "<h1>Privacy</h1>", etag=True)
        url = server.url("/policy")                       # "http://127.0.0.1:PORT/policy"
        ...                                               # fetch it
        server.page("/policy", "<h1>Privacy, v2</h1>", etag=True)   # change it while running
        assert server.requests_to("/policy")[-1].headers["accept-language"] == "en"

`FaultyServer(host="127.0.0.2")` binds another loopback address (Linux routes all of 127/8), so one
test can have several distinct hosts. `start()`/`stop()` work without the `with` block.

Behaviours. Each call (re)defines what one path answers, effective for the next request; paths are
matched without the query string; an undefined path answers 404. Bodies may be `str` (sent as UTF-8)
or `bytes`.

- `page(path, body, *, status=200, content_type="text/html; charset=utf-8", headers=None,
  etag=None, last_modified=None)`: serve content. `etag=True` derives a strong ETag from the body
  (so changing the body changes it), or pass the header value. `last_modified=True` stamps the time
  of this call (HTTP-date), or pass a string. A request whose If-None-Match matches (or, without
  If-None-Match, whose If-Modified-Since is not older than Last-Modified) gets 304 and no body.
- `invalid_bytes(path, body, *, every=3, content_type=...)`: the page (UTF-8) with bytes that are
  invalid in any UTF-8 text (0xFF 0xFE) slipped in after every `every`-th sentence end (". "),
  served with `charset=utf-8`: what a badly converted CMS export looks like.
- `status(path, code, body="", *, headers=None)`: any status, e.g. 404, 500, 502, 503.
- `fail_then(path, failures, body, *, status=503, headers=None, content_type=...)`: the first
  `failures` requests get `status` (with `headers`, e.g. `{"Retry-After": "0.2"}`), later ones 200
  with `body`. `failures` counts from this call.
- `retry_after(path, value, *, status=429)`: always `status` with `Retry-After: value`.
- `hang(path, seconds=30, *, after_headers=False)`: accept and send nothing (or only the headers)
  for `seconds`, then close; `stop()` releases hung connections at once.
- `slow(path, body, delay)`: a normal 200, answered after `delay` seconds.
- `drip(path, body, interval)`: a 200 whose body trickles out one byte per `interval` seconds
  (never idle long enough for a read timeout, yet endless in practice).
- `reset_mid_body(path, body)`: headers and half the body, then a TCP reset.
- `truncated(path, body, *, claimed_length=None)`: Content-Length larger than the body sent
  (default twice), then a normal close.
- `gzip_bomb(path, expanded_bytes=50_000_000, *, encoding="gzip")`: a small compressed body of
  zeros that expands hugely; `encoding` may also be "br" or "deflate".
- `redirect(path, location, *, status=302)`; `redirect_loop(path, other)`: path -> other -> path ...
- `oversized(path, size, *, declare_length=False)`: `size` bytes of HTML-ish filler, streamed in
  chunks, with or without a Content-Length.
- `handler(path, fn)`: `fn(request: RecordedRequest) -> Reply` for anything else.

Recording: every request, answered or not, is appended to `server.requests` as a `RecordedRequest`
(method, path, target with query, headers with lower-case names, client address, `started` = when
its headers had arrived, `finished` = when the server began sending the last part of its answer or
gave up; both `time.monotonic()`, the clock asyncio uses too). Because `finished` is taken *before*
the final bytes leave, a client cannot have seen the end of a response earlier than `finished`: so
"request B started after A finished" is a safe, non-flaky test of no-overlap. Helpers:
`requests_to(path)`, `count(path)`, `clear()`.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus

Body = str | bytes


@dataclass
class RecordedRequest:
    method: str
    path: str
    target: str
    headers: dict[str, str]
    client: tuple[str, int]
    started: float
    finished: float | None = None
    hung_up: bool = False  # the client closed the connection before the answer was all sent


@dataclass
class Reply:
    """A complete, well-formed answer (what `handler` functions return)."""

    status: int = 200
    body: Body = b""
    headers: dict[str, str] = field(default_factory=dict)


class _Connection:
    """One accepted socket and the request read from it; behaviours write the answer through it."""

    def __init__(self, sock: socket.socket, server: FaultyServer, request: RecordedRequest):
        self.sock = sock
        self.server = server
        self.request = request

    def send_head(self, status: int, headers: dict[str, str]) -> None:
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Unknown"
        lines = [f"HTTP/1.1 {status} {phrase}"] + [f"{k}: {v}" for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def mark_finished(self) -> None:
        self.server._finish(self.request)

    def send_reply(self, reply: Reply) -> None:
        body = _bytes(reply.body)
        headers = {"Content-Length": str(len(body)), "Connection": "close"} | reply.headers
        self.mark_finished()
        self.send_head(reply.status, headers)
        if body:
            self.sock.sendall(body)


Behaviour = Callable[[_Connection, RecordedRequest], None]


def _bytes(body: Body) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


@functools.lru_cache(maxsize=8)
def _compressed_zeros(size: int, encoding: str) -> bytes:
    zeros = b"\0" * size
    if encoding == "br":
        import brotli  # only the bomb needs it; httpx[brotli] installs it
        return brotli.compress(zeros, quality=5)  # the default quality takes seconds on 50 MB
    if encoding == "deflate":
        return zlib.compress(zeros, 9)
    return gzip.compress(zeros, compresslevel=9)


class FaultyServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, port))
        self._listener.listen(256)
        self._listener.settimeout(0.05)
        self.host, self.port = self._listener.getsockname()[:2]
        self._routes: dict[str, Behaviour] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.requests: list[RecordedRequest] = []

    # ---- lifecycle ----

    def start(self) -> FaultyServer:
        if self._thread is None:
            self._thread = threading.Thread(target=self._accept_loop, name=f"faulty-{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._listener.close()

    def __enter__(self) -> FaultyServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    # ---- recording ----

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def count(self, path: str) -> int:
        return len(self.requests_to(path))

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    # ---- behaviours ----

    def handler(self, path: str, fn: Callable[[RecordedRequest], Reply]) -> None:
        self._route(path, lambda conn, request: conn.send_reply(fn(request)))

    def page(self, path: str, body: Body, *, status: int = 200, content_type: str = "text/html; charset=utf-8",
             headers: dict[str, str] | None = None, etag: str | bool | None = None,
             last_modified: str | bool | None = None) -> None:
        data = _bytes(body)
        validators: dict[str, str] = {}
        if etag:
            validators["ETag"] = f'"{hashlib.sha1(data).hexdigest()[:16]}"' if etag is True else etag
        if last_modified:
            validators["Last-Modified"] = formatdate(usegmt=True) if last_modified is True else last_modified
        answer = Reply(status, data, {"Content-Type": content_type} | validators | (headers or {}))

        def serve(conn: _Connection, request: RecordedRequest) -> None:
            if _not_modified(request.headers, validators):
                conn.send_reply(Reply(304, b"", validators))
            else:
                conn.send_reply(answer)
        self._route(path, serve)

    def invalid_bytes(self, path: str, body: Body, *, every: int = 3,
                      content_type: str = "text/html; charset=utf-8") -> None:
        pieces = _bytes(body).split(b". ")
        damaged = b"".join(piece + (b".\xff\xfe " if n % every == every - 1 else b". ")
                           for n, piece in enumerate(pieces[:-1])) + pieces[-1]
        self.page(path, damaged, content_type=content_type)

    def status(self, path: str, code: int, body: Body = "", *, headers: dict[str, str] | None = None) -> None:
        reply = Reply(code, body, {"Content-Type": "text/html; charset=utf-8"} | (headers or {}))
        self._route(path, lambda conn, request: conn.send_reply(reply))

    def fail_then(self, path: str, failures: int, body: Body, *, status: int = 503,
                  headers: dict[str, str] | None = None, content_type: str = "text/html; charset=utf-8") -> None:
        remaining = [failures]
        counter_lock = threading.Lock()

        def serve(conn: _Connection, request: RecordedRequest) -> None:
            with counter_lock:
                failing = remaining[0] > 0
                remaining[0] -= 1
            if failing:
                conn.send_reply(Reply(status, f"failure {status}", headers or {}))
            else:
                conn.send_reply(Reply(200, body, {"Content-Type": content_type}))
        self._route(path, serve)

    def retry_after(self, path: str, value: str | float, *, status: int = 429) -> None:
        self.status(path, status, "slow down", headers={"Retry-After": str(value)})

    def hang(self, path: str, seconds: float = 30.0, *, after_headers: bool = False) -> None:
        def serve(conn: _Connection, request: RecordedRequest) -> None:
            if after_headers:
                conn.send_head(200, {"Content-Type": "text/html", "Content-Length": "1000", "Connection": "close"})
            self._stopping.wait(seconds)
            conn.mark_finished()
        self._route(path, serve)

    def slow(self, path: str, body: Body, delay: float) -> None:
        reply = Reply(200, body, {"Content-Type": "text/html; charset=utf-8"})

        def serve(conn: _Connection, request: RecordedRequest) -> None:
            self._stopping.wait(delay)
            conn.send_reply(reply)
        self._route(path, serve)

    def drip(self, path: str, body: Body, interval: float) -> None:
        data = _bytes(body)

        def serve(conn: _Connection, request: RecordedRequest) -> None:
            conn.send_head(200, {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(data))})
            for position in range(len(data)):
                if self._stopping.wait(interval):
                    break
                if position == len(data) - 1:
                    conn.mark_finished()
                conn.sock.sendall(data[position:position + 1])
        self._route(path, serve)

    def reset_mid_body(self, path: str, body: Body) -> None:
        data = _bytes(body)

        def serve(conn: _Connection, request: RecordedRequest) -> None:
            conn.send_head(200, {"Content-Type": "text/html", "Content-Length": str(len(data))})
            conn.sock.sendall(data[: len(data) // 2])
            time.sleep(0.05)  # let the first half arrive, so the client sees a reset *mid*-body
            conn.mark_finished()
            # SO_LINGER with a zero timeout turns close() into a TCP RST
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._route(path, serve)

    def truncated(self, path: str, body: Body, *, claimed_length: int | None = None) -> None:
        data = _bytes(body)
        claimed = claimed_length if claimed_length is not None else 2 * len(data) + 1

        def serve(conn: _Connection, request: RecordedRequest) -> None:
            conn.mark_finished()
            conn.send_head(200, {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(claimed)})
            conn.sock.sendall(data)
        self._route(path, serve)

    def gzip_bomb(self, path: str, expanded_bytes: int = 50_000_000, *, encoding: str = "gzip") -> None:
        reply = Reply(200, _compressed_zeros(expanded_bytes, encoding),
                      {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": encoding})
        self._route(path, lambda conn, request: conn.send_reply(reply))

    def redirect(self, path: str, location: str, *, status: int = 302) -> None:
        self.status(path, status, "", headers={"Location": location})

    def redirect_loop(self, path: str, other: str) -> None:
        self.redirect(path, other)
        self.redirect(other, path)

    def oversized(self, path: str, size: int, *, declare_length: bool = False) -> None:
        chunk = b"<p>" + b"x" * (64 * 1024 - 8) + b"</p>\n"

        def serve(conn: _Connection, request: RecordedRequest) -> None:
            headers = {"Content-Type": "text/html; charset=utf-8", "Connection": "close"}
            if declare_length:
                headers["Content-Length"] = str(size)
            conn.send_head(200, headers)
            sent = 0
            while sent < size and not self._stopping.is_set():
                part = chunk[: size - sent]
                conn.sock.sendall(part)
                sent += len(part)
            conn.mark_finished()
        self._route(path, serve)

    # ---- internals ----

    def _route(self, path: str, behaviour: Behaviour) -> None:
        with self._lock:
            self._routes[path] = behaviour

    def _finish(self, request: RecordedRequest) -> None:
        with self._lock:
            if request.finished is None:
                request.finished = time.monotonic()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock, address), daemon=True).start()

    def _serve(self, sock: socket.socket, address: tuple[str, int]) -> None:
        sock.settimeout(10)
        request: RecordedRequest | None = None
        try:
            head = self._read_head(sock)
            if head is None:
                return
            method, target, headers = head
            path = target.split("?", 1)[0]
            request = RecordedRequest(method, path, target, headers, address, time.monotonic())
            with self._lock:
                self.requests.append(request)
                behaviour = self._routes.get(path)
            conn = _Connection(sock, self, request)
            if behaviour is None:
                conn.send_reply(Reply(404, "not found", {"Content-Type": "text/plain"}))
            else:
                behaviour(conn, request)
            conn.mark_finished()
        except OSError:  # the client went away (e.g. it stopped reading an oversized body): expected here
            if request is not None:
                request.hung_up = True
        finally:
            sock.close()

    @staticmethod
    def _read_head(sock: socket.socket) -> tuple[str, str, dict[str, str]] | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
            if len(data) > 1_000_000:
                return None
        lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return None
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return parts[0], parts[1], headers


def _not_modified(request_headers: dict[str, str], validators: dict[str, str]) -> bool:
    if_none_match = request_headers.get("if-none-match")
    if if_none_match is not None:
        etag = validators.get("ETag")
        if etag is None:
            return False
        wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in wanted or etag.removeprefix("W/") in wanted
    since, modified = request_headers.get("if-modified-since"), validators.get("Last-Modified")
    if since is None or modified is None:
        return False
    try:
        return parsedate_to_datetime(modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
