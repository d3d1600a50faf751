"""Async calls learn that they can go on without pesakit's threads taking the GIL.

An async call is a Rust future that the event loop polls through the FFI. The
generated code passes ``rust_future_poll`` a ``ctypes`` callback, which Rust calls (most
often from one of its worker threads) when the future can make progress; that callback
takes the GIL and calls ``call_soon_threadsafe``. Under load the event loop holds the GIL
almost all the time, so pesakit's worker threads spent much of theirs waiting for it, and
every completed call cost a thread switch into Python.

Here the continuation is a native function of the pesakit library
(``pesakit_mailbox_post``): it queues the continuation in a per-event-loop mailbox and,
when the mailbox was empty, writes one byte to a pipe the loop watches with
``add_reader``. The loop then takes every queued continuation in one FFI call and
resolves their futures. No pesakit thread ever runs Python for an async call.

A poll that finds the future already answered (as the poll after every wake-up does)
returns the answer at once (``pesakit_mailbox_poll``) instead of posting it.

On asyncio's default loop (a selector loop on ``epoll``) the loop's own thread also does
its calls' I/O: while the loop has calls in flight and would sleep in ``select``, it
drives pesakit's runtime instead until one of the loop's own descriptors is ready (which
includes the mailbox's pipe), so requests are sent and answers read on the loop's thread
with no pesakit thread woken (``docs/adr/0013-python-event-loop-drives-its-calls.md``).

Everything else is the generated protocol, unchanged: poll until ready, then complete
(raising the call's error) and free the Rust future, which also cancels it when the
awaiting task was cancelled. ``PESAKIT_PYTHON_SPEEDUPS=0`` keeps the generated version.
``tests/test_wakeups.py`` covers it.
"""

from __future__ import annotations

import ctypes
import itertools
import math
import os
import selectors
import weakref
from typing import TYPE_CHECKING, Any, Callable, Dict

if TYPE_CHECKING:  # annotations only: asyncio is loaded by the programs that use it
    import asyncio

from . import _native, _speedups

_lib: Any = _native._UniffiLib


# The mailbox functions return at once, so they keep the GIL (PYFUNCTYPE).
_open_mailbox = ctypes.PYFUNCTYPE(ctypes.c_uint32, ctypes.c_int32)(("pesakit_mailbox_open", _lib))
_close_mailbox = ctypes.PYFUNCTYPE(None, ctypes.c_uint32)(("pesakit_mailbox_close", _lib))
_take_mailbox = ctypes.PYFUNCTYPE(
    ctypes.c_size_t, ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint64), ctypes.c_size_t
)(("pesakit_mailbox_take", _lib))

# Waiting for the loop releases the GIL (CFUNCTYPE): other Python threads run meanwhile.
_loop_wait = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_int32, ctypes.c_uint32, ctypes.c_int64)(
    ("pesakit_loop_wait", _lib)
)
_loop_leave = ctypes.CFUNCTYPE(None)(("pesakit_loop_leave", _lib))

# Polling runs a step of the call's Rust future, which never waits: it keeps the GIL.
_poll = ctypes.PYFUNCTYPE(ctypes.c_int8, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64)(
    ("pesakit_mailbox_poll", _lib)
)
#: Each generated poll function's address, by the ``id`` of its ``ctypes`` function (which
#: is not hashable; those functions live as long as the module).
_poll_addresses: Dict[int, int] = {}

#: The native continuation, as the callback type the generated poll functions expect.
_POST = _native._UNIFFI_RUST_FUTURE_CONTINUATION_CALLBACK(
    ctypes.cast(_lib.pesakit_mailbox_post, ctypes.c_void_p).value
)
_READY = _native._UNIFFI_RUST_FUTURE_POLL_READY
_BATCH = 256


