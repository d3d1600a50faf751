"""pesakit._wakeups: async calls resumed through a mailbox, never by a pesakit thread
running Python."""

from __future__ import annotations

import asyncio
import gc
import threading
from decimal import Decimal
from typing import Any, Iterator, List

import pytest

import pesakit
from pesakit import _native, _wakeups
from conftest import make_async_client, make_client
from sandbox_helper import python_prints, Sandbox

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
    assert python_prints(probe, PESAKIT_PYTHON_SPEEDUPS=setting) == str(installed)


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


# --- the loop drives its own calls' I/O ------------------------------------------------


class ThreadLogger:
    """A logger that notes which thread wrote each line (one line per request)."""

    def __init__(self) -> None:
        self.threads: List[int] = []

    def __call__(self, level: pesakit.LogLevel, message: str) -> None:
        self.threads.append(threading.get_ident())


def select_loop() -> asyncio.AbstractEventLoop:
    """An asyncio loop that does not wait on epoll (as uvloop or another platform's)."""
    import selectors

    return asyncio.SelectorEventLoop(selectors.SelectSelector())


def test_a_default_loop_does_its_calls_io_on_its_own_thread(sandbox: Sandbox) -> None:
    logger = ThreadLogger()

    async def calls() -> int:
        client = make_async_client(sandbox, logger=logger)
        tx = await client.cashin(Decimal("100"), NUMBER)
        sandbox.settle(tx.reference)
        assert (await client.find(tx.reference)).reference == tx.reference
        return threading.get_ident()

    loop_thread = asyncio.run(calls())
    assert len(logger.threads) >= 3  # authorize, cashin, find
    assert set(logger.threads) == {loop_thread}

    # Closing that loop gave the thread back: a loop that does not wait on epoll, on
    # the same thread, has its calls carried by pesakit's worker threads.
    logger.threads.clear()
    with asyncio.Runner(loop_factory=select_loop) as runner:
        assert runner.run(calls()) == loop_thread
    assert len(logger.threads) >= 3
    assert loop_thread not in logger.threads


def test_a_closed_loop_is_freed_without_the_cycle_collector(sandbox: Sandbox) -> None:
    # The wrappers set on the loop and its selector reach them weakly: a closed loop, and
    # with it its mailbox and pipe, goes as soon as nothing refers to it.
    client = make_async_client(sandbox)
    mailboxes: List[Any] = []

    async def main() -> None:
        await client.authorize()
        mailboxes.append(_wakeups._mailboxes[asyncio.get_running_loop()])

    collecting = gc.isenabled()
    gc.disable()
    try:
        asyncio.run(main())
        assert not mailboxes[0].closer.alive
    finally:
        if collecting:
            gc.enable()


def test_the_loop_runs_other_io_and_timers_while_a_call_waits(sandbox: Sandbox) -> None:
    import socket

    async def main() -> None:
        client = make_async_client(sandbox)
        tx = await client.cashin(Decimal("100"), NUMBER)
        sandbox.settle(tx.reference)
        sandbox.fault(path="/paypack/api/transactions/find/", method="GET", kind="delay",
                      delay_ms=1500, count=2)
        loop = asyncio.get_running_loop()
        slow = asyncio.ensure_future(client.find(tx.reference))
        while sandbox.count("GET", f"/paypack/api/transactions/find/{tx.reference}") == 0:
            await asyncio.sleep(0.01)
        # A socket exchange on the same loop completes while the call still waits.
        left, right = socket.socketpair()
        with left, right:
            left.setblocking(False)
            right.setblocking(False)
            for i in range(50):
                await loop.sock_sendall(left, b"ping %d" % i)
                assert await loop.sock_recv(right, 64) == b"ping %d" % i
        assert not slow.done()
        assert (await slow).reference == tx.reference
        # An asyncio timer fires while the loop waits for a call: the call is cancelled.
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(client.find(tx.reference), timeout=0.2)
        assert _wakeups._mailboxes[loop]._waiting == {}

    asyncio.run(main())


def test_blocking_calls_on_other_threads_while_the_loop_has_calls_in_flight(
    sandbox: Sandbox,
) -> None:
    sandbox.fault(path="/paypack/api/transactions/cashin", method="POST", kind="delay",
                  delay_ms=300, count=8)
    blocking = make_client(sandbox)
    from_threads: List[str] = []

    def in_thread() -> None:
        for _ in range(5):
            from_threads.append(blocking.cashin(Decimal("200"), NUMBER).reference)

    async def main() -> List[Any]:
        client = make_async_client(sandbox)
        await client.authorize()
        threads = [threading.Thread(target=in_thread) for _ in range(2)]
        calls = asyncio.gather(*(client.cashin(Decimal("100"), NUMBER) for _ in range(20)))
        for t in threads:
            t.start()
        created = await calls
        for t in threads:
            await asyncio.get_running_loop().run_in_executor(None, t.join)
        return created

    created = asyncio.run(main())
    blocking.close()
    references = [tx.reference for tx in created] + from_threads
    assert len(references) == 30
    ledger = sandbox.ledger()["transactions"]
    assert sorted(t["ref"] for t in ledger) == sorted(references)
