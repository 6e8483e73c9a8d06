"""The dashboard's web server (stdlib only): the page's static files and its JSON API over a `Backend`.

Routes: `/` the page; `/static/*` its script, style and icon (served from this package: the page loads nothing
from elsewhere, and its Content-Security-Policy forbids it); `GET /api/vaults`; `GET /api/vault/ADDR?account=A`
(the view model); `GET /api/vault/ADDR/history?days=N`; `POST /api/vault/ADDR/prepare` (the next unsigned
transactions of a wallet action); `POST /api/vault/ADDR/replay` (why a mined transaction reverted);
`GET /api/stats` (JSON-RPC calls and round trips so far). Requests are served one at a time against the
backend (a lock), each in its own thread.
"""

import json
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

STATIC = Path(__file__).resolve().parent / "static"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}
CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'"
MAX_BODY = 64 * 1024


class Backend(Protocol):
    """What the server asks of the chain (`index_vault.dashboard.chain.backend.ChainBackend`)."""

    def vaults(self) -> list[dict]: ...
    def view(self, vault: str, account: str | None) -> dict: ...
    def history(self, vault: str, days: int) -> dict: ...
    def prepare(self, vault: str, body: dict) -> dict: ...
    def replay(self, vault: str, tx_hash: str) -> dict: ...
    def stats(self) -> dict: ...


class UserError(ValueError):
    """A request the server answers with 400 and this message."""


def _handler(backend: Backend, lock: threading.Lock, errors: Callable[[BaseException], str | None]):
    class Handler(BaseHTTPRequestHandler):
        server_version = "index-vault-dashboard"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the script prints its URL only
            return None

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", CSP)
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, value: Any) -> None:
            self._send(status, json.dumps(value).encode(), "application/json")

        def _api(self, call: Callable[[], Any]) -> None:
            try:
                with lock:
                    value = call()
            except UserError as exc:
                return self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            except Exception as exc:  # a chain error the backend can word, else a bug: 500 with its type
                words = errors(exc)
                status = HTTPStatus.BAD_REQUEST if words else HTTPStatus.INTERNAL_SERVER_ERROR
                return self._json(status, {"error": words or f"{type(exc).__name__}: {exc}"})
            self._json(HTTPStatus.OK, value)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            parts = [p for p in url.path.split("/") if p]
            if not parts:
                return self._static("index.html")
            if parts[0] == "static" and len(parts) == 2:
                return self._static(parts[1])
            if parts == ["api", "vaults"]:
                return self._api(backend.vaults)
            if parts == ["api", "stats"]:
                return self._api(backend.stats)
            if len(parts) == 3 and parts[:2] == ["api", "vault"]:
                return self._api(lambda: backend.view(parts[2], query.get("account") or None))
            if len(parts) == 4 and parts[:2] == ["api", "vault"] and parts[3] == "history":
                days = int(query.get("days", "90")) if query.get("days", "90").isdigit() else 90
                return self._api(lambda: backend.history(parts[2], min(max(days, 1), 365)))
            return self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {url.path}"})

        def do_POST(self) -> None:
            parts = [p for p in urlparse(self.path).path.split("/") if p]
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "request too large"})
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                return self._json(HTTPStatus.BAD_REQUEST, {"error": "the body is not JSON"})
            if len(parts) == 4 and parts[:2] == ["api", "vault"] and parts[3] == "prepare":
                return self._api(lambda: backend.prepare(parts[2], body))
            if len(parts) == 4 and parts[:2] == ["api", "vault"] and parts[3] == "replay":
                return self._api(lambda: backend.replay(parts[2], str(body.get("hash", ""))))
            return self._json(HTTPStatus.NOT_FOUND, {"error": "no such action"})

        def _static(self, name: str) -> None:
            path = STATIC / name
            if "/" in name or name.startswith(".") or not path.is_file() or path.suffix not in TYPES:
                return self._json(HTTPStatus.NOT_FOUND, {"error": f"no such file: {name}"})
            self._send(HTTPStatus.OK, path.read_bytes(), TYPES[path.suffix])

    return Handler


class Dashboard:
    """The server on `host`:`port` (0: a free port), run in a thread by `start` or in the caller by `serve`."""

    def __init__(
        self,
        backend: Backend,
        host: str = "127.0.0.1",
        port: int = 0,
        errors: Callable[[BaseException], str | None] = lambda exc: None,
    ):
        self.httpd = ThreadingHTTPServer((host, port), _handler(backend, threading.Lock(), errors))
        self.httpd.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> "Dashboard":
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="dashboard", daemon=True)
        self.thread.start()
        return self

    def serve(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.thread:
            self.thread.join(timeout=10)
