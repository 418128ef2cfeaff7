"""The fetcher against a real loopback server that misbehaves on purpose (tests/faulty_server.py)."""

from __future__ import annotations

import asyncio
import gzip
import socket
import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import brotli
import pytest

from monitor.capture.fetch import USER_AGENT, Fetcher, FetchResult, FetchSettings, decode_html, parse_retry_after
from monitor.errors import FetchError
from tests.faulty_server import FaultyServer, RecordedRequest, Reply

FAST = FetchSettings(retries=2, backoff=0.01, max_retry_after=2.0)
NO_RETRY = FetchSettings(retries=0, backoff=0.01)
POLICY = "<html><body><main><h1>Privacy Policy</h1><p>We share your data with partners.</p></main></body></html>"


@pytest.fixture
def server() -> Iterator[FaultyServer]:
    with FaultyServer() as running:
        yield running


def fetch(url: str, settings: FetchSettings = FAST, **kwargs: object) -> FetchResult:
    async def run() -> FetchResult:
        async with Fetcher(settings) as fetcher:
            return await fetcher.fetch(url, **kwargs)
    return asyncio.run(run())


def fetch_error(url: str, settings: FetchSettings = FAST, **kwargs: object) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch(url, settings, **kwargs)
    assert "\n" not in str(caught.value), "errors must read as one line"
    return caught.value


def fetch_all(urls: list[str], settings: FetchSettings = FAST) -> list[FetchResult]:
    async def run() -> list[FetchResult]:
        async with Fetcher(settings) as fetcher:
            return await asyncio.gather(*(fetcher.fetch(url) for url in urls))
    return asyncio.run(run())


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---- the ordinary page ----

def test_page_is_fetched_with_text_media_type_and_validators(server: FaultyServer) -> None:
    server.page("/privacy", POLICY, etag='"v1"', last_modified="Tue, 01 Oct 2024 10:00:00 GMT")
    result = fetch(server.url("/privacy"))
    assert result.status_code == 200
    assert result.text == POLICY and result.content == POLICY.encode()
    assert result.content_type == "text/html" and result.encoding == "utf-8"
    assert result.etag == '"v1"' and result.last_modified == "Tue, 01 Oct 2024 10:00:00 GMT"
    assert not result.not_modified and result.attempts == 1 and result.elapsed > 0


def test_requests_name_the_project_and_ask_for_the_source_language(server: FaultyServer) -> None:
    server.page("/privacy", POLICY)
    fetch(server.url("/privacy"))
    fetch(server.url("/privacy"), language="de-DE")
    first, second = server.requests_to("/privacy")
    assert first.headers["user-agent"] == USER_AGENT
    assert "policy-monitor" in USER_AGENT and "https://" in USER_AGENT
    assert first.headers["accept-language"] == "en"
    assert second.headers["accept-language"] == "de-DE"
    assert {"gzip", "br"} <= {e.strip() for e in first.headers["accept-encoding"].split(",")}
    assert "if-none-match" not in first.headers and "if-modified-since" not in first.headers


# ---- conditional requests ----

def test_matching_etag_gives_not_modified_without_a_body(server: FaultyServer) -> None:
    server.page("/privacy", POLICY, etag=True)
    first = fetch(server.url("/privacy"))
    again = fetch(server.url("/privacy"), etag=first.etag)
    assert server.requests_to("/privacy")[-1].headers["if-none-match"] == first.etag
    assert again.not_modified and again.status_code == 304
    assert again.content == b"" and again.text == "" and again.etag == first.etag


def test_changed_page_is_fetched_in_full_despite_old_etag(server: FaultyServer) -> None:
    server.page("/privacy", POLICY, etag=True)
    first = fetch(server.url("/privacy"))
    server.page("/privacy", POLICY.replace("share", "never share"), etag=True)
    changed = fetch(server.url("/privacy"), etag=first.etag)
    assert not changed.not_modified and "never share" in changed.text
    assert changed.etag != first.etag


def test_if_modified_since_is_sent_and_304_keeps_the_validator(server: FaultyServer) -> None:
    stamp = "Tue, 01 Oct 2024 10:00:00 GMT"
    server.page("/privacy", POLICY, last_modified=stamp)
    result = fetch(server.url("/privacy"), last_modified=stamp)
    assert server.requests_to("/privacy")[0].headers["if-modified-since"] == stamp
    assert result.not_modified and result.last_modified == stamp


# ---- retries ----

