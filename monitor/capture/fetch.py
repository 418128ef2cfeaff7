"""HTTP fetching: timeouts, retries with backoff, Retry-After, validators, size cap, charset, per-host order."""

from __future__ import annotations

import asyncio
import codecs
import email.utils
import ipaddress
import logging
import random
import re
import socket
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.cookiejar import CookieJar, DefaultCookiePolicy

import brotli
import charset_normalizer
import httpx

from monitor.errors import FetchError

log = logging.getLogger("monitor.capture.fetch")

USER_AGENT = "policy-monitor/0.1 (+https://github.com/policy-monitor/policy-monitor)"
ACCEPT = "text/html,application/xhtml+xml,text/plain;q=0.9,text/markdown;q=0.9,*/*;q=0.5"
ACCEPT_ENCODING = "gzip, deflate, br"
CONNECTION_POOLS = 16      # hosts are spread over this many connection pools (see Fetcher._client_for)
KEEPALIVE_PER_POOL = 8     # idle connections each pool keeps (pools: CONNECTION_POOLS per scheme in use)

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_RETRY_4XX = frozenset({408, 429})
_PIECE = 64 * 1024  # most bytes one decompression step may produce: memory stays bounded under a gzip bomb
_META_SCAN_BYTES = 8192
_DETECT_SAMPLE_BYTES = 512 * 1024


@dataclass(frozen=True)
class FetchSettings:
    retries: int = 2                  # extra attempts after the first, for transient failures only
    backoff: float = 1.0              # first retry waits about this long, doubling each time, plus jitter
    max_retry_after: float = 120.0    # a longer Retry-After gives up (transient error) instead of sleeping
    per_host_delay: float = 0.0       # min seconds between the end of one request and the next to host:port
    max_redirects: int = 10
    attempt_deadline_factor: float = 4.0  # one attempt may last timeout * this at most (stops slow drips)


@dataclass(frozen=True)
class FetchResult:
    url: str
    final_url: str
    status_code: int
    content: bytes        # body with Content-Encoding (gzip, br, deflate) removed
    text: str             # body decoded with `encoding`, undecodable bytes replaced
    content_type: str     # media type only, lower case, e.g. "text/html"
    encoding: str | None
    etag: str | None
    last_modified: str | None
    not_modified: bool    # a 304 answer to our conditional request: content and text are empty
    elapsed: float        # seconds for the whole fetch, waits and retries included
    attempts: int = 1     # requests made for the final URL (1 + retries used)
    redirects: tuple[str, ...] = ()  # URLs redirected through, in order, before final_url


