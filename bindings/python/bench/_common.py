"""What the Python benchmark programs share: the emulator's defaults, a few control-API
calls over plain HTTP, percentiles and the JSON-lines output of the benchmark contract.

Everything here talks to the emulator with the standard library only (``http.client``),
so preparing a run never goes through the client under test.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import sys
import time
import urllib.parse
from typing import Any, Dict, List, Optional, Sequence, Tuple

#: The emulator's default Paypack application (tests/sandbox/README.md).
CLIENT_ID = "demo-client-id"
CLIENT_SECRET = "demo-client-secret"
#: The emulator's default webhook secret.
WEBHOOK_SECRET = "demo-webhook-secret"
#: What every ``cashin`` of the benchmarks asks for.
CASHIN_AMOUNT = 100
CASHIN_NUMBER = "0788123456"


def paypack_url(base_url: str) -> str:
    """Paypack's API base under the emulator's base URL."""
    return base_url.rstrip("/") + "/paypack/api"


class Http:
    """One keep-alive ``http.client`` connection to the emulator, for preparing runs."""

    def __init__(self, base_url: str) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme != "http" or not parsed.hostname:
            raise SystemExit(f"--base-url must be http://HOST:PORT, not {base_url!r}")
        self.host = parsed.hostname
        self.port = parsed.port or 80
        self.prefix = parsed.path.rstrip("/")
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def request(
        self,
        method: str,
        path: str,
        body: Optional[Any] = None,
        headers: Optional[Dict[str, str]] = None,
    ) -> "tuple[int, bytes]":
        """Sends one request and returns its status and raw body."""
        data = None if body is None else json.dumps(body).encode()
        all_headers = {"Accept": "application/json"}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        for attempt in (1, 2):
            try:
                self.conn.request(method, self.prefix + path, body=data, headers=all_headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError):
                # A keep-alive connection the server closed: reconnect once.
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, body: Optional[Any] = None,
             headers: Optional[Dict[str, str]] = None, ok: Sequence[int] = (200,)) -> Any:
        """Sends one request and returns its JSON answer; exits on an unexpected status."""
        status, raw = self.request(method, path, body, headers)
        if status not in ok:
            raise SystemExit(f"{method} {path} answered {status}: {raw[:300]!r}")
        return json.loads(raw) if raw else None

    def token(self) -> str:
        """A fresh access token for the default application."""
        answer = self.json(
            "POST",
            "/paypack/api/auth/agents/authorize",
            {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        )
        return str(answer["access"])

    def close(self) -> None:
        self.conn.close()


class CpuMeter:
    """The CPU time this process and the emulator spend over one measured phase.

    This process's is ``time.process_time()``: user and system time of all its threads,
    pesakit's own threads included. The emulator reports its process's through
    ``GET /_sandbox/usage``. Both are read outside the timed calls."""

    def __init__(self, base_url: str) -> None:
        self._http = Http(base_url)
        self._started: Optional[Tuple[float, Optional[int]]] = None

    def _emulator_us(self) -> Optional[int]:
        try:
            status, raw = self._http.request("GET", "/_sandbox/usage")
        except (OSError, http.client.HTTPException):
            return None
        if status != 200:  # an emulator that cannot tell
            return None
        usage = json.loads(raw)
        return int(usage["cpu_user_us"]) + int(usage["cpu_system_us"])

    def start(self) -> None:
        """Marks the start of the measured phase."""
        emulator = self._emulator_us()
        self._started = (time.process_time(), emulator)

    def stop(self) -> Tuple[float, Optional[float]]:
        """Microseconds of CPU since ``start``: this process's and the emulator's (``None``
        when the emulator cannot tell)."""
        client = time.process_time()
        emulator = self._emulator_us()
        self._http.close()
        if self._started is None:
            raise RuntimeError("CpuMeter.stop before start")
        client_before, emulator_before = self._started
        emulator_us = (None if emulator is None or emulator_before is None
                       else float(emulator - emulator_before))
        return (client - client_before) * 1e6, emulator_us


def settled_reference(base_url: str) -> str:
    """A reference ``find`` answers: one cash-in, settled through the control API."""
    http_ = Http(base_url)
    try:
        auth = {"Authorization": "Bearer " + http_.token()}
        created = http_.json(
            "POST",
            "/paypack/api/transactions/cashin",
            {"amount": CASHIN_AMOUNT, "number": CASHIN_NUMBER},
            auth,
        )
        reference = str(created["ref"])
        # 409: the emulator already settled it by itself (--settle-after-ms).
        http_.json(
            "POST",
            f"/_sandbox/paypack/transactions/{reference}/settle",
            {"status": "successful"},
            ok=(200, 409),
        )
        return reference
    finally:
        http_.close()


def ensure_events(base_url: str, count: int) -> int:
    """Makes the default application hold at least ``count`` events; returns how many.

    Uses the emulator's seed endpoint (``POST /_sandbox/paypack/seed``) when it has one,
    else creates and settles cash-ins (two events each) over one keep-alive connection.
    """
    http_ = Http(base_url)
    try:
        auth = {"Authorization": "Bearer " + http_.token()}

        def total() -> int:
            page = http_.json("GET", "/paypack/api/events/transactions?limit=1", headers=auth)
            return int(page["total"])

        have = total()
        if have >= count:
            return have
        missing_transactions = (count - have + 1) // 2
        status, _ = http_.request(
            "POST", "/_sandbox/paypack/seed", {"count": missing_transactions}
        )
        if status != 200:
            for _ in range(missing_transactions):
                created = http_.json(
                    "POST",
                    "/paypack/api/transactions/cashin",
                    {"amount": CASHIN_AMOUNT, "number": CASHIN_NUMBER},
                    auth,
                )
                http_.json(
                    "POST",
                    f"/_sandbox/paypack/transactions/{created['ref']}/settle",
                    {"status": "successful"},
                    ok=(200, 409),
                )
        have = total()
        if have < count:
            raise SystemExit(f"the emulator holds {have} events after seeding, wanted {count}")
        return have
    finally:
        http_.close()


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q <= 100) of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * q // 100))  # ceil(n * q / 100), at least 1
    return float(sorted_values[int(rank) - 1])


def median(values: Sequence[float]) -> float:
    """The median of ``values``."""
    return float(statistics.median(values))


def emit(out: Optional[str], record: Dict[str, Any]) -> None:
    """Appends ``record`` as one JSON line to ``out`` (when given) and prints it."""
    line = json.dumps(record, separators=(",", ":"))
    if out:
        directory = os.path.dirname(os.path.abspath(out))
        os.makedirs(directory, exist_ok=True)
        with open(out, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    print(line, flush=True)


def rss_kb(field: str = "VmRSS") -> int:
    """This process's resident set size (``VmRSS``) or its peak (``VmHWM``), in KiB."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not found in /proc/self/status")


def log(message: str) -> None:
    """A progress line on stderr (stdout carries only results)."""
    print(message, file=sys.stderr, flush=True)


def per_call_record(
    client: str, op: str, concurrency: int, latencies_ns: List[int], seconds: float, errors: int,
    cpu_us: Tuple[Optional[float], Optional[float]] = (None, None),
) -> Dict[str, Any]:
    """The contract's ``per_call`` line from one measured run; ``cpu_us`` is the CPU time
    the client's process and the emulator spent on it in all (``CpuMeter.stop``)."""
    ordered = sorted(latencies_ns)
    n = len(ordered)

    def per_call(total: Optional[float]) -> Optional[float]:
        return None if total is None or n == 0 else round(total / n, 1)

    return {
        "group": "per_call",
        "client": client,
        "op": op,
        "concurrency": concurrency,
        "requests": n,
        "seconds": round(seconds, 6),
        "rps": round(n / seconds, 1) if seconds > 0 else 0.0,
        "p50_us": round(percentile(ordered, 50) / 1000, 1),
        "p99_us": round(percentile(ordered, 99) / 1000, 1),
        "errors": errors,
        "client_cpu_us": per_call(cpu_us[0]),
        "emulator_cpu_us": per_call(cpu_us[1]),
    }
