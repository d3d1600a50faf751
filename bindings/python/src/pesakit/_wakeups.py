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

Everything else is the generated protocol, unchanged: poll until ready, then complete
(raising the call's error) and free the Rust future, which also cancels it when the
awaiting task was cancelled. ``PESAKIT_PYTHON_SPEEDUPS=0`` keeps the generated version.
``tests/test_wakeups.py`` covers it.
"""

from __future__ import annotations

import asyncio
import ctypes
import itertools
import os
import weakref
from typing import Any, Callable, Dict

from . import _native, _speedups

_lib: Any = _native._UniffiLib


# The mailbox functions return at once, so they keep the GIL (PYFUNCTYPE).
_open_mailbox = ctypes.PYFUNCTYPE(ctypes.c_uint32, ctypes.c_int32)(("pesakit_mailbox_open", _lib))
_close_mailbox = ctypes.PYFUNCTYPE(None, ctypes.c_uint32)(("pesakit_mailbox_close", _lib))
_take_mailbox = ctypes.PYFUNCTYPE(
    ctypes.c_size_t, ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint64), ctypes.c_size_t
)(("pesakit_mailbox_take", _lib))

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
        # The loop is collected after it closed: nothing can be waiting any more.
        self.closer = weakref.finalize(loop, _close, self.id, self._read, self._write)

    def token(self, future: "asyncio.Future[int]") -> int:
        key = next(self._keys) & 0xFFFFFFFF
        self._waiting[key] = future
        return self._prefix | key

    def forget(self, token: int) -> None:
        self._waiting.pop(token & 0xFFFFFFFF, None)

    def _deliver(self) -> None:
        try:
            os.read(self._read, 4096)
        except BlockingIOError:
            pass
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
        while True:
            future: "asyncio.Future[int]" = loop.create_future()
            token = mailbox.token(future)
            ffi_poll(rust_future, _POST, token)
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
