"""pesakit._wakeups: async calls resumed through a mailbox, never by a pesakit thread
running Python."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import threading
from decimal import Decimal
from typing import Any, Iterator, List

import pytest

import pesakit
from pesakit import _native, _wakeups
from conftest import make_async_client
from sandbox_helper import Sandbox

NUMBER = "0788123456"


@pytest.fixture
def resumed_from_threads() -> Iterator[List[int]]:
    """Counts the generated continuation callback's calls (a pesakit thread running
    Python) while the test runs."""
    calls: List[int] = []
    original = _native._uniffi_continuation_callback

    @_native._UNIFFI_RUST_FUTURE_CONTINUATION_CALLBACK  # type: ignore[misc]
    def counting(future_ptr: int, poll_code: int) -> None:
        calls.append(poll_code)
        original(future_ptr, poll_code)

    _native._uniffi_continuation_callback = counting
    try:
        yield calls
    finally:
        _native._uniffi_continuation_callback = original


def test_installed_on_import() -> None:
    assert _native._uniffi_rust_call_async is _wakeups._rust_call_async


@pytest.mark.parametrize("setting, installed", [("0", False), ("1", True)])
def test_can_be_switched_off(setting: str, installed: bool) -> None:
    probe = ("import pesakit, pesakit._native as n, pesakit._wakeups as w; "
             "print(n._uniffi_rust_call_async is w._rust_call_async)")
    env = dict(os.environ, PESAKIT_PYTHON_SPEEDUPS=setting)
    out = subprocess.run([sys.executable, "-c", probe], env=env, check=True,
                         capture_output=True, text=True).stdout.strip()
    assert out == str(installed)


def test_no_pesakit_thread_runs_python(sandbox: Sandbox, resumed_from_threads: List[int]) -> None:
    async def calls() -> None:
        client = make_async_client(sandbox)
        tx = await client.cashin(Decimal("100"), NUMBER)
        sandbox.settle(tx.reference)
        assert (await client.find(tx.reference)).reference == tx.reference

    asyncio.run(calls())
    assert resumed_from_threads == []
    # The generated helper does resume through the callback: the fixture can see it.
    _wakeups.uninstall()
    try:
        asyncio.run(calls())
    finally:
        _wakeups.install()
    assert resumed_from_threads


def test_many_calls_in_flight_each_resumed_once(sandbox: Sandbox) -> None:
    async def main() -> List[Any]:
        client = make_async_client(sandbox)
        return await asyncio.gather(
            *(client.cashin(Decimal(100 + i), NUMBER) for i in range(300))
        )

    created = asyncio.run(main())
    assert sorted(int(tx.amount) for tx in created) == list(range(100, 400))
    ledger = sandbox.ledger()["transactions"]
    assert sorted(t["ref"] for t in ledger) == sorted(tx.reference for tx in created)


def test_errors_arrive_through_the_mailbox(sandbox: Sandbox) -> None:
    async def main() -> None:
        client = make_async_client(sandbox)
        with pytest.raises(pesakit.PesakitError.NotFound):
            await client.find("no-such-reference")

    asyncio.run(main())


def test_a_cancelled_call_leaves_nothing_waiting(sandbox: Sandbox) -> None:
    sandbox.fault(path="/paypack/api/transactions/find/", method="GET", kind="delay",
                  delay_ms=5000, count=1)

    async def main() -> None:
        client = make_async_client(sandbox)
        await client.authorize()
        task = asyncio.ensure_future(client.find("slow"))
        while sandbox.count("GET", "/paypack/api/transactions/find/slow") == 0:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        mailbox = _wakeups._mailboxes[asyncio.get_running_loop()]
        assert mailbox._waiting == {}
        # The loop and the client go on working.
        tx = await client.cashin(Decimal("100"), NUMBER)
        assert tx.reference
        assert mailbox._waiting == {}

    asyncio.run(main())


def test_each_loop_has_its_own_mailbox_closed_with_it(sandbox: Sandbox) -> None:
    client = make_async_client(sandbox)
    mailboxes: List[Any] = []
    results: List[str] = []

    def in_thread() -> None:
        async def main() -> None:
            tx = await client.cashin(Decimal("100"), NUMBER)
            results.append(tx.reference)
            mailboxes.append(_wakeups._mailboxes[asyncio.get_running_loop()])
        asyncio.run(main())

    threads = [threading.Thread(target=in_thread) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for _ in range(3):
        in_thread()
    assert len(set(results)) == 7
    # Loops that ran at the same time had mailboxes of their own.
    assert len({id(m) for m in mailboxes}) == 7
    gc.collect()
    # Their loops were collected, so their mailboxes were closed and their pipes too.
    assert [m.closer.alive for m in mailboxes] == [False] * 7