class Fetcher:
    """Fetch many URLs concurrently, never two at once to one host:port.

    >>> async with Fetcher(FetchSettings(per_host_delay=1.0)) as fetcher:   # doctest: +SKIP
    ...     pages = await asyncio.gather(*(fetcher.fetch(url) for url in urls), return_exceptions=True)

    Every failure is a `FetchError` whose message reads as one line for users and whose
    `transient` flag says whether trying again later may help.
    """

    def __init__(self, settings: FetchSettings | None = None):
        self.settings = settings or FetchSettings()
        self._clients: dict[int, httpx.AsyncClient] | None = None  # per pool of hosts, made on first use
        self._tls: ssl.SSLContext | None = None  # one TLS context for every pool (each costs ~50 ms to build)
        self._host_locks: dict[tuple[str, int], asyncio.Lock] = {}
        self._host_next_start: dict[tuple[str, int], float] = {}  # monotonic time a host may be asked again

    async def __aenter__(self) -> Fetcher:
        self._host_locks = {}  # asyncio locks belong to one event loop: a new `async with` may run in another
        self._clients = {}
        return self

    async def __aexit__(self, *exc: object) -> None:
        clients, self._clients = self._clients or {}, None
        for client in clients.values():
            await client.aclose()

    def _client_for(self, target: httpx.URL) -> httpx.AsyncClient:
        """The client of the pool this host and scheme fall in. Hosts are spread over CONNECTION_POOLS clients
        because httpcore's pool bookkeeping grows with the square of its connections (a tenth of an unchanged
        check with 100 hosts kept alive in one pool); a connection is only ever reused by its own host anyway."""
        assert self._clients is not None
        https = target.scheme == "https"
        pool = zlib.crc32(_host_port_text(target).encode()) % CONNECTION_POOLS + (CONNECTION_POOLS if https else 0)
        client = self._clients.get(pool)
        if client is None:
            if https and self._tls is None:
                self._tls = httpx.create_ssl_context()
            # The client's own cookie jar refuses everything: cookies live only within one fetch (see
            # _follow), so one source's visit never changes what another source, or the next check, sees.
            no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
            client = self._clients[pool] = httpx.AsyncClient(
                # A plain-HTTP pool never speaks TLS (every hop of a redirect picks its pool by its own
                # scheme), so it needs no certificates: a check of http:// sources starts ~50 ms sooner.
                verify=self._tls if https else False,
                follow_redirects=False,
                cookies=httpx.Cookies(no_cookies),
                headers={"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING},
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=KEEPALIVE_PER_POOL,
                                    keepalive_expiry=5.0),
            )
        return client

    async def fetch(self, url: str, *, language: str = "en", timeout: float = 30.0, max_bytes: int = 10_000_000,
                    etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """GET `url` following redirects; a 304 to the given validators gives `not_modified=True`."""
        if self._clients is None:
            raise RuntimeError("use the Fetcher as `async with Fetcher() as fetcher:`")
        started = time.monotonic()
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise FetchError(f"invalid URL {url!r}: {exc}") from None
        if target.scheme not in ("http", "https") or not target.host:
            raise FetchError(f"not an http(s) URL: {url}")
        headers = {"Accept-Language": language}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return await self._follow(url, target, headers, float(timeout), max_bytes, started)

    async def _follow(self, url: str, target: httpx.URL, headers: dict[str, str], timeout: float,
                      max_bytes: int, started: float) -> FetchResult:
        jar = httpx.Cookies()  # cookies set along this redirect chain, e.g. a consent redirect to itself
        origin = target.host
        visits: dict[str, int] = {str(target): 1}
        chain: list[str] = []
        while True:
            raw, attempts = await self._with_retries(target, headers, jar, timeout, max_bytes)
            if raw.status not in _REDIRECT_STATUSES:
                break
            location = raw.headers.get("location")
            if not location:
                raise FetchError(f"HTTP {raw.status} redirect without a Location header at {target}",
                                 status_code=raw.status)
            try:
                following = target.join(location)
            except (httpx.InvalidURL, ValueError):
                raise FetchError(f"redirect to an invalid URL {location!r} at {target}") from None
            if following.scheme not in ("http", "https"):
                raise FetchError(f"redirect to a non-http(s) URL {following} at {target}")
            if following.host != target.host and (inner := await inward_redirect(origin, following.host)):
                raise FetchError(f"redirect at {target} into a private network ({following.host}: {inner}): not "
                                 "followed, a public page must not lead a check to this network's own services; "
                                 "to watch a private page, give its own URL")
            # A URL may come back once (sites that set a cookie and redirect to themselves); a third
            # visit means the chain goes round in circles.
            visits[str(following)] = visits.get(str(following), 0) + 1
            if visits[str(following)] > 2:
                raise FetchError(f"redirect loop at {following}")
            chain.append(str(target))
            if len(chain) > self.settings.max_redirects:
                raise FetchError(f"more than {_count(self.settings.max_redirects, 'redirect')} from {url}")
            target = following

        content_type_header = raw.headers.get("content-type", "")
        elapsed = time.monotonic() - started
        common = dict(url=url, final_url=str(target), status_code=raw.status,
                      content_type=content_type_header.split(";")[0].strip().lower(),
                      etag=raw.headers.get("etag"), last_modified=raw.headers.get("last-modified"),
                      elapsed=elapsed, attempts=attempts, redirects=tuple(chain))
        if raw.status == 304:
            # a 304 may omit the validators; the ones we sent are still the current ones
            common["etag"] = common["etag"] or headers.get("If-None-Match")
            common["last_modified"] = common["last_modified"] or headers.get("If-Modified-Since")
            return FetchResult(**common, content=b"", text="", encoding=None, not_modified=True)
        text, encoding = decode_html(raw.body, content_type_header)
        return FetchResult(**common, content=raw.body, text=text, encoding=encoding, not_modified=False)

    async def _with_retries(self, target: httpx.URL, headers: dict[str, str], jar: httpx.Cookies,
                            timeout: float, max_bytes: int) -> tuple[_Raw, int]:
        """One hop: retry transient failures, 5xx, 408 and 429 with backoff or the server's Retry-After."""
        settings = self.settings
        attempt = 0
        while True:
            attempt += 1
            try:
                raw = await self._attempt(target, headers, jar, timeout, max_bytes)
            except FetchError as exc:
                if not exc.transient or attempt > settings.retries:
                    raise _after_attempts(exc, attempt) from None
                await self._wait_to_retry(target, str(exc), attempt, self._backoff(attempt))
                continue
            if raw.status < 300 or raw.status in _REDIRECT_STATUSES or raw.status == 304:
                return raw, attempt
            status_text = f"HTTP {raw.status} {raw.reason}".rstrip()
            if raw.status < 400:
                raise FetchError(f"unexpected {status_text}", status_code=raw.status)
            if raw.status < 500 and raw.status not in _RETRY_4XX:
                raise FetchError(status_text, status_code=raw.status)
            retry_after = parse_retry_after(raw.headers.get("retry-after"))
            if retry_after is not None and retry_after > settings.max_retry_after:
                raise FetchError(f"{status_text}: server asks to retry after {retry_after:.0f}s, more than "
                                 f"the {settings.max_retry_after:g}s we wait", transient=True,
                                 status_code=raw.status)
            if retry_after is not None:
                # The server asked the whole host to slow down, not just this URL. (When we give up
                # instead, above, we do not hold the host: other sources there fail fast on their own
                # 429 rather than queue for minutes behind a wait nobody will use.)
                self._hold_host(target, retry_after)
            if attempt > settings.retries:
                raise _after_attempts(FetchError(status_text, transient=True, status_code=raw.status), attempt)
            await self._wait_to_retry(target, status_text, attempt, max(retry_after or 0.0, self._backoff(attempt)))

    async def _wait_to_retry(self, target: httpx.URL, why: str, attempt: int, delay: float) -> None:
        log.debug(f"fetch {target}: {why}; retry {attempt} of {self.settings.retries} in {delay:.1f}s",
                 extra={"url": str(target), "attempt": attempt, "retry_in_s": round(delay, 1)})
        await asyncio.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        # exponential with jitter, so sources failing together do not retry in lockstep
        base = self.settings.backoff
        return base * 2 ** (attempt - 1) + random.uniform(0, base)

    async def _attempt(self, target: httpx.URL, headers: dict[str, str], jar: httpx.Cookies,
                       timeout: float, max_bytes: int) -> _Raw:
        """One request, waiting for this host's turn; every failure becomes a FetchError."""
        client = self._client_for(target)
        where = _host_port_text(target)
        deadline = timeout * self.settings.attempt_deadline_factor
        request = client.build_request("GET", target, headers=headers, timeout=httpx.Timeout(timeout))
        if jar.jar:  # the cookie machinery builds a urllib request per call: only when there is a cookie to send
            jar.set_cookie_header(request)
        async with self._host_turn(target):
            try:
                async with asyncio.timeout(deadline):
                    response = await client.send(request, stream=True)
                    try:
                        if "set-cookie" in response.headers:  # likewise, only when there is one to keep
                            jar.extract_cookies(response)
                        body = b""
                        if 200 <= response.status_code < 300:
                            body = await _read_body(response, max_bytes)
                        return _Raw(response.status_code, response.reason_phrase or _phrase(response.status_code),
                                    response.headers, body)
                    finally:
                        await response.aclose()
            except TimeoutError:
                raise FetchError(f"download from {where} took longer than {deadline:g}s", transient=True) from None
            except httpx.HTTPError as exc:
                raise _describe(exc, where, timeout) from None
            except OSError as exc:  # httpx maps transport errors, but a stray socket error must not escape
                raise FetchError(f"network error with {where}: {exc.strerror or exc}", transient=True) from None

    @asynccontextmanager
    async def _host_turn(self, target: httpx.URL) -> AsyncIterator[None]:
        """Hold this host:port's lock, after waiting until per_host_delay has passed since its last request."""
        key = _host_key(target)
        lock = self._host_locks.setdefault(key, asyncio.Lock())
        async with lock:
            # loop: a Retry-After seen by another fetch while we slept may push the time further
            while (wait := self._host_next_start.get(key, 0.0) - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            try:
                yield
            finally:
                self._hold_host(target, self.settings.per_host_delay)

    def _hold_host(self, target: httpx.URL, seconds: float) -> None:
        key = _host_key(target)
        self._host_next_start[key] = max(self._host_next_start.get(key, 0.0), time.monotonic() + seconds)


def _host_key(url: httpx.URL) -> tuple[str, int]:
    return url.host, url.port or (443 if url.scheme == "https" else 80)


@dataclass(frozen=True)
class _Raw:
    status: int
    reason: str
    headers: httpx.Headers
    body: bytes


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _host_port_text(url: httpx.URL) -> str:
    host, port = _host_key(url)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _after_attempts(exc: FetchError, attempts: int) -> FetchError:
    if attempts <= 1 or not exc.transient:  # a permanent failure is about the last answer only
        return exc
    return FetchError(f"{exc} after {attempts} attempts", transient=exc.transient, status_code=exc.status_code)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


# how the messages of `_describe` begin when no connection to the host could be made at all (keep in step)
NO_CONNECTION = ("cannot resolve host name", "connection refused", "connect timed out", "cannot connect to",
                 "network error with")


def _describe(exc: httpx.HTTPError, where: str, timeout: float) -> FetchError:
    """Turn an httpx error into one line a user understands, with the transient flag set honestly."""
    causes = list(_causes(exc))
    if isinstance(exc, httpx.ConnectTimeout):
        return FetchError(f"connect timed out after {timeout}s ({where})", transient=True)
    if isinstance(exc, httpx.TimeoutException):
        return FetchError(f"timed out after {timeout}s waiting for {where}", transient=True)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return FetchError(f"unsupported URL scheme ({where})")
    if isinstance(exc, httpx.ConnectError):
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            return FetchError(f"connection refused ({where})", transient=True)
        if any(isinstance(c, socket.gaierror) for c in causes):
            return FetchError(f"cannot resolve host name ({where})", transient=True)
        tls = next((c for c in causes if isinstance(c, ssl.SSLError)), None)
        if tls is not None:
            reason = getattr(tls, "verify_message", None) or getattr(tls, "reason", None) or str(tls)
            return FetchError(f"TLS error with {where}: {reason}")
        return FetchError(f"cannot connect to {where}: {_root_message(causes)}", transient=True)
    if isinstance(exc, httpx.RemoteProtocolError):
        message = str(exc)
        if "without sending complete message body" in message:
            got = re.search(r"received (\d+) bytes, expected (\d+)", message)
            detail = f": received {got[1]} of {got[2]} bytes" if got else ""
            return FetchError(f"response truncated, connection closed early by {where}{detail}", transient=True)
        if "without sending a response" in message:
            return FetchError(f"server closed the connection without responding ({where})", transient=True)
        return FetchError(f"invalid HTTP response from {where}: {message}", transient=True)
    if isinstance(exc, httpx.NetworkError):
        if any(isinstance(c, ConnectionResetError) for c in causes):
            return FetchError(f"connection reset by {where}", transient=True)
        return FetchError(f"network error with {where}: {_root_message(causes)}", transient=True)
    return FetchError(f"{type(exc).__name__} with {where}: {_root_message(causes)}", transient=True)


def _root_message(causes: list[BaseException]) -> str:
    root = causes[-1]
    text = root.strerror if isinstance(root, OSError) and root.strerror else str(root)
    return text or type(root).__name__


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent or invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))  # the RFC says integer seconds; fractions are accepted leniently
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


