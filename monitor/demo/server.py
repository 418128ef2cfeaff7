"""The demo's web server: serves the sample sites' current pages on 127.0.0.1 from a background thread."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from monitor.demo.scenario import Serving


class SampleSites:
    """`with SampleSites() as sites:` serves `/NAME/privacy` for each page given to `publish()`."""

    def __init__(self) -> None:
        self._pages: dict[str, Serving] = {}
        self._lock = threading.Lock()
        sites = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 — the name http.server calls
                name = self.path.strip("/").split("/")[0]
                with sites._lock:
                    serving = sites._pages.get(name) if self.path == f"/{name}/privacy" else None
                serving = serving or Serving("<h1>Not found</h1>", status=404)
                body = serving.body.encode("utf-8")
                self.send_response(serving.status)
                self.send_header("Content-Type", serving.content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 — the demo prints its own story
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-sites", daemon=True)

    def url(self, name: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{name}/privacy"

    def publish(self, pages: dict[str, Serving]) -> None:
        """From now on, serve these pages (sites not named keep what they served)."""
        with self._lock:
            self._pages.update(pages)

    def __enter__(self) -> SampleSites:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