@pytest.mark.parametrize("status, phrase", [(500, "Internal Server Error"), (502, "Bad Gateway"),
                                            (503, "Service Unavailable")])
def test_server_errors_are_retried_then_reported(server: FaultyServer, status: int, phrase: str) -> None:
    server.status("/privacy", status)
    error = fetch_error(server.url("/privacy"))
    assert str(error) == f"HTTP {status} {phrase} after 3 attempts"
    assert error.transient and error.status_code == status
    assert server.count("/privacy") == 3


def test_flaky_server_succeeds_after_failures(server: FaultyServer) -> None:
    server.fail_then("/privacy", 2, POLICY, status=503)
    result = fetch(server.url("/privacy"))
    assert result.text == POLICY and result.attempts == 3
    assert server.count("/privacy") == 3


def test_request_timeout_408_is_retried(server: FaultyServer) -> None:
    server.fail_then("/privacy", 1, POLICY, status=408)
    assert fetch(server.url("/privacy")).attempts == 2


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_client_errors_are_not_retried(server: FaultyServer, status: int) -> None:
    server.status("/privacy", status)
    error = fetch_error(server.url("/privacy"))
    assert str(error).startswith(f"HTTP {status} ")
    assert not error.transient and error.status_code == status
    assert server.count("/privacy") == 1


def test_retries_wait_with_growing_backoff(server: FaultyServer) -> None:
    server.status("/privacy", 503)
    fetch_error(server.url("/privacy"), FetchSettings(retries=2, backoff=0.05))
    first, second, third = server.requests_to("/privacy")
    assert second.started - first.finished >= 0.05
    assert third.started - second.finished >= 0.10


def test_retry_after_seconds_is_honoured(server: FaultyServer) -> None:
    server.fail_then("/privacy", 1, POLICY, status=429, headers={"Retry-After": "0.3"})
    result = fetch(server.url("/privacy"), FetchSettings(retries=2, backoff=0.001))
    first, second = server.requests_to("/privacy")
    assert result.text == POLICY
    assert second.started - first.finished >= 0.3


def test_retry_after_http_date_is_honoured(server: FaultyServer) -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=1), usegmt=True)
    server.fail_then("/privacy", 1, POLICY, status=503, headers={"Retry-After": soon})
    assert fetch(server.url("/privacy")).attempts == 2


def test_retry_after_holds_back_other_requests_to_the_same_host(server: FaultyServer) -> None:
    server.fail_then("/busy", 1, POLICY, status=429, headers={"Retry-After": "0.3"})
    server.page("/other", POLICY)
    fetch_all([server.url("/busy"), server.url("/other")], FetchSettings(retries=1, backoff=0.001))
    refused = server.requests_to("/busy")[0]
    assert refused.started < server.requests_to("/other")[0].started       # /busy got the first turn
    assert server.requests_to("/other")[0].started - refused.finished >= 0.3


def test_unexpected_3xx_is_an_error(server: FaultyServer) -> None:
    server.status("/privacy", 300, "choose")
    error = fetch_error(server.url("/privacy"))
    assert str(error) == "unexpected HTTP 300 Multiple Choices" and error.status_code == 300


def test_retry_after_beyond_the_cap_gives_up_at_once(server: FaultyServer) -> None:
    server.retry_after("/privacy", 3600)
    error = fetch_error(server.url("/privacy"), FetchSettings(retries=5, backoff=0.01, max_retry_after=2))
    assert str(error) == ("HTTP 429 Too Many Requests: server asks to retry after 3600s, "
                          "more than the 2s we wait")
    assert error.transient and error.status_code == 429
    assert server.count("/privacy") == 1


def test_retry_after_values_are_parsed_as_seconds_or_dates() -> None:
    now = datetime(2024, 10, 1, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now=now) == 120
    assert parse_retry_after("Tue, 01 Oct 2024 10:01:30 GMT", now=now) == 90
    assert parse_retry_after("Tue, 01 Oct 2024 09:00:00 GMT", now=now) == 0  # in the past: no wait
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None and parse_retry_after("") is None


# ---- broken transports ----

def test_hanging_server_times_out(server: FaultyServer) -> None:
    server.hang("/privacy")
    error = fetch_error(server.url("/privacy"), NO_RETRY, timeout=0.3)
    assert str(error) == f"timed out after 0.3s waiting for 127.0.0.1:{server.port}"
    assert error.transient


