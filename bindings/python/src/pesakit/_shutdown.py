"""Keeps interpreter exit safe while pesakit threads or calls are still running.

CPython 3.11–3.13 ends any thread that takes the interpreter lock once finalization has
begun. On a thread inside pesakit's native code that unwinding cannot pass the Rust
frames, and the whole process aborts ("FATAL: exception not rethrown"). Two things can
take the lock that late:

- A token store or logger written in Python, called for a blocking call that a daemon
  thread is still making when the program ends (on that thread, or on one of pesakit's
  workers). At exit, ``pesakit_host_closing`` tells the library to stop calling Python:
  log lines are dropped, store methods fail with a ``TOKEN_STORE`` error, and the calls
  already in Python get up to two seconds to return. The daemon thread itself then ends
  as Python ends any daemon thread, once its call returns.
- With the generated async helper (``PESAKIT_PYTHON_SPEEDUPS=0``), an async call resumes
  its coroutine from a pesakit worker, through a Python callback that releases the lock
  for a moment (``call_soon_threadsafe`` writes to the event loop's wake-up socket).
  That callback is reached through the library (``pesakit_host_continuation``), so
  the same exit hook stops those calls and waits for the ones in progress. By default
  ``pesakit._wakeups`` resumes async calls without any pesakit thread running Python.

The hook is registered with ``atexit``, whose hooks run before finalization begins.
"""

from __future__ import annotations

import atexit
import ctypes

from . import _native

_lib = _native._UniffiLib

#: The generated continuation, called by the library through its gate; kept here so it
#: lives as long as the process.
_generated = _native._uniffi_continuation_callback
ctypes.PYFUNCTYPE(None, _native._UNIFFI_RUST_FUTURE_CONTINUATION_CALLBACK)(
    ("pesakit_host_continuation_set", _lib)
)(_generated)

#: The native continuation, as the callback type the generated poll functions expect.
_gated_continuation = _native._UNIFFI_RUST_FUTURE_CONTINUATION_CALLBACK(
    ctypes.cast(_lib.pesakit_host_continuation, ctypes.c_void_p).value
)

# CFUNCTYPE: the interpreter lock is released while the library waits, so the calls it
# waits for can finish.
_host_closing = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.c_uint32)(("pesakit_host_closing", _lib))


def _at_exit() -> None:
    _host_closing(2000)


# The generated code looks the callback up by name at every call.
_native._uniffi_continuation_callback = _gated_continuation
atexit.register(_at_exit)
