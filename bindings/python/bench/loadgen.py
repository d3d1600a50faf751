"""Per-call load generator for the Python clients (the benchmark contract's ``per_call``).

    python loadgen.py --client python-sync|python-async|requests|httpx \
        --base-url http://127.0.0.1:PORT --op find|cashin --concurrency N \
        --requests N --warmup N --out FILE [--reference REF]

Clients:

* ``python-sync``: pesakit's blocking ``PaypackClient``; for concurrency > 1, N threads
  of one ``ThreadPoolExecutor`` share ONE client.
* ``python-async``: pesakit's ``AsyncPaypackClient``; N asyncio tasks share ONE client.
* ``requests``: a hand-written Paypack client on ``requests.Session`` (see
  :class:`RequestsPaypack`); N threads, one ``Session`` per thread (``requests`` does not
  promise that a shared ``Session`` is thread-safe, and its default pool keeps only 10
  connections per host), one token shared by all threads.
* ``httpx``: a hand-written Paypack client on ONE ``httpx.AsyncClient`` with its default
  limits (100 connections, 20 kept alive), N asyncio tasks.

Concurrency N means N workers, each sending its next request as soon as its previous one
answered, until ``--requests`` requests were sent; the same workers (threads already
started, connections already open, token already held) run the ``--warmup`` requests
first, unmeasured. ``find`` looks up ``--reference`` or a cash-in created and settled
before measuring; ``cashin`` asks for 100 RWF from 0788123456 with a fresh idempotency key
per call (pesakit generates one; the hand-written clients send ``uuid4().hex``).

One JSON line is appended to ``--out``: latency p50/p99 in microseconds (each request
timed on its own, queueing inside the client included), throughput over the whole
measured run, and how many calls raised.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

CLIENTS = ("python-sync", "python-async", "requests", "httpx")
Result = Tuple[List[int], float, int]


class _FirstError:
    """Keeps the first error of a run, to print once."""

    def __init__(self) -> None:
        self.error: Optional[BaseException] = None

    def note(self, error: BaseException) -> None:
        if self.error is None:
            self.error = error


# --- the runners ---------------------------------------------------------------------


def run_threads(
    call: Callable[[], Any], total: int, concurrency: int,
    pool: Optional[ThreadPoolExecutor], first: _FirstError,
) -> Result:
    """``total`` calls from ``concurrency`` workers (the pool's threads, or this thread)."""
    latencies: List[int] = []
    counter = itertools.count()  # next() on it is atomic under the GIL

    def worker() -> int:
        append = latencies.append
        clock = time.perf_counter_ns
        errors = 0
        while next(counter) < total:
            start = clock()
            try:
                call()
            except Exception as e:  # counted, and the first one printed
                errors += 1
                first.note(e)
            append(clock() - start)
        return errors

    started = time.perf_counter()
    if pool is None:
        errors = worker()
    else:
        futures = [pool.submit(worker) for _ in range(concurrency)]
        errors = sum(f.result() for f in futures)
    return latencies, time.perf_counter() - started, errors


async def run_tasks(
    call: Callable[[], Awaitable[Any]], total: int, concurrency: int, first: _FirstError
) -> Result:
    """``total`` calls from ``concurrency`` asyncio tasks on this event loop."""
    latencies: List[int] = []
    counter = itertools.count()

    async def worker() -> int:
        append = latencies.append
        clock = time.perf_counter_ns
        errors = 0
        while next(counter) < total:
            start = clock()
            try:
                await call()
            except Exception as e:
                errors += 1
                first.note(e)
            append(clock() - start)
        return errors

    started = time.perf_counter()
    counts = await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started, sum(counts)


# --- the hand-written alternatives ---------------------------------------------------


class RequestsPaypack:
    """A Paypack client as a user writes it on ``requests``: authorize once with
    ``POST /auth/agents/authorize``, then bearer calls; on a 401 authorize again and
    retry once. One ``Session`` per thread, one token for all threads."""

    def __init__(self, api: str, client_id: str, client_secret: str) -> None:
        import requests

        self._requests = requests
        self.api = api
        self._credentials = {"client_id": client_id, "client_secret": client_secret}
        self._local = threading.local()
        self._lock = threading.Lock()
        self._token: Optional[str] = None

    def _session(self) -> Any:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._requests.Session()
            session.headers["Accept"] = "application/json"
            self._local.session = session
        return session

    def _authorize(self, stale: Optional[str]) -> str:
        with self._lock:
            if self._token is None or self._token == stale:
                r = self._session().post(self.api + "/auth/agents/authorize", json=self._credentials)
                r.raise_for_status()
                self._token = r.json()["access"]
            return self._token

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        token = self._token or self._authorize(None)
        headers = {"Authorization": "Bearer " + token, **kwargs.pop("headers", {})}
        r = self._session().request(method, self.api + path, headers=headers, **kwargs)
        if r.status_code == 401:
            headers["Authorization"] = "Bearer " + self._authorize(token)
            r = self._session().request(method, self.api + path, headers=headers, **kwargs)
        r.raise_for_status()
        return r.json()

    def find(self, reference: str) -> Dict[str, Any]:
        return self._call("GET", "/transactions/find/" + reference)  # type: ignore[no-any-return]

    def cashin(self, amount: int, number: str) -> Dict[str, Any]:
        return self._call(  # type: ignore[no-any-return]
            "POST",
            "/transactions/cashin",
            json={"amount": amount, "number": number},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )


class HttpxPaypack:
    """The same hand-written client on one ``httpx.AsyncClient`` (default limits)."""

    def __init__(self, api: str, client_id: str, client_secret: str) -> None:
        import httpx

        self.api = api
        self._credentials = {"client_id": client_id, "client_secret": client_secret}
        self._client = httpx.AsyncClient(headers={"Accept": "application/json"})
        self._lock = asyncio.Lock()
        self._token: Optional[str] = None

    async def _authorize(self, stale: Optional[str]) -> str:
        async with self._lock:
            if self._token is None or self._token == stale:
                r = await self._client.post(self.api + "/auth/agents/authorize", json=self._credentials)
                r.raise_for_status()
                self._token = r.json()["access"]
            return self._token

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        token = self._token or await self._authorize(None)
        headers = {"Authorization": "Bearer " + token, **kwargs.pop("headers", {})}
        r = await self._client.request(method, self.api + path, headers=headers, **kwargs)
        if r.status_code == 401:
            headers["Authorization"] = "Bearer " + await self._authorize(token)
            r = await self._client.request(method, self.api + path, headers=headers, **kwargs)
        r.raise_for_status()
        return r.json()

    async def find(self, reference: str) -> Dict[str, Any]:
        return await self._call("GET", "/transactions/find/" + reference)  # type: ignore[no-any-return]

    async def cashin(self, amount: int, number: str) -> Dict[str, Any]:
        return await self._call(  # type: ignore[no-any-return]
            "POST",
            "/transactions/cashin",
            json={"amount": amount, "number": number},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )

    async def aclose(self) -> None:
        await self._client.aclose()


# --- one run -------------------------------------------------------------------------


def measure(
    args: argparse.Namespace, reference: str
) -> Tuple[Result, Tuple[float, Optional[float]]]:
    """Builds the client, runs the warm-up and the measured requests; returns them and the
    CPU time the measured requests cost this process and the emulator."""
    api = _common.paypack_url(args.base_url)
    first = _FirstError()
    meter = _common.CpuMeter(args.base_url)
    amount, number = _common.CASHIN_AMOUNT, _common.CASHIN_NUMBER

    if args.client in ("python-sync", "requests"):
        if args.client == "python-sync":
            import pesakit

            client: Any = pesakit.PaypackClient(
                _common.CLIENT_ID, _common.CLIENT_SECRET, base_url=api, allow_insecure_loopback=True
            )
        else:
            client = RequestsPaypack(api, _common.CLIENT_ID, _common.CLIENT_SECRET)
        if args.op == "find":
            call: Callable[[], Any] = lambda: client.find(reference)  # noqa: E731
        else:
            call = lambda: client.cashin(amount, number)  # noqa: E731
        pool = ThreadPoolExecutor(args.concurrency) if args.concurrency > 1 else None
        try:
            if args.warmup:
                run_threads(call, args.warmup, args.concurrency, pool, _FirstError())
            meter.start()
            result = run_threads(call, args.requests, args.concurrency, pool, first)
            cpu = meter.stop()
        finally:
            if pool is not None:
                pool.shutdown()
    else:

        async def main() -> Tuple[Result, Tuple[float, Optional[float]]]:
            if args.client == "python-async":
                import pesakit

                client: Any = pesakit.AsyncPaypackClient(
                    _common.CLIENT_ID, _common.CLIENT_SECRET, base_url=api,
                    allow_insecure_loopback=True,
                )
            else:
                client = HttpxPaypack(api, _common.CLIENT_ID, _common.CLIENT_SECRET)
            if args.op == "find":
                call: Callable[[], Awaitable[Any]] = lambda: client.find(reference)  # noqa: E731
            else:
                call = lambda: client.cashin(amount, number)  # noqa: E731
            try:
                if args.warmup:
                    await run_tasks(call, args.warmup, args.concurrency, _FirstError())
                # The meter's two requests block the loop, with no call in flight.
                meter.start()
                result = await run_tasks(call, args.requests, args.concurrency, first)
                return result, meter.stop()
            finally:
                await client.aclose()

        result, cpu = asyncio.run(main())
    if first.error is not None:
        _common.log(f"{args.client} {args.op}: {result[2]} calls failed; the first: {first.error!r}")
    return result, cpu


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--client", required=True, choices=CLIENTS)
    parser.add_argument("--base-url", required=True, help="the emulator, http://127.0.0.1:PORT")
    parser.add_argument("--op", required=True, choices=("find", "cashin"))
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--requests", type=int, default=1000, help="measured requests in all")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured requests first")
    parser.add_argument("--out", help="append the JSON line here")
    parser.add_argument("--reference", help="the reference `find` looks up (else one is created)")
    args = parser.parse_args(argv)
    if args.concurrency < 1 or args.requests < 1 or args.warmup < 0:
        parser.error("--concurrency and --requests must be positive, --warmup not negative")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    reference = args.reference or ""
    if args.op == "find" and not reference:
        reference = _common.settled_reference(args.base_url)
    (latencies, seconds, errors), cpu = measure(args, reference)
    _common.emit(
        args.out,
        _common.per_call_record(
            args.client, args.op, args.concurrency, latencies, seconds, errors, cpu
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
