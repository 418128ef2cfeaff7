"""One loopback HTTP server for the benchmarks: serves whatever page a function returns for a path."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve_pages(page_for: Callable[[str], bytes], host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Start a threaded server on a free port of `host` answering every GET with `page_for(path)` as
    UTF-8 HTML; it runs in a daemon thread until the process ends (or `.shutdown()`)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = page_for(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