# ---- body: streamed, decompressed in bounded steps, capped ----

class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        yield data

    def finished(self) -> bool:
        return True


class _Zlib:
    """gzip or deflate; `decompress(..., max_length)` keeps each step small whatever the ratio."""

    def __init__(self, encoding: str):
        self._encoding = encoding
        self._decoder: zlib._Decompress | None = None

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._decoder is None:
            if not data:
                return
            self._decoder = zlib.decompressobj(self._wbits(data))
        while data and not self._decoder.eof:
            yield self._decoder.decompress(data, _PIECE)
            data = self._decoder.unconsumed_tail

    def _wbits(self, first: bytes) -> int:
        if self._encoding in ("gzip", "x-gzip"):
            return 16 + zlib.MAX_WBITS
        # "deflate" should be zlib-wrapped, but some servers send raw deflate: tell by the zlib header
        if len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0:
            return zlib.MAX_WBITS
        return -zlib.MAX_WBITS

    def finished(self) -> bool:
        return self._decoder is None or self._decoder.eof


class _Brotli:
    def __init__(self) -> None:
        self._decoder = brotli.Decompressor()
        self._fed = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._fed = True
        yield self._decoder.process(data, output_buffer_limit=_PIECE)
        while not self._decoder.can_accept_more_data():
            yield self._decoder.process(b"", output_buffer_limit=_PIECE)

    def finished(self) -> bool:
        return not self._fed or self._decoder.is_finished()