def test_body_that_stops_arriving_times_out_and_is_retried(server: FaultyServer) -> None:
    server.hang("/privacy", after_headers=True)
    error = fetch_error(server.url("/privacy"), FetchSettings(retries=1, backoff=0.01), timeout=0.2)
    assert str(error).startswith("timed out after 0.2s") and str(error).endswith("after 2 attempts")
    assert server.count("/privacy") == 2


def test_endless_trickle_is_cut_by_the_attempt_deadline(server: FaultyServer) -> None:
    server.drip("/privacy", POLICY, interval=0.05)       # ~5 s in all, never 0.2 s silent
    settings = FetchSettings(retries=0, attempt_deadline_factor=3)
    error = fetch_error(server.url("/privacy"), settings, timeout=0.2)
    assert str(error) == f"download from 127.0.0.1:{server.port} took longer than 0.6s"
    assert error.transient


def test_connection_reset_mid_body_is_a_transient_error(server: FaultyServer) -> None:
    server.reset_mid_body("/privacy", POLICY * 200)
    error = fetch_error(server.url("/privacy"))
    assert str(error) == f"connection reset by 127.0.0.1:{server.port} after 3 attempts"
    assert error.transient and server.count("/privacy") == 3


def test_body_shorter_than_content_length_is_an_error_not_a_result(server: FaultyServer) -> None:
    server.truncated("/privacy", POLICY, claimed_length=len(POLICY) + 500)
    error = fetch_error(server.url("/privacy"), NO_RETRY)
    assert "truncated" in str(error)
    assert f"received {len(POLICY)} of {len(POLICY) + 500} bytes" in str(error)
    assert error.transient


def test_refused_connection_names_the_address() -> None:
    port = closed_port()
    error = fetch_error(f"http://127.0.0.1:{port}/privacy", FetchSettings(retries=1, backoff=0.01))
    assert str(error) == f"connection refused (127.0.0.1:{port}) after 2 attempts"
    assert error.transient and error.status_code is None


def test_unresolvable_host_is_a_transient_error_naming_it() -> None:
    error = fetch_error("http://policy-monitor-test.invalid/privacy", NO_RETRY, timeout=3)
    assert "policy-monitor-test.invalid:80" in str(error)   # "cannot resolve host name (...)" when DNS answers
    assert error.transient and error.status_code is None


@pytest.mark.parametrize("url", ["ftp://example.com/privacy", "not a url", "http:///nohost"])
def test_non_http_urls_are_refused_without_a_request(url: str) -> None:
    error = fetch_error(url)
    assert not error.transient


# ---- size cap and compression ----

