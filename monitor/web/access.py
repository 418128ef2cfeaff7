"""What every request passes before a page: read-only methods, the access token, the Host check, and the
security headers (a strict Content-Security-Policy) on every answer. Plain ASGI middleware."""

from __future__ import annotations

import hashlib
import hmac
import json
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "policy_monitor_session"
READ_METHODS = ("GET", "HEAD")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]


def is_loopback(host: str) -> bool:
    """Whether `--host` binds to this machine only."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _hostname(host_header: str) -> str:
    """'127.0.0.1:8080' → '127.0.0.1', '[::1]:8080' → '::1'."""
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.split(":", 1)[0]


def cookie_value(token: str) -> str:
    """What the session cookie holds: derived from the token, so the cookie never carries it."""
    return hmac.new(token.encode(), b"policy-monitor web session", hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape"))


class Guard:
    """Wraps the application: only GET and HEAD (405 otherwise: there is nothing to write); with a
    token, every request shows it as `Authorization: Bearer`, as the session cookie, or once as
    `?token=` (answered by a redirect that sets the HttpOnly, SameSite=Strict cookie and drops the token
    from the address); without one (loopback only), a Host that is not loopback is refused, so a page
    elsewhere cannot reach the server by DNS rebinding. Every answer carries the security headers."""

    def __init__(self, app: ASGIApp, *, token: str | None):
        self.app = app
        self.token = token
        self.cookie = cookie_value(token) if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.app(scope, receive, send)
            return  # no websockets here

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in SECURITY_HEADERS if h[0] not in names)]
            await send(message)

        root = scope.get("root_path", "")
        path = scope["path"][len(root):] if root and scope["path"].startswith(root) else scope["path"]
        if scope["method"] not in READ_METHODS:
            return await _answer(send_secured, scope, 405, "this web view is read-only: only GET and HEAD",
                                 [(b"allow", b"GET, HEAD")])
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self.token is None:
            if not is_loopback(_hostname(headers.get("host", ""))):
                return await _answer(send_secured, scope, 421, "this server answers only on loopback addresses "
                                     "(set `web: {token_env: …}` to serve others)")
            return await self.app(scope, receive, send_secured)
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = [v for k, v in query if k == "token"]
        if given:
            if not _same(given[-1], self.token):
                return await _answer(send_secured, scope, 401, "wrong access token")
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            location = root + path + (f"?{rest}" if rest else "")
            secure = "; Secure" if scope.get("scheme") == "https" else ""
            cookie = f"{COOKIE}={self.cookie}; Path=/; HttpOnly; SameSite=Strict{secure}"
            return await _answer(send_secured, scope, 303, "signed in", [
                (b"location", location.encode("latin-1", "replace")), (b"set-cookie", cookie.encode()),
                (b"cache-control", b"no-store")])
        authorization = headers.get("authorization", "")
        if authorization[:7].lower() == "bearer " and _same(authorization[7:].strip(), self.token):
            return await self.app(scope, receive, send_secured)
        jar = SimpleCookie()
        try:
            jar.load(headers.get("cookie", ""))
        except Exception:  # a malformed Cookie header is no session
            jar = SimpleCookie()
        if COOKIE in jar and _same(jar[COOKIE].value, self.cookie):
            return await self.app(scope, receive, send_secured)
        return await _answer(send_secured, scope, 401, "this policy-monitor needs its access token: open the link "
                             "you were given (it ends in ?token=…), or send `Authorization: Bearer TOKEN`",
                             [(b"www-authenticate", b'Bearer realm="policy-monitor"')])


async def _answer(send: Send, scope: Scope, status: int, message: str,
                  headers: list[tuple[bytes, bytes]] = ()) -> None:
    """A short answer in the form the client asked for: JSON under /api/, else a small HTML page."""
    if "/api/" in scope["path"]:
        body, kind = json.dumps({"error": message}).encode(), b"application/json"
    else:
        from html import escape

        body = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{status}</title></head>'
                f"<body><h1>{status}</h1><p>{escape(message)}</p></body></html>").encode()
        kind = b"text/html; charset=utf-8"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
