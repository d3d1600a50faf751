"""A fresh `pesakit-sandbox` process per test, and a small client for its control API."""

from __future__ import annotations

import http.server
import json
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

DEFAULT_CLIENT_ID = "demo-client-id"
DEFAULT_CLIENT_SECRET = "demo-client-secret"
WEBHOOK_SECRET = "demo-webhook-secret"
AUTHORIZE_PATH = "/paypack/api/auth/agents/authorize"

# The hosted-checkout gateway's defaults (tests/sandbox/README.md, "Hosted checkout").
CHECKOUT_TOKEN = "demo-checkout-token"  # every scope
CHECKOUT_LIMITED_TOKEN = "demo-limited-token"  # only payments.get
CHECKOUT_CLIENT_ID = "demo0checkout0client0id000000001"
CHECKOUT_WEBHOOK_SECRET = "demo-checkout-webhook-secret"
CHECKOUT_APPLICATION_ID = "1"
CHECKOUT_APPLICATION_NAME = "Demo shop"
OAUTH_CLIENT_ID = "demo-oauth-client"
OAUTH_CLIENT_SECRET = "demo-oauth-secret"
OAUTH_USERNAME = "demo@pesakit.dev"
OAUTH_PASSWORD = "demo-password"
OAUTH_TOKEN_PATH = "/checkout/oauth/token"

PAGA_CLIENT_ID = "demo-paga-client"
PAGA_CLIENT_SECRET = "demo-paga-secret"
PAGA_REDIRECT_URI = "https://shop.example/paga/callback"
PAGA_TOKEN_PATH = "/paga/paga-webservices/oauth2/token"
PAGA_SCOPES = ["MERCHANT_PAYMENT", "MONEY_TRANSFER", "USER_DETAILS_REQUEST"]
PAGA_DENYING_USER = "denying-paga-user"
PAGA_RECIPIENT_PHONE = "08030000002"

_T = TypeVar("_T")


def repo_root() -> Path:
    """The repository root: ``PESAKIT_REPO``, else found from this file's location."""
    env = os.environ.get("PESAKIT_REPO")
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parents[3]


def sandbox_binary() -> str:
    """The emulator binary: ``PESAKIT_SANDBOX_BIN``, else the workspace's debug build."""
    env = os.environ.get("PESAKIT_SANDBOX_BIN")
    if env:
        return env
    target = Path(os.environ.get("CARGO_TARGET_DIR") or repo_root() / "target")
    candidate = target / "debug" / "pesakit-sandbox"
    if not candidate.exists():
        raise RuntimeError(
            "set PESAKIT_SANDBOX_BIN to the pesakit-sandbox binary "
            "(cargo build -p pesakit-sandbox), or run scripts/test-python"
        )
    return str(candidate)


def python_prints(code: str, **environment: str) -> str:
    """What ``code`` prints (surrounding whitespace stripped) when run by a fresh
    interpreter of this virtual environment, with ``environment`` added to its own."""
    return subprocess.run(
        [sys.executable, "-c", code], env=dict(os.environ, **environment), check=True,
        capture_output=True, text=True,
    ).stdout.strip()


