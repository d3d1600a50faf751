"""Webhook verification in one call into the library.

The generated ``verify_and_parse`` makes five ``ctypes`` calls for one webhook: it clones
the verifier's handle, has Rust allocate a buffer for the body and one for the signature
(and copies each in), makes the call, and frees the answer. For a 1 KiB body the
allocations and the clone cost more than checking the HMAC and parsing the event.

Here ``PaypackWebhookVerifier.verify``, ``PaypackWebhookVerifier.verify_and_parse`` and
``CheckoutWebhookVerifier.verify_and_parse`` call plain C functions of the library
(``pesakit_*_webhook_*``, ``bindings/ffi/src/borrowed.rs``) that read the body and the
header values where Python keeps them and use the verifier without cloning its handle.
They run the same Rust method as the generated call and answer with the same buffers,
so the event, the error (kind, fields, message) and the checks of the arguments
(``TypeError`` for a body that is not bytes-like or a header that is not ``str``) are
the generated ones. The call releases the GIL, as the generated one does.

``PESAKIT_PYTHON_SPEEDUPS=0`` keeps the generated methods; ``tests/test_webhooks.py``
compares both.
"""

from __future__ import annotations

import ctypes
import functools
from typing import Any, Callable, Dict, Optional, Tuple

from . import _native, _speedups

_lib: Any = _native._UniffiLib
_Status: Any = _native._UniffiRustCallStatus
_check_status: Callable[[Any, Any], None] = _native._uniffi_check_call_status
_Error: Any = _native._UniffiFfiConverterTypePesakitError
_check_bytes: Callable[[Any], Any] = _native._UniffiFfiConverterBytes.check_lower
_check_text: Callable[[Any], Any] = _native._UniffiFfiConverterOptionalString.check_lower
_byref = ctypes.byref

_TEXT = (ctypes.c_char_p, ctypes.c_ssize_t)


def _function(name: str, restype: Any, *argtypes: Any) -> Any:
    """The library's function ``name``, taking a handle, the body, ``argtypes`` and a call
    status; a ``CFUNCTYPE``, so the GIL is released while Rust verifies."""
    arguments = (ctypes.c_uint64, ctypes.c_char_p, ctypes.c_size_t) + argtypes
    return ctypes.CFUNCTYPE(restype, *arguments, ctypes.POINTER(_Status))((name, _lib))


_paypack_verify_and_parse = _function(
    "pesakit_paypack_webhook_verify_and_parse", _native._UniffiRustBuffer, *_TEXT
)
_paypack_verify = _function("pesakit_paypack_webhook_verify", None, *_TEXT)
_checkout_verify_and_parse = _function(
    "pesakit_checkout_webhook_verify_and_parse", _native._UniffiRustBuffer, *_TEXT * 3
)


def _body(body: Any) -> bytes:
    """The body as ``bytes`` (itself when it is one), after the generated check."""
    if type(body) is bytes:
        return body
    _check_bytes(body)
    return bytes(body)


def _text(value: Any) -> Tuple[Optional[bytes], int]:
    """A header value as (UTF-8 bytes, length), or (None, -1) when absent."""
    if value is None:
        return None, -1
    if type(value) is not str:
        _check_text(value)
    data = value.encode("utf-8")
    return data, len(data)


def _paypack_verify_and_parse_method(self: Any, body: Any, signature: Any) -> Any:
    body = _body(body)
    text, length = _text(signature)
    status = _Status()
    answer = _paypack_verify_and_parse(self._handle, body, len(body), text, length, _byref(status))
    if status.code:
        _check_status(_Error, status)
    return _native._UniffiFfiConverterTypeEvent.lift(answer)


def _paypack_verify_method(self: Any, body: Any, signature: Any) -> None:
    body = _body(body)
    text, length = _text(signature)
    status = _Status()
    _paypack_verify(self._handle, body, len(body), text, length, _byref(status))
    if status.code:
        _check_status(_Error, status)


def _checkout_verify_and_parse_method(
    self: Any, body: Any, signature: Any, timestamp: Any, event: Any = None
) -> Any:
    body = _body(body)
    signature_text, signature_length = _text(signature)
    timestamp_text, timestamp_length = _text(timestamp)
    event_text, event_length = _text(event)
    status = _Status()
    answer = _checkout_verify_and_parse(
        self._handle,
        body,
        len(body),
        signature_text,
        signature_length,
        timestamp_text,
        timestamp_length,
        event_text,
        event_length,
        _byref(status),
    )
    if status.code:
        _check_status(_Error, status)
    return _native._UniffiFfiConverterTypeCheckoutWebhookEvent.lift(answer)


_REPLACEMENTS = (
    (_native.PaypackWebhookVerifier, "verify_and_parse", _paypack_verify_and_parse_method),
    (_native.PaypackWebhookVerifier, "verify", _paypack_verify_method),
    (_native.CheckoutWebhookVerifier, "verify_and_parse", _checkout_verify_and_parse_method),
)

#: (class, method name) -> the generated method it replaced, while installed.
GENERATED: Dict[Tuple[Any, str], Any] = {}


def install() -> None:
    """Makes the verifiers call the library once per webhook (a no-op when installed)."""
    if GENERATED:
        return
    for cls, name, method in _REPLACEMENTS:
        generated = vars(cls)[name]
        GENERATED[(cls, name)] = generated
        # Name, documentation and signature (``help``, ``inspect``) stay the generated ones.
        setattr(cls, name, functools.wraps(generated)(method))


def uninstall() -> None:
    """Puts the generated methods back."""
    while GENERATED:
        (cls, name), generated = GENERATED.popitem()
        setattr(cls, name, generated)


if _speedups.WANTED:
    install()
