"""Keeps interpreter exit safe while pesakit's worker threads resume asyncio calls.

This matters only with the generated async helper, that is with
``PESAKIT_PYTHON_SPEEDUPS=0``: by default ``pesakit._wakeups`` resumes async calls
without any pesakit thread running Python. With the generated helper, an async call
finishes on one of pesakit's native worker threads, which then calls back into Python
to wake the awaiting coroutine. That callback releases the GIL for a
moment (``call_soon_threadsafe`` writes to the event loop's wake-up socket). If the
coroutine finishes and the interpreter starts shutting down inside that moment, Python
terminates the worker thread when it takes the GIL back, and unwinding a native thread
that way aborts the whole process ("FATAL: exception not rethrown").

So every such callback is counted while it runs, and an ``atexit`` hook — which runs
before the interpreter starts tearing down threads — waits (briefly, bounded) until
none is running. Nothing else changes: the generated callback still does all the work.
"""

from __future__ import annotations

import atexit
import threading
import time

from . import _native

_lock = threading.Lock()
_running = 0
_generated = _native._uniffi_continuation_callback


@_native._UNIFFI_RUST_FUTURE_CONTINUATION_CALLBACK  # type: ignore[misc]
def _counted_continuation(future_ptr: int, poll_code: int) -> None:
    global _running
    with _lock:
        _running += 1
    try:
        _generated(future_ptr, poll_code)
    finally:
        with _lock:
            _running -= 1


def _wait_for_callbacks(limit: float = 2.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with _lock:
            if _running == 0:
                return
        time.sleep(0.001)


# The generated code looks the callback up by name at every call.
_native._uniffi_continuation_callback = _counted_continuation
atexit.register(_wait_for_callbacks)
