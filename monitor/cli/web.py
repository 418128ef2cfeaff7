"""CLI command `serve`: the read-only web view of sources, history, changes and alerts."""

from __future__ import annotations

import logging
import socket
from typing import Annotated
from urllib.parse import urlsplit

import typer

from monitor.cli.common import EXIT_SOURCE_FAILED, app, ctx_obj, err, fail

log = logging.getLogger("monitor.web")


def _listen(host: str, port: int) -> socket.socket:
    """Bind before uvicorn starts, so a taken port is one clear line and `--port 0` can say which port it got."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", EXIT_SOURCE_FAILED)
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; anything but loopback needs "
                                      "`web: {token_env: VAR}` in the config.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0: any free one).")] = 8080,
) -> None:
    """Serve the read-only web view: sources, history, changes, alerts, JSON API and Atom feed."""
    import uvicorn

    from monitor.web.access import is_loopback
    from monitor.web.app import create_app

    obj = ctx_obj(ctx)
    config = obj.config()
    token = config.web.token()
    if not is_loopback(host) and token is None:
        why = (f"the environment variable {config.web.token_env} is empty or unset" if config.web.token_env
               else "set `web: {token_env: VAR}` in the config and the token in VAR")
        fail(f"refusing to serve on {host} without an access token: {why} (or serve on 127.0.0.1 behind a proxy)")
    if token is None and config.web.token_env:
        log.warning(f"web: {config.web.token_env} is not set; serving on loopback without a token")
    store = obj.store(read_only=True)
    application = create_app(config, store, token=token)
    sock = _listen(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    err.print(f"serving http://{shown}:{bound_port}/ (read-only{', token required' if token else ''}; "
              f"Ctrl-C stops)", highlight=False, markup=False, soft_wrap=True)
    server = uvicorn.Server(uvicorn.Config(
        application, log_config=None, access_log=False,  # access lines would carry ?token= into the logs
        root_path=urlsplit(config.web.base_url).path.rstrip("/") if config.web.base_url else "",
        proxy_headers=True, server_header=False, lifespan="off",
    ))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        store.dispose()