def wait_until(
    condition: Callable[[], Optional[_T]], timeout: float = 10.0, interval: float = 0.02,
    what: str = "condition",
) -> _T:
    """Polls ``condition`` until it returns something truthy; fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class ControlError(AssertionError):
    """A control API call answered an error status."""


class Sandbox:
    """One emulator process, listening on a free loopback port."""

    def __init__(self, *extra_args: str, settle_after_ms: int = 0) -> None:
        args = [
            sandbox_binary(), "--port", "0", "--settle-after-ms", str(settle_after_ms), *extra_args,
        ]
        self._process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
        )
        lines: "queue.Queue[Optional[str]]" = queue.Queue()

        def drain() -> None:
            assert self._process.stdout is not None
            for line in self._process.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=drain, name="sandbox-stdout", daemon=True).start()
        try:
            first = lines.get(timeout=30)
        except queue.Empty:
            self.close()
            raise RuntimeError("pesakit-sandbox printed nothing within 30 s") from None
        prefix = "pesakit-sandbox listening on "
        if not first or not first.startswith(prefix):
            self.close()
            raise RuntimeError(f"unexpected first line from pesakit-sandbox: {first!r}")
        #: ``http://127.0.0.1:PORT``
        self.url: str = first[len(prefix):].strip()
        #: The Paypack base URL, ``http://127.0.0.1:PORT/paypack/api``.
        self.paypack_url: str = self.url + "/paypack/api"
        #: The hosted-checkout base URL, ``http://127.0.0.1:PORT/checkout``.
        self.checkout_url: str = self.url + "/checkout"
        #: The Paga Connect base URL, ``http://127.0.0.1:PORT/paga``.
        self.paga_url: str = self.url + "/paga"

    def close(self) -> None:
        """Stops the process (SIGTERM, then SIGKILL)."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        if self._process.stdout is not None:
            self._process.stdout.close()

    def paypack_environment(self, **extra: str) -> Dict[str, str]:
        """This process's environment plus what ``PaypackClient.from_env()`` reads to
        reach this emulator with its default account, and ``extra``: for a program run
        in a fresh interpreter."""
        return dict(
            os.environ,
            PAYPACK_CLIENT_ID=DEFAULT_CLIENT_ID,
            PAYPACK_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
            PAYPACK_BASE_URL=self.paypack_url,
            PAYPACK_ALLOW_INSECURE_LOOPBACK="1",
            **extra,
        )

    # -- raw HTTP -----------------------------------------------------------------

    def http(
        self, method: str, path: str, body: Any = None, headers: Optional[Dict[str, str]] = None,
        form: Optional[Dict[str, str]] = None,
    ) -> Tuple[int, Any]:
        """Sends one request to the emulator; returns ``(status, decoded JSON or text)``.

        ``body`` is sent as JSON, ``form`` as ``application/x-www-form-urlencoded``."""
        if form is not None:
            data: Optional[bytes] = urllib.parse.urlencode(form).encode()
            content_type = "application/x-www-form-urlencoded"
        else:
            data = None if body is None else json.dumps(body).encode()
            content_type = "application/json"
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, raw = answer.status, answer.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        text = raw.decode("utf-8", "replace")
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """A control API call (``/_sandbox…``); raises ``ControlError`` unless 2xx."""
        status, answer = self.http(method, path, body)
        if not 200 <= status < 300:
            raise ControlError(f"{method} {path} answered {status}: {answer!r}")
        return answer

    # -- control API ----------------------------------------------------------------

    def requests(self) -> List[Dict[str, Any]]:
        """The request log, oldest first."""
        return self.control("GET", "/_sandbox/requests")  # type: ignore[no-any-return]

    def clear_requests(self) -> None:
        """Clears the request log."""
        self.control("DELETE", "/_sandbox/requests")

    def count(self, method: str, path: str) -> int:
        """How many logged requests have this method and a path starting with ``path``."""
        return len(
            [r for r in self.requests() if r["method"].upper() == method.upper() and r["path"].startswith(path)]
        )

    def authorize_count(self) -> int:
        """How many ``POST /paypack/api/auth/agents/authorize`` were logged."""
        return self.count("POST", AUTHORIZE_PATH)

    def settle(self, reference: str, status: Optional[str] = None) -> Any:
        """Settles a pending transaction (``successful`` / ``failed``)."""
        body = {} if status is None else {"status": status}
        return self.control("POST", f"/_sandbox/paypack/transactions/{reference}/settle", body)

    def fault(self, **fault: Any) -> Any:
        """Adds a fault (see the emulator README)."""
        return self.control("POST", "/_sandbox/faults", fault)

    def clear_faults(self) -> None:
        """Removes pending faults."""
        self.control("DELETE", "/_sandbox/faults")

    def ledger(self) -> Dict[str, Any]:
        """Merchants and transactions as the emulator holds them."""
        return self.control("GET", "/_sandbox/paypack/ledger")  # type: ignore[no-any-return]

    def config(self, **config: Any) -> Any:
        """Changes the Paypack configuration."""
        return self.control("POST", "/_sandbox/paypack/config", config)

    def expire_tokens(self, which: str = "access") -> Any:
        """Makes issued tokens answer 401 "token expired"."""
        return self.control("POST", "/_sandbox/paypack/tokens/expire", {"which": which})

    def revoke_tokens(self, which: str = "access") -> Any:
        """Makes issued tokens answer 401 "token revoked"."""
        return self.control("POST", "/_sandbox/paypack/tokens/revoke", {"which": which})

    def raw_authorize(
        self, client_id: str = DEFAULT_CLIENT_ID, client_secret: str = DEFAULT_CLIENT_SECRET
    ) -> Dict[str, Any]:
        """Authorizes with raw HTTP; returns ``{"access", "refresh", "expires"}``."""
        status, answer = self.http(
            "POST", AUTHORIZE_PATH, {"client_id": client_id, "client_secret": client_secret}
        )
        if status != 200:
            raise ControlError(f"authorize answered {status}: {answer!r}")
        return answer  # type: ignore[no-any-return]

    # -- Paga Connect -----------------------------------------------------------------

    def paga_expire_tokens(self, which: str = "access") -> Any:
        """Makes issued Paga tokens of that type answer as expired."""
        return self.control("POST", "/_sandbox/paga/tokens/expire", {"which": which})

    def paga_ledger(self) -> Dict[str, Any]:
        """The Paga merchant, users, payments and transfers."""
        return self.control("GET", "/_sandbox/paga/ledger")  # type: ignore[no-any-return]

    def paga_redirect(self, url: str, sandbox_user: Optional[str] = None) -> str:
        """The browser step of Paga Connect: GETs the authorization ``url`` (with
        ``&sandbox_user=`` when given) without following redirects; returns ``Location``."""
        if sandbox_user is not None:
            url += "&" + urllib.parse.urlencode({"sandbox_user": sandbox_user})

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(url, timeout=30) as answer:
                status, headers = answer.status, answer.headers
        except urllib.error.HTTPError as e:
            status, headers = e.code, e.headers
        location = headers.get("Location")
        if status != 302 or not location:
            raise ControlError(f"GET {url} answered {status} without a redirect")
        return location  # type: ignore[no-any-return]

    # -- hosted checkout --------------------------------------------------------------

    def oauth_sign_in(
        self, username: str = OAUTH_USERNAME, password: str = OAUTH_PASSWORD,
        client_id: str = OAUTH_CLIENT_ID, client_secret: str = OAUTH_CLIENT_SECRET,
    ) -> Dict[str, Any]:
        """Signs in to the checkout dashboard with raw HTTP (OAuth2 password grant);
        returns ``{"access_token", "refresh_token", "expires_in", "token_type"}``."""
        status, answer = self.http("POST", OAUTH_TOKEN_PATH, form={
            "grant_type": "password", "username": username, "password": password,
            "client_id": client_id, "client_secret": client_secret,
        })
        if status != 200:
            raise ControlError(f"OAuth sign-in answered {status}: {answer!r}")
        return answer  # type: ignore[no-any-return]

    def payment_status(self, payment_id: str, status: str, received_minor: Optional[int] = None) -> Any:
        """Moves a checkout payment to ``status`` (and sends its webhook)."""
        body: Dict[str, Any] = {"status": status}
        if received_minor is not None:
            body["received_minor"] = received_minor
        return self.control("POST", f"/_sandbox/checkout/payments/{payment_id}/status", body)

    def checkout_config(self, **config: Any) -> Any:
        """Changes the hosted-checkout configuration."""
        return self.control("POST", "/_sandbox/checkout/config", config)

    def checkout_ledger(self) -> Dict[str, Any]:
        """Checkout payments and applications as the emulator holds them."""
        return self.control("GET", "/_sandbox/checkout/ledger")  # type: ignore[no-any-return]

    def oauth_expire(self, which: Optional[str] = None) -> Any:
        """Makes the OAuth2 tokens issued so far answer as expired."""
        return self.control("POST", "/_sandbox/checkout/oauth/expire", {} if which is None else {"which": which})

    def checkout_deliveries(self) -> List[Dict[str, Any]]:
        """The checkout webhook deliveries, oldest first."""
        return self.control("GET", "/_sandbox/checkout/webhooks/deliveries")  # type: ignore[no-any-return]


class WebhookReceiver:
    """A local HTTP endpoint (``http.server`` in a thread) that records every POST —
    raw body and headers (names lowercased) — and answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: List[Tuple[bytes, Dict[str, str]]] = []
        lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with lock:
                    receiver.received.append((body, {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"
        self._thread = threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