@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate"])
def test_compression_bomb_is_stopped_by_the_size_cap_in_bounded_memory(server: FaultyServer, encoding: str) -> None:
    server.gzip_bomb("/privacy", expanded_bytes=50_000_000, encoding=encoding)
    tracemalloc.start()
    try:
        error = fetch_error(server.url("/privacy"), max_bytes=1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(error) == "response larger than 1 MB (max_bytes)"
    assert not error.transient and server.count("/privacy") == 1
    assert peak < 10_000_000, f"decompression used {peak} bytes: the bomb was expanded, not streamed"


def test_oversized_stream_is_an_error_never_a_truncated_page(server: FaultyServer) -> None:
    server.oversized("/privacy", 5_000_000)
    error = fetch_error(server.url("/privacy"), max_bytes=1_000_000)
    assert str(error) == "response larger than 1 MB (max_bytes)" and not error.transient


def test_declared_oversized_length_is_refused_before_download(server: FaultyServer) -> None:
    server.oversized("/privacy", 5_000_000, declare_length=True)
    assert str(fetch_error(server.url("/privacy"), max_bytes=1_000_000)) == "response larger than 1 MB (max_bytes)"


def test_body_exactly_at_the_cap_is_accepted(server: FaultyServer) -> None:
    server.page("/privacy", "x" * 1000, content_type="text/plain")
    assert len(fetch(server.url("/privacy"), max_bytes=1000).content) == 1000
    assert str(fetch_error(server.url("/privacy"), max_bytes=999)) == "response larger than 999 bytes (max_bytes)"


@pytest.mark.parametrize("encoding, compress", [
    ("gzip", gzip.compress),
    ("br", brotli.compress),
    ("deflate", zlib.compress),                                     # zlib-wrapped, as the RFC says
    ("deflate", lambda data: zlib.compress(data, wbits=-15)),       # raw deflate, as some servers send
])
def test_compressed_pages_are_decoded(server: FaultyServer, encoding: str, compress) -> None:
    body = POLICY * 50
    server.page("/privacy", compress(body.encode()), headers={"Content-Encoding": encoding})
    result = fetch(server.url("/privacy"))
    assert result.text == body and result.content == body.encode()


def test_a_body_encoded_over_and_over_is_refused_and_two_layers_are_read(server: FaultyServer) -> None:
    body = (POLICY * 20).encode()
    nested = body
    for _ in range(1500):  # each layer one more decoder: the chain had recursed until RecursionError
        nested = zlib.compress(nested)
    server.page("/privacy", nested, headers={"Content-Encoding": ", ".join(["deflate"] * 1500)})
    error = fetch_error(server.url("/privacy"))
    assert str(error) == ("the response body is encoded 1,500 times over (Content-Encoding: deflate, deflate, "
                          "deflate, deflate, …): more than 3 layers are not read") and not error.transient
    server.page("/twice", gzip.compress(brotli.compress(body)), headers={"Content-Encoding": "br, gzip"})
    assert fetch(server.url("/twice")).content == body


def test_compressed_size_cap_counts_decoded_bytes(server: FaultyServer) -> None:
    body = POLICY * 100
    server.page("/privacy", brotli.compress(body.encode()), headers={"Content-Encoding": "br"})
    assert "larger than" in str(fetch_error(server.url("/privacy"), max_bytes=len(body) - 1))


def test_corrupt_compressed_body_is_an_error(server: FaultyServer) -> None:
    server.page("/privacy", b"this is not gzip at all", headers={"Content-Encoding": "gzip"})
    error = fetch_error(server.url("/privacy"))
    assert str(error).startswith("cannot decode the gzip response body")


# ---- redirects ----

def test_redirects_are_followed_to_the_final_url(server: FaultyServer) -> None:
    server.redirect("/old", "/legal/privacy", status=301)
    server.redirect("/legal/privacy", server.url("/privacy?lang=en"), status=307)
    server.page("/privacy", POLICY)
    result = fetch(server.url("/old"))
    assert result.text == POLICY and result.final_url == server.url("/privacy?lang=en")
    assert result.redirects == (server.url("/old"), server.url("/legal/privacy"))
    assert server.requests_to("/privacy")[0].headers["accept-language"] == "en"


def test_redirect_loop_is_an_error(server: FaultyServer) -> None:
    server.redirect_loop("/a", "/b")
    error = fetch_error(server.url("/a"))
    assert str(error) == f"redirect loop at {server.url('/a')}"
    assert not error.transient


def test_more_than_ten_redirects_is_an_error_ten_are_fine(server: FaultyServer) -> None:
    for hop in range(12):
        server.redirect(f"/{hop}", f"/{hop + 1}")
    server.page("/12", POLICY)
    assert fetch(server.url("/2")).text == POLICY                   # exactly 10 redirects
    error = fetch_error(server.url("/0"))                           # 12 redirects
    assert str(error) == f"more than 10 redirects from {server.url('/0')}"


def test_cookie_set_by_a_redirect_to_itself_is_sent_back(server: FaultyServer) -> None:
    def consent_wall(request: RecordedRequest) -> Reply:
        if "consent=yes" in request.headers.get("cookie", ""):
            return Reply(200, POLICY, {"Content-Type": "text/html"})
        return Reply(302, "", {"Location": "/privacy", "Set-Cookie": "consent=yes; Path=/"})
    server.handler("/privacy", consent_wall)
    assert fetch(server.url("/privacy")).text == POLICY
    # cookies live only within one fetch: the next check starts clean, as the first did
    fetch(server.url("/privacy"))
    assert ["cookie" in r.headers for r in server.requests_to("/privacy")] == [False, True, False, True]


# ---- charset ----

def test_charset_from_the_content_type_header_wins(server: FaultyServer) -> None:
    body = '<meta charset="utf-8"><p>Données « personnelles » – 13 ans</p>'
    server.page("/privacy", body.encode("cp1252"), content_type="text/html; charset=windows-1252")
    result = fetch(server.url("/privacy"))
    assert result.text == body and result.encoding == "cp1252"


def test_latin1_label_is_read_as_windows_1252_like_browsers_do(server: FaultyServer) -> None:
    body = "<p>We don\u2019t sell your data \u2014 ever.</p>"
    server.page("/privacy", body.encode("cp1252"), content_type="text/html; charset=ISO-8859-1")
    assert fetch(server.url("/privacy")).text == body


@pytest.mark.parametrize("declaration", ['<meta charset="iso-8859-15">',
                                         '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-15">'])
def test_charset_from_meta_when_the_header_is_silent(server: FaultyServer, declaration: str) -> None:
    body = f"<html><head>{declaration}</head><body><p>Prix : 10 € - données œuvre</p></body></html>"
    server.page("/privacy", body.encode("iso-8859-15"), content_type="text/html")
    result = fetch(server.url("/privacy"))
    assert result.text == body and result.encoding == "iso8859-15"


def test_charset_is_detected_when_nothing_declares_it(server: FaultyServer) -> None:
    body = ("<html><body><h1>Политика конфиденциальности</h1><p>Мы передаём ваши персональные данные "
            "партнёрам только с вашего согласия. Данные хранятся не дольше трёх лет.</p></body></html>") * 3
    server.page("/privacy", body.encode("cp1251"), content_type="text/html")
    result = fetch(server.url("/privacy"))
    assert result.text == body and result.encoding == "cp1251"


def test_invalid_bytes_are_replaced_not_refused(server: FaultyServer) -> None:
    body = b"<p>We keep data for 30 days\xff\xfe and then delete it.</p>"
    server.page("/privacy", body, content_type="text/html; charset=utf-8")
    result = fetch(server.url("/privacy"))
    assert result.text == "<p>We keep data for 30 days\ufffd\ufffd and then delete it.</p>"


def test_policy_with_broken_bytes_throughout_is_still_readable(server: FaultyServer) -> None:
    sentences = [f"We keep log data for {n} days. " for n in range(1, 31)]
    server.invalid_bytes("/privacy", "<p>" + "".join(sentences) + "</p>", every=2)
    result = fetch(server.url("/privacy"))
    assert result.text.count("\ufffd") == 2 * 15
    assert result.text.replace("\ufffd", "") == "<p>" + "".join(sentences) + "</p>"


def test_fetcher_can_be_entered_again_in_another_event_loop(server: FaultyServer) -> None:
    server.page("/privacy", POLICY)
    fetcher = Fetcher(FetchSettings(per_host_delay=0.01))

    async def twice() -> list[FetchResult]:
        async with fetcher:
            return await asyncio.gather(fetcher.fetch(server.url("/privacy")), fetcher.fetch(server.url("/privacy")))
    assert [r.text for r in asyncio.run(twice()) + asyncio.run(twice())] == [POLICY] * 4


def test_unknown_charset_label_falls_back_to_the_next_clue() -> None:
    text, encoding = decode_html('<meta charset="utf-8"><p>café</p>'.encode(), "text/html; charset=bogus-99")
    assert text == '<meta charset="utf-8"><p>café</p>' and encoding == "utf-8"


# ---- politeness and concurrency ----

def test_same_host_is_never_fetched_twice_at_once_and_requests_are_spaced(server: FaultyServer) -> None:
    for n in range(4):
        server.slow(f"/p{n}", POLICY, 0.05)
    delay = 0.1
    fetch_all([server.url(f"/p{n}") for n in range(4)], FetchSettings(backoff=0.01, per_host_delay=delay))
    requests = sorted(server.requests, key=lambda r: r.started)
    assert len(requests) == 4
    for earlier, later in zip(requests, requests[1:], strict=False):
        assert later.started - earlier.finished >= delay - 0.005   # asyncio may wake a hair early


def test_different_hosts_are_fetched_concurrently() -> None:
    try:
        other_host = FaultyServer(host="127.0.0.2")
    except OSError:
        pytest.skip("this system routes only 127.0.0.1 to loopback (macOS); the port test covers it")
    with FaultyServer() as first, other_host.start() as second:
        first.slow("/privacy", POLICY, 0.5)
        second.slow("/privacy", POLICY, 0.5)
        fetch_all([first.url("/privacy"), second.url("/privacy")], FetchSettings(per_host_delay=5))
        a, b = first.requests[0], second.requests[0]
    assert a.started < b.finished and b.started < a.finished, "the two hosts were fetched one after the other"


def test_same_host_on_another_port_is_another_host(server: FaultyServer) -> None:
    with FaultyServer() as other:
        server.slow("/privacy", POLICY, 0.5)
        other.slow("/privacy", POLICY, 0.5)
        fetch_all([server.url("/privacy"), other.url("/privacy")])
        a, b = server.requests[0], other.requests[0]
    assert a.started < b.finished and b.started < a.finished


def test_many_concurrent_fetches_mixing_failures_all_resolve(server: FaultyServer) -> None:
    server.page("/ok", POLICY)
    server.status("/gone", 410)

    async def run() -> list[FetchResult | BaseException]:
        async with Fetcher(FAST) as fetcher:
            urls = [server.url("/ok" if n % 2 else "/gone") for n in range(20)]
            return await asyncio.gather(*(fetcher.fetch(url) for url in urls), return_exceptions=True)
    outcomes = asyncio.run(run())
    assert sum(isinstance(o, FetchResult) for o in outcomes) == 10
    assert sum(isinstance(o, FetchError) and o.status_code == 410 for o in outcomes) == 10


# ---- connections ----


def test_each_host_keeps_its_connection_alive_across_fetches() -> None:
    """Hosts are spread over several connection pools; a host's fetches still reuse one connection."""
    import http.server
    import threading

    connections: list[tuple[str, int]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            connections.append(self.server.server_address[:2])
            super().setup()

        def do_GET(self) -> None:  # noqa: N802 — the standard library's name
            body = POLICY.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    servers = [http.server.ThreadingHTTPServer((f"127.0.0.{n}", 0), Handler) for n in (1, 2, 3)]
    for running in servers:
        threading.Thread(target=running.serve_forever, daemon=True).start()
    try:
        urls = [f"http://127.0.0.{n}:{s.server_address[1]}/p" for n, s in zip((1, 2, 3), servers, strict=True)]

        async def run() -> list[FetchResult]:
            async with Fetcher(FAST) as fetcher:
                return [await fetcher.fetch(url) for _ in range(4) for url in urls]

        results = asyncio.run(run())
    finally:
        for running in servers:
            running.shutdown()
            running.server_close()
    assert [r.status_code for r in results] == [200] * 12
    assert sorted(connections) == sorted(s.server_address[:2] for s in servers)  # one connection per host


def test_https_certificates_are_verified_even_after_a_plain_http_hop(tmp_path) -> None:
    """Plain-HTTP pools skip TLS set-up; an https hop (here reached by a redirect) still verifies."""
    import http.server
    import ssl
    import subprocess
    import threading

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)

    class Secure(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.end_headers()
            self.wfile.write(POLICY.encode())

        def log_message(self, *args: object) -> None:
            pass

    secure = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Secure)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    secure.socket = context.wrap_socket(secure.socket, server_side=True)
    https_url = f"https://127.0.0.1:{secure.server_address[1]}/policy"

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(301)
            self.send_header("Location", https_url)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    for running in (secure, plain):
        threading.Thread(target=running.serve_forever, daemon=True).start()
    try:
        direct = fetch_error(https_url, NO_RETRY)
        via_http = fetch_error(f"http://127.0.0.1:{plain.server_address[1]}/old", NO_RETRY)
    finally:
        for running in (secure, plain):
            running.shutdown()
            running.server_close()
    for error in (direct, via_http):
        assert "TLS error with 127.0.0.1:" in str(error) and "certificate" in str(error), str(error)
        assert not error.transient


def test_a_redirect_from_a_public_address_into_a_private_network_is_refused_and_a_private_source_may_redirect(
        server: FaultyServer) -> None:
    """A public page redirecting a check to 127.0.0.1 or a cloud's metadata address (169.254.169.254) would store
    what this network's own services answer as a policy version, for every reader of the feed to see."""
    import asyncio

    from monitor.capture.fetch import inward_redirect

    async def decide(origin: str, host: str) -> str | None:
        return await inward_redirect(origin, host)

    assert asyncio.run(decide("93.184.216.34", "169.254.169.254")) == "a link-local address, 169.254.169.254"
    assert asyncio.run(decide("93.184.216.34", "localhost")).startswith("a loopback address")
    assert asyncio.run(decide("93.184.216.34", "10.1.2.3")) == "a private address, 10.1.2.3"
    assert asyncio.run(decide("93.184.216.34", "93.184.216.35")) is None      # public to public
    assert asyncio.run(decide("93.184.216.34", "64:ff9b::a9fe:a9fe")) == "a link-local address, 169.254.169.254"
    assert asyncio.run(decide("93.184.216.34", "::ffff:127.0.0.1")) == "a loopback address, 127.0.0.1"
    assert asyncio.run(decide("127.0.0.1", "10.1.2.3")) is None               # a private source may go anywhere
    assert asyncio.run(decide("93.184.216.34", "no-such-host.invalid")) is None  # left to the fetch to fail
    # a source on loopback redirecting on loopback (every test server here) is followed
    server.redirect("/old", "/privacy")
    server.page("/privacy", POLICY)
    assert fetch(server.url("/old")).final_url == server.url("/privacy")
