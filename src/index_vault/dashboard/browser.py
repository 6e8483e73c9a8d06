"""Headless Chromium for the dashboard's test, benchmark and screenshot: the system's `chromium` driven by
Playwright (which cannot download a browser of its own here), and a test EIP-1193 wallet injected into the page.

`open_page` starts Chromium with a fresh profile and the flags that keep it off the network (no background
requests, no component updates, no sync), aborts and records every request to a host other than this machine,
and records console errors and uncaught exceptions (`PageLog`). `InjectedWallet` is `window.ethereum` for a
test: it forwards the page's requests to a node whose account it names is unlocked (anvil's), counts each
`eth_sendTransaction` as one confirmation by the wallet's user, and can refuse the next one as a user would.
"""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import requests

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
VIEWPORT = {"width": 1280, "height": 900}

# window.ethereum for the page: every request goes to the test's Python side (`InjectedWallet.handle`).
PROVIDER_JS = """
(() => {
  const listeners = {};
  window.ethereum = {
    isInjectedWallet: true,
    async request({ method, params }) {
      const answer = await window.__injectedWallet(method, params || []);
      if (answer.error) {
        const error = new Error(answer.error.message);
        error.code = answer.error.code;
        error.data = answer.error.data;
        throw error;
      }
      return answer.result;
    },
    on(event, fn) { (listeners[event] = listeners[event] || []).push(fn); },
    removeListener(event, fn) { listeners[event] = (listeners[event] || []).filter((f) => f !== fn); },
  };
})();
"""


@dataclass
class PageLog:
    """What went wrong in the page: console errors, uncaught exceptions, requests to other hosts."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [*self.console_errors, *self.page_errors, *(f"request to {u}" for u in self.outside_requests)]


@dataclass
class InjectedWallet:
    """An EIP-1193 wallet for tests over the node at `node_uri`, holding the unlocked `account`."""

    node_uri: str
    account: str
    confirmations: int = 0  # eth_sendTransaction requests the user confirmed
    refusals: int = 0  # requests refused as a user would (code 4001)
    refuse_next: bool = False
    sent: list[dict] = field(default_factory=list)

    def handle(self, method: str, params: list) -> dict:
        if method in ("eth_requestAccounts", "eth_accounts"):
            return {"result": [self.account]}
        if method == "eth_sendTransaction":
            if self.refuse_next:
                self.refuse_next = False
                self.refusals += 1
                return {"error": {"code": 4001, "message": "User rejected the request."}}
            tx = {**params[0], "from": self.account}
            self.confirmations += 1
            self.sent.append(tx)
            params = [tx]
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        answer = requests.post(self.node_uri, json=body, timeout=60).json()
        return {"error": answer["error"]} if "error" in answer else {"result": answer.get("result")}


def _is_local(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("data", "about", "blob") or parsed.hostname in LOCAL_HOSTS


@contextmanager
def open_page(wallet: InjectedWallet | None = None) -> Iterator[tuple[Any, PageLog]]:
    """A page in a fresh headless Chromium (see the module doc); the browser is closed on exit."""
    from playwright.sync_api import sync_playwright  # a test dependency: imported only when a browser is wanted

    log = PageLog()
    with tempfile.TemporaryDirectory(prefix="dashboard-chromium-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, viewport=VIEWPORT
        )
        try:

            def route(r) -> None:
                if _is_local(r.request.url):
                    r.continue_()
                else:
                    log.outside_requests.append(r.request.url)
                    r.abort()

            context.route("**/*", route)
            if wallet is not None:
                context.expose_function("__injectedWallet", wallet.handle)
                context.add_init_script(PROVIDER_JS)
            page = context.pages[0] if context.pages else context.new_page()
            page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: log.page_errors.append(str(e)))
            yield page, log
        finally:
            context.close()


def drawn_ms(page: Any, url: str, timeout_ms: float = 120_000) -> float:
    """Loads `url` and returns the milliseconds from the request to the page's `drawn` mark (every section
    drawn from the server's answers)."""
    page.goto(url)
    page.wait_for_selector("body[data-drawn='1']", state="attached", timeout=timeout_ms)
    return page.evaluate("performance.getEntriesByName('drawn')[0].startTime")