async def inward_redirect(origin_host: str, host: str) -> str | None:
    """Whether a redirect leads from a public origin into a private network: the first non-public address
    `host` resolves to (loopback, private, link-local such as a cloud's metadata address 169.254.169.254,
    reserved), when every address of `origin_host` is public; else None. A source on a private address (an
    intranet policy, a test server) may redirect anywhere; a name that does not resolve is left to the fetch."""
    origin, there = await _addresses(origin_host), await _addresses(host)
    if not origin or not there or not all(address.is_global for address in origin):
        return None
    inner = next((address for address in there if not address.is_global), None)
    return _address_kind(inner) if inner is not None else None


async def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [_embedded(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    try:
        async with asyncio.timeout(5):  # the fetch's own clock does not run here
            found = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, TimeoutError):
        return []
    return [_embedded(ipaddress.ip_address(info[4][0].split("%")[0])) for info in found]


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64), which is where it leads."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped or address.sixtofour:
            return address.ipv4_mapped or address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _address_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    kind = ("a loopback address" if address.is_loopback else "a link-local address" if address.is_link_local
            else "a private address" if address.is_private else "a reserved address")
    return f"{kind}, {address}"


MAX_ENCODINGS = 3  # a real server compresses once (a proxy may compress again); each layer costs a decoder