class _Mailbox:
    """One event loop's mailbox: the pipe it watches and the futures waiting on it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self.id: int = _open_mailbox(self._write)
        self._prefix = self.id << 32
        self._keys = itertools.count()
        self._waiting: Dict[int, "asyncio.Future[int]"] = {}
        self._buffer = (ctypes.c_uint64 * _BATCH)()
        loop.add_reader(self._read, self._deliver)
        _drive_from(loop, self)
        # The loop is collected after it closed: nothing can be waiting any more.
        self.closer = weakref.finalize(loop, _close, self.id, self._read, self._write)

    def token(self) -> int:
        return self._prefix | (next(self._keys) & 0xFFFFFFFF)

    def wait(self, token: int, future: "asyncio.Future[int]") -> None:
        self._waiting[token & 0xFFFFFFFF] = future

    def forget(self, token: int) -> None:
        self._waiting.pop(token & 0xFFFFFFFF, None)

    def _deliver(self) -> None:
        try:
            os.read(self._read, 4096)
        except BlockingIOError:
            pass
        self._take()

    def _take(self) -> None:
        buffer, waiting = self._buffer, self._waiting
        while True:
            n = _take_mailbox(self.id, buffer, _BATCH)
            for record in buffer[:n]:
                future = waiting.pop(record >> 8, None)
                if future is not None and not future.done():
                    code = record & 0xFF
                    future.set_result(code - 256 if code > 127 else code)
            if n < _BATCH:
                return


def _drive_from(loop: asyncio.AbstractEventLoop, mailbox: _Mailbox) -> None:
    """Makes ``loop`` wait through pesakit when it can (a selector event loop on
    ``epoll``, as asyncio's default loop on Linux is): while the loop has calls in flight
    and nothing else to do, its thread drives pesakit's I/O, so its calls are sent and
    answered on that thread, without a hand-over to a pesakit thread and back. Closing
    the loop gives its thread back. Other loops (uvloop, other platforms) are left
    alone."""
    selector = getattr(loop, "_selector", None)
    if (not isinstance(selector, selectors.EpollSelector) or "select" in vars(selector)
            or "close" in vars(loop)):
        return
    # The originals are called through weak references, so that neither the selector
    # nor the loop refers to itself through the wrappers set on it (which would leave
    # both, and the mailbox's pipe, to the cycle collector).
    original_select = type(selector).select
    original_close = type(loop).close
    selector_ref = weakref.ref(selector)
    loop_ref = weakref.ref(loop)
    fd = selector.fileno()

    def select(timeout: "float | None" = None) -> Any:
        if timeout is None:
            limit = -1
        elif timeout <= 0:
            limit = 0
        else:
            limit = math.ceil(timeout * 1_000_000)
        woke = _loop_wait(fd, mailbox.id, limit)
        if woke < 0:
            return original_select(selector_ref(), timeout)
        # Answers are delivered now, so their tasks run in this turn of the loop rather
        # than the next: those that came during the wait (2: queued without a byte in
        # the pipe), or most often what made the loop readable (1).
        if woke == 2:
            mailbox._take()
        elif woke == 1:
            mailbox._deliver()
        return original_select(selector_ref(), 0)

    def close() -> None:
        _loop_leave()
        original_close(loop_ref())

    selector.select = select  # type: ignore[method-assign]
    loop.close = close  # type: ignore[method-assign]
    _loop_wait(fd, mailbox.id, 0)


def _close(mailbox_id: int, read: int, write: int) -> None:
    _close_mailbox(mailbox_id)
    os.close(read)
    os.close(write)


_mailboxes: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Mailbox]" = (
    weakref.WeakKeyDictionary()
)


def _mailbox(loop: asyncio.AbstractEventLoop) -> _Mailbox:
    mailbox = _mailboxes.get(loop)
    if mailbox is None:
        mailbox = _mailboxes[loop] = _Mailbox(loop)
    return mailbox


async def _rust_call_async(
    rust_future: int,
    ffi_poll: Callable[..., None],
    ffi_complete: Callable[..., Any],
    ffi_free: Callable[[int], None],
    lift_func: Callable[[Any], Any],
    error_ffi_converter: Any,
) -> Any:
    try:
        loop = _native._uniffi_get_event_loop()
        mailbox = _mailbox(loop)
        poll = _poll_addresses.get(id(ffi_poll))
        if poll is None:
            poll = _poll_addresses[id(ffi_poll)] = ctypes.cast(ffi_poll, ctypes.c_void_p).value
        while True:
            token = mailbox.token()
            code = _poll(poll, rust_future, token)
            if code < 0:
                # Not answered during the poll: the continuation comes through the mailbox,
                # which this loop reads only after this task yields.
                future: "asyncio.Future[int]" = loop.create_future()
                mailbox.wait(token, future)
                try:
                    code = await future
                except BaseException:  # cancelled: no continuation is awaited any more
                    mailbox.forget(token)
                    raise
            if code == _READY:
                break
        return lift_func(
            _native._uniffi_rust_call_with_error(error_ffi_converter, ffi_complete, rust_future)
        )
    finally:
        ffi_free(rust_future)


#: The generated helper, kept for ``uninstall``.
GENERATED: Any = _native._uniffi_rust_call_async


def install() -> None:
    """Makes every generated async method use the mailbox (it looks the helper up by
    name at each call)."""
    _native._uniffi_rust_call_async = _rust_call_async


def uninstall() -> None:
    """Puts the generated helper back."""
    _native._uniffi_rust_call_async = GENERATED


if _speedups.WANTED:
    install()
