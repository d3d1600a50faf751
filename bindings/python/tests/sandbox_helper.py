"""A fresh `pesakit-sandbox` process per test, and a small client for its control API."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

DEFAULT_CLIENT_ID = "demo-client-id"
DEFAULT_CLIENT_SECRET = "demo-client-secret"
WEBHOOK_SECRET = "demo-webhook-secret"
AUTHORIZE_PATH = "/paypack/api/auth/agents/authorize"

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

    # -- raw HTTP -----------------------------------------------------------------

    def http(
        self, method: str, path: str, body: Any = None, headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[int, Any]:
        """Sends one request to the emulator; returns ``(status, decoded JSON or text)``."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
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