def _decoders(content_encoding: str) -> list[_Identity | _Zlib | _Brotli]:
    """Decoders in the order to apply them (the reverse of the order the server encoded in)."""
    chain: list[_Identity | _Zlib | _Brotli] = []
    names = [part.strip().lower() for part in content_encoding.split(",") if part.strip()]
    if len(names) > MAX_ENCODINGS:
        raise FetchError(f"the response body is encoded {len(names):,} times over (Content-Encoding: "
                         f"{', '.join(names[:4])}, …): more than {MAX_ENCODINGS} layers are not read")
    for name in reversed(names):
        if name in ("gzip", "x-gzip", "deflate"):
            chain.append(_Zlib(name))
        elif name == "br":
            chain.append(_Brotli())
        # identity and unknown labels pass through: the body then reads as garbage and the guard rejects it
    return chain or [_Identity()]


def _decode_through(chain: list[_Identity | _Zlib | _Brotli], data: bytes) -> Iterator[bytes]:
    if not chain:
        yield data
        return
    for piece in chain[0].feed(data):
        if piece:
            yield from _decode_through(chain[1:], piece)


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' * (count != 1)}"


def human_size(size: int) -> str:
    """A byte count as people write it in sources.yaml: 10_000_000 → "10 MB", 2_621_440 → "2.5 MiB",
    1_234_567 → "1,234,567 bytes" (exact: a cap is not rounded)."""
    for unit, name in ((10**9, "GB"), (2**30, "GiB"), (10**6, "MB"), (2**20, "MiB"), (10**3, "kB"), (2**10, "KiB")):
        if size >= unit and size * 100 % unit == 0:  # at most two decimals, all of them exact
            return f"{size / unit:,.2f}".rstrip("0").rstrip(".") + f" {name}"
    return f"{size:,} byte{'s' * (size != 1)}"


