"""FFI soak for the Python package: many calls through pesakit against a running emulator,
checking every outcome and sampling the process's RSS.

    python pesakit_soak.py --url http://127.0.0.1:PORT [--calls N] [--csv FILE]
                           [--rss-bound-mb MB]

The calls are a fixed mix, repeated (see ``MIX``): successful HTTP calls (Paypack
``profile``/``find``, checkout ``get_payment``), HTTP errors (404s and injected 500s),
validation errors that never reach the network, and Paypack and checkout webhook
verifications, valid and invalid. Blocks of ``BLOCK`` calls alternate between the
blocking clients and the asyncio clients. Every client keeps its tokens in a
``TokenStore`` written in Python (``CountingStore``) and logs through a Python
``Logger`` (``CountingLogger``); before every block the emulator expires the access
tokens (every tenth block: all tokens), so each client refreshes or logs in again and
saves through the store; clients are replaced every ``SAMPLE_EVERY`` calls, so each new
one loads from the store.

RSS (``VmRSS`` of ``/proc/self/status``) is sampled every ``SAMPLE_EVERY`` calls into
the CSV (``calls,seconds,rss_kb``). The run fails (exit 1) on any unexpected outcome,
when a foreign callback was never called, or when RSS grew by more than the bound from
the end of the warm-up (the first 10% of calls) to the end. ``run()`` is the same soak
as a function, for the test suite's short version.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

import pesakit

CLIENT_ID = "demo-client-id"
CLIENT_SECRET = "demo-client-secret"
WEBHOOK_SECRET = "demo-webhook-secret"
CHECKOUT_TOKEN = "demo-checkout-token"
CHECKOUT_CLIENT_ID = "demo0checkout0client0id000000001"
CHECKOUT_WEBHOOK_SECRET = "demo-checkout-webhook-secret"
MERCHANT_NAME = "Sandbox Merchant demo-client-id"

#: Calls per block; blocks alternate between the blocking and the asyncio API, and the
#: emulator expires tokens before each one.
BLOCK = 1000
#: Every this many calls: an RSS sample, and fresh clients (which load from the store).
SAMPLE_EVERY = 10_000
#: References the emulator answers with an injected HTTP 500 (a fault on their path).
FAULT_REF = "soak-fault-500"
MISSING_REF = "soak-no-such-reference"

PAYPACK_EVENT = json.dumps({
    "event_id": "evt-soak", "event_kind": "transaction:processed",
    "created_at": "2024-05-01T10:00:00Z",
    "data": {
        "ref": "ref-soak", "kind": "CASHIN", "amount": 1000, "fee": 23, "status": "successful",
        "provider": "mtn", "client": "0788123456", "merchant": "ABC123",
        "created_at": "2024-05-01T09:59:00Z", "processed_at": "2024-05-01T10:00:00Z",
    },
}, separators=(",", ":")).encode()
CHECKOUT_EVENT = b'{"payment":{"id":"pay-soak","status":"CONFIRMED"}}'


def rss_kb() -> int:
    """The resident set size of this process, in kB (``VmRSS``)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


class CountingStore(pesakit.TokenStore):
    """A token store in a dict that counts how often pesakit calls it."""

    def __init__(self) -> None:
        self._tokens: Dict[str, pesakit.TokenSet] = {}
        self._lock = threading.Lock()
        self.counts: Counter = Counter()

    def load(self, key: str) -> Optional[pesakit.TokenSet]:
        with self._lock:
            self.counts["load"] += 1
            return self._tokens.get(key)

    def save(self, key: str, tokens: pesakit.TokenSet) -> None:
        with self._lock:
            self.counts["save"] += 1
            self._tokens[key] = tokens

    def clear(self, key: str) -> None:
        with self._lock:
            self.counts["clear"] += 1
            self._tokens.pop(key, None)


class CountingLogger(pesakit.Logger):
    """Counts log lines by level (nothing is kept: the soak measures memory)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter = Counter()

    def log(self, level: pesakit.LogLevel, message: str) -> None:
        with self._lock:
            self.counts[level.name.lower()] += 1


class Unexpected(Exception):
    """A call ended otherwise than the soak expects."""


def control(url: str, method: str, path: str, body: Any = None) -> Any:
    """One call to the emulator's control API; raises unless 2xx."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b"null")