async def _read_body(response: httpx.Response, max_bytes: int) -> bytes:
    """Decoded body; over `max_bytes` decoded bytes is an error, counted as they stream in."""
    content_encoding = response.headers.get("content-encoding", "")
    too_large = FetchError(f"response larger than {human_size(max_bytes)} (max_bytes)")
    declared = response.headers.get("content-length", "")
    if not content_encoding and declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    chain = _decoders(content_encoding)
    body = bytearray()
    try:
        async for chunk in response.aiter_raw():
            for piece in _decode_through(chain, chunk):
                body += piece
                if len(body) > max_bytes:
                    raise too_large
    except (zlib.error, brotli.error) as exc:
        raise FetchError(f"cannot decode the {content_encoding} response body: {exc}") from None
    if not all(decoder.finished() for decoder in chain):
        raise FetchError(f"response truncated: the {content_encoding} stream ended early", transient=True)
    return bytes(body)


# ---- charset ----

# Browsers read these labels as windows-1252 (WHATWG Encoding); so must we, or curly quotes become mojibake.
_ENCODING_ALIASES = {"iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252", "l1": "cp1252",
                     "iso8859-1": "cp1252", "ascii": "cp1252", "us-ascii": "cp1252", "x-sjis": "shift_jis",
                     "iso-8859-9": "cp1254", "tis-620": "cp874", "gb2312": "gb18030", "gbk": "gb18030"}
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:\-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.IGNORECASE)


def _known_encoding(label: str | bytes | None, *, from_markup: bool = False) -> str | None:
    if not label:
        return None
    name = (label.decode("ascii", "ignore") if isinstance(label, bytes) else label).strip().lower()
    name = _ENCODING_ALIASES.get(name, name)
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return None
    if from_markup and canonical.startswith("utf-16"):
        return "utf-8"  # markup we could read as ASCII cannot be UTF-16; the label is wrong (HTML spec)
    return canonical


def detect_encoding(content: bytes, content_type: str = "") -> str:
    """Charset of a body: byte-order mark, else Content-Type charset, else <meta>/XML declaration, else detection."""
    for bom, name in _BOMS:
        if content.startswith(bom):
            return name
    header = _HEADER_CHARSET.search(content_type or "")
    if found := _known_encoding(header[1] if header else None):
        return found
    head = content[:_META_SCAN_BYTES]
    declared = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    if found := _known_encoding(declared[1] if declared else None, from_markup=True):
        return found
    try:
        content.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    guess = charset_normalizer.from_bytes(content[:_DETECT_SAMPLE_BYTES]).best()
    return _known_encoding(guess.encoding if guess else None) or "utf-8"


def decode_html(content: bytes, content_type: str = "") -> tuple[str, str | None]:
    """(text, encoding) of a body; never refuses bytes: undecodable ones become U+FFFD.

    Usable on stored raw bodies too (re-normalizing without fetching): pass the stored Content-Type.
    """
    if not content:
        header = _HEADER_CHARSET.search(content_type or "")
        return "", _known_encoding(header[1] if header else None)
    encoding = detect_encoding(content, content_type)
    return content.decode(encoding, errors="replace"), encoding