@dataclass
class Summary:
    """What a soak run did."""

    calls: int = 0
    seconds: float = 0.0
    outcomes: Counter = field(default_factory=Counter)
    unexpected: List[str] = field(default_factory=list)
    store: Counter = field(default_factory=Counter)
    logger: Counter = field(default_factory=Counter)
    samples: List[Tuple[int, float, int]] = field(default_factory=list)
    token_expiries: int = 0
    clients_created: int = 0

    def rss_at_warmup(self) -> int:
        """RSS at the last sample within the first 10% of calls (the first sample if none)."""
        warm = [s for s in self.samples if s[0] <= self.calls // 10]
        return (warm[-1] if warm else self.samples[0])[2]

    def report(self) -> str:
        rss = [s[2] for s in self.samples]
        lines = [
            f"calls: {self.calls} in {self.seconds:.1f} s ({self.calls / max(self.seconds, 1e-9):.0f} calls/s)",
            f"RSS kB: start {rss[0]}, after warm-up {self.rss_at_warmup()}, end {rss[-1]}, max {max(rss)}"
            f" (growth after warm-up {(rss[-1] - self.rss_at_warmup()) / 1024:.1f} MB)",
            "outcomes: " + ", ".join(f"{k}={v}" for k, v in sorted(self.outcomes.items())),
            "TokenStore callbacks: " + ", ".join(f"{k}={self.store[k]}" for k in ("load", "save", "clear")),
            "Logger callbacks: " + ", ".join(f"{k}={v}" for k, v in sorted(self.logger.items())),
            f"token expiries forced: {self.token_expiries}; clients created: {self.clients_created}",
            f"unexpected outcomes: {len(self.unexpected)}",
        ]
        lines += [f"  {u}" for u in self.unexpected[:10]]
        return "\n".join(lines)


class Clients:
    """One set of clients (blocking and asyncio, Paypack and checkout) sharing a store
    and a logger."""

    def __init__(self, url: str, store: CountingStore, logger: CountingLogger) -> None:
        paypack = dict(
            base_url=url + "/paypack/api", allow_insecure_loopback=True, token_store=store,
            logger=logger, initial_backoff=0.01, max_backoff=0.05,
        )
        checkout = dict(
            client_token=CHECKOUT_TOKEN, client_id=CHECKOUT_CLIENT_ID, allow_insecure_loopback=True,
            logger=logger, initial_backoff=0.01, max_backoff=0.05,
        )
        self.paypack = pesakit.PaypackClient(CLIENT_ID, CLIENT_SECRET, **paypack)
        self.apaypack = pesakit.AsyncPaypackClient(CLIENT_ID, CLIENT_SECRET, **paypack)
        self.checkout = pesakit.CheckoutClient(url + "/checkout", **checkout)
        self.acheckout = pesakit.AsyncCheckoutClient(url + "/checkout", **checkout)

    def close(self) -> None:
        for c in (self.paypack, self.apaypack, self.checkout, self.acheckout):
            c.close()


class Soak:
    """The mix of calls, each with its expected outcome."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.store = CountingStore()
        self.logger = CountingLogger()
        self.clients = Clients(url, self.store, self.logger)
        self.summary = Summary(clients_created=1)
        # Fixtures: a transaction to find, a payment to get, faults that answer 500.
        self.reference = self.clients.paypack.cashin("1000", "0788123456").reference
        # Paypack finds only processed transactions.
        control(url, "POST", f"/_sandbox/paypack/transactions/{self.reference}/settle", {"status": "successful"})
        self.payment_id = self.clients.checkout.create_checkout("10.00", "USD", "soak-order").payment_id
        for path in (f"/paypack/api/transactions/find/{FAULT_REF}", f"/checkout/api/payment/{FAULT_REF}"):
            control(url, "POST", "/_sandbox/faults",
                    {"path": path, "kind": "status", "status": 500, "count": 1_000_000_000})
        self.paypack_verifier = pesakit.PaypackWebhookVerifier(WEBHOOK_SECRET)
        self.paypack_signature = self.paypack_verifier.sign(PAYPACK_EVENT)
        self.checkout_verifier = pesakit.CheckoutWebhookVerifier(CHECKOUT_WEBHOOK_SECRET)
        self.sign_checkout()

    def sign_checkout(self) -> None:
        """Signs the checkout webhook now (its timestamp must stay within 300 s)."""
        self.checkout_timestamp = str(int(time.time()))
        self.checkout_signature = self.checkout_verifier.sign(int(self.checkout_timestamp), CHECKOUT_EVENT)

    # -- expected outcomes --------------------------------------------------------------

    @staticmethod
    def expect_error(call: Callable[[], Any], kind: type, status: Optional[int]) -> None:
        try:
            call()
        except kind as e:
            if e.status != status:
                raise Unexpected(f"{type(e).__name__} with status {e.status}, expected {status}: {e}") from None
            return
        raise Unexpected(f"succeeded, expected {kind.__name__}")

    @staticmethod
    async def aexpect_error(call: Callable[[], Awaitable[Any]], kind: type, status: Optional[int]) -> None:
        try:
            await call()
        except kind as e:
            if e.status != status:
                raise Unexpected(f"{type(e).__name__} with status {e.status}, expected {status}: {e}") from None
            return
        raise Unexpected(f"succeeded, expected {kind.__name__}")

    def check_profile(self, profile: Any) -> None:
        if profile.name != MERCHANT_NAME:
            raise Unexpected(f"profile name {profile.name!r}")

    def check_found(self, tx: Any) -> None:
        if tx.reference != self.reference:
            raise Unexpected(f"found {tx.reference!r}, expected {self.reference!r}")

    def check_payment(self, payment: Any) -> None:
        if payment.id != self.payment_id:
            raise Unexpected(f"payment {payment.id!r}, expected {self.payment_id!r}")

    # -- the mix: (name, blocking call, asyncio call or None) ---------------------------

    def mix(self) -> List[Tuple[str, Callable[[], Any], Optional[Callable[[], Awaitable[Any]]]]]:
        c = self.clients
        E = pesakit.PesakitError

        async def a_profile() -> None:
            self.check_profile(await c.apaypack.profile())

        async def a_find() -> None:
            self.check_found(await c.apaypack.find(self.reference))

        async def a_payment() -> None:
            self.check_payment(await c.acheckout.get_payment(self.payment_id))

        def pp_valid() -> None:
            event = self.paypack_verifier.verify_and_parse(PAYPACK_EVENT, self.paypack_signature)
            if event.id != "evt-soak":
                raise Unexpected(f"event {event.id!r}")

        def co_valid() -> None:
            event = self.checkout_verifier.verify_and_parse(
                CHECKOUT_EVENT, self.checkout_signature, self.checkout_timestamp, "payment.completed")
            if event.payment.id != "pay-soak":
                raise Unexpected(f"checkout event for {event.payment.id!r}")

        return [
            ("http_ok:paypack.profile", lambda: self.check_profile(c.paypack.profile()), a_profile),
            ("webhook_ok:paypack", pp_valid, None),
            ("http_ok:paypack.find", lambda: self.check_found(c.paypack.find(self.reference)), a_find),
            ("local_error:paypack.cashin", lambda: self.expect_error(lambda: c.paypack.cashin("1000", "12345"), E.Validation, None),
             lambda: self.aexpect_error(lambda: c.apaypack.cashin("1000", "12345"), E.Validation, None)),
            ("webhook_bad:paypack", lambda: self.expect_error(
                lambda: self.paypack_verifier.verify(PAYPACK_EVENT + b" ", self.paypack_signature), E.WebhookSignature, None), None),
            ("http_404:paypack.find", lambda: self.expect_error(lambda: c.paypack.find(MISSING_REF), E.NotFound, 404),
             lambda: self.aexpect_error(lambda: c.apaypack.find(MISSING_REF), E.NotFound, 404)),
            ("http_ok:checkout.get_payment", lambda: self.check_payment(c.checkout.get_payment(self.payment_id)), a_payment),
            ("webhook_ok:checkout", co_valid, None),
            ("http_500:paypack.find", lambda: self.expect_error(lambda: c.paypack.find(FAULT_REF), E.Gateway, 500),
             lambda: self.aexpect_error(lambda: c.apaypack.find(FAULT_REF), E.Gateway, 500)),
            ("webhook_bad:checkout", lambda: self.expect_error(lambda: self.checkout_verifier.verify_and_parse(
                CHECKOUT_EVENT, "0" * 64, self.checkout_timestamp, "payment.completed"), E.WebhookSignature, None), None),
            ("local_error:checkout.create_checkout", lambda: self.expect_error(lambda: c.checkout.create_checkout("1.001", "USD", "x"), E.Validation, None),
             lambda: self.aexpect_error(lambda: c.acheckout.create_checkout("1.001", "USD", "x"), E.Validation, None)),
            ("http_404:checkout.get_payment", lambda: self.expect_error(lambda: c.checkout.get_payment(MISSING_REF), E.NotFound, 404),
             lambda: self.aexpect_error(lambda: c.acheckout.get_payment(MISSING_REF), E.NotFound, 404)),
            ("http_500:checkout.get_payment", lambda: self.expect_error(lambda: c.checkout.get_payment(FAULT_REF), E.Gateway, 500),
             lambda: self.aexpect_error(lambda: c.acheckout.get_payment(FAULT_REF), E.Gateway, 500)),
            ("webhook_ok:paypack", pp_valid, None),
            ("http_ok:paypack.profile", lambda: self.check_profile(c.paypack.profile()), a_profile),
            ("webhook_ok:checkout", co_valid, None),
        ]

    # -- running ------------------------------------------------------------------------

    def record(self, name: str, problem: Optional[BaseException]) -> None:
        if problem is None:
            self.summary.outcomes[name] += 1
        else:
            self.summary.unexpected.append(f"call {self.summary.calls}: {name}: {type(problem).__name__}: {problem}")
            if len(self.summary.unexpected) > 100:
                raise RuntimeError("more than 100 unexpected outcomes:\n" + "\n".join(self.summary.unexpected[:10]))
        self.summary.calls += 1

    def block_sync(self, ops: List[Any], start: int, n: int) -> None:
        for i in range(start, start + n):
            name, call, _ = ops[i % len(ops)]
            try:
                call()
                self.record(name + ":sync", None)
            except Exception as e:  # noqa: BLE001 - every failure is an unexpected outcome
                self.record(name + ":sync", e)

    async def block_async(self, ops: List[Any], start: int, n: int) -> None:
        for i in range(start, start + n):
            name, call, acall = ops[i % len(ops)]
            mode = "async" if acall is not None else "sync"
            try:
                if acall is not None:
                    await acall()
                else:
                    call()
                self.record(f"{name}:{mode}", None)
            except Exception as e:  # noqa: BLE001
                self.record(f"{name}:{mode}", e)

    def expire_tokens(self, block: int) -> None:
        which = "all" if block % 10 == 9 else "access"
        control(self.url, "POST", "/_sandbox/paypack/tokens/expire", {"which": which})
        self.summary.token_expiries += 1

    def run(self, calls: int, csv_path: Optional[str], progress: bool) -> Summary:
        loop = asyncio.new_event_loop()
        started = time.monotonic()
        csv = open(csv_path, "w") if csv_path else None
        try:
            def sample() -> None:
                row = (self.summary.calls, time.monotonic() - started, rss_kb())
                self.summary.samples.append(row)
                if csv:
                    csv.write(f"{row[0]},{row[1]:.3f},{row[2]}\n")
                    csv.flush()
                if progress:
                    print(f"  {row[0]:>9} calls {row[1]:8.1f} s  RSS {row[2]} kB", flush=True)

            if csv:
                csv.write("calls,seconds,rss_kb\n")
            sample()
            block = 0
            while self.summary.calls < calls:
                n = min(BLOCK, calls - self.summary.calls)
                self.expire_tokens(block)
                self.sign_checkout()
                ops = self.mix()
                if block % 2 == 0:
                    self.block_sync(ops, self.summary.calls, n)
                else:
                    loop.run_until_complete(self.block_async(ops, self.summary.calls, n))
                block += 1
                if self.summary.calls % SAMPLE_EVERY == 0 or self.summary.calls >= calls:
                    sample()
                    if self.summary.calls < calls:
                        # Fresh clients: the old ones are dropped, the new ones load from the store.
                        self.clients.close()
                        self.clients = Clients(self.url, self.store, self.logger)
                        self.summary.clients_created += 1
        finally:
            self.clients.close()
            loop.close()
            if csv:
                csv.close()
        self.summary.seconds = time.monotonic() - started
        self.summary.store = Counter(self.store.counts)
        self.summary.logger = Counter(self.logger.counts)
        return self.summary


def run(url: str, calls: int, csv_path: Optional[str] = None, progress: bool = False) -> Summary:
    """Runs the soak against the emulator at ``url`` and returns what happened."""
    return Soak(url).run(calls, csv_path, progress)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the emulator's base URL, http://127.0.0.1:PORT")
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--csv", help="where to write calls,seconds,rss_kb")
    parser.add_argument("--rss-bound-mb", type=float, default=20.0,
                        help="the largest RSS growth allowed after warm-up (MB)")
    args = parser.parse_args()
    print(f"Python soak: {args.calls} calls against {args.url} (pesakit {pesakit.__version__})", flush=True)
    summary = run(args.url, args.calls, args.csv, progress=True)
    print(summary.report())
    growth_mb = (summary.samples[-1][2] - summary.rss_at_warmup()) / 1024
    failures = []
    if summary.unexpected:
        failures.append(f"{len(summary.unexpected)} unexpected outcomes")
    if summary.store["load"] == 0 or summary.store["save"] == 0:
        failures.append("the Python TokenStore was not called")
    if growth_mb > args.rss_bound_mb:
        failures.append(f"RSS grew {growth_mb:.1f} MB after warm-up, more than {args.rss_bound_mb} MB")
    print(f"RSS bound: {args.rss_bound_mb} MB after warm-up; measured {growth_mb:.1f} MB")
    if failures:
        print("Python soak FAILED: " + "; ".join(failures))
        return 1
    print("Python soak passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
