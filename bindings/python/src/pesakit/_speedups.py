"""Faster reading of what the Rust core hands to Python.

Every value crossing from Rust arrives serialized in one buffer, which the generated
UniFFI code reads field by field: each ``u8``/``i32``/``i64`` through two Python calls, a
``ctypes`` slice and a ``struct.unpack`` with a format string parsed each time; every
``str`` through three such calls; every timestamp building ``fromtimestamp(0)`` anew.
For a page of 10,000 events that is about 1.3 million Python calls, and it dominated
``list_events`` (measured: docs/benchmarks.md, group "decode").

This module replaces those readers with equivalent ones: the buffer is copied into one
``bytes`` object once (a single ``memcpy``), fixed-size values are read with precompiled
``struct.Struct.unpack_from``, and ``str``, timestamps, amounts and their optional forms
are read in one call each. The wire format, bounds checks, errors and resulting values
are exactly the generated ones; records, enums and sequences still use the generated
readers, which now call these.

Writing the other way, the generated builder allocates a 16-byte Rust buffer and grows
it through the FFI as values are appended (a webhook body cost three FFI calls and a
``contextmanager`` per value). Here values are appended to a Python ``bytearray`` and the
Rust buffer is allocated once, at its final size, and filled with one ``memmove``: the
bytes Rust receives are the same. And each FFI call's status starts as a zeroed
``RustCallStatus`` (what the generated ``default()`` builds, field by field).

``tests/test_speedups.py`` checks the replacements against the generated readers.
"""

from __future__ import annotations

import ctypes
import datetime as _dt
import decimal
import struct
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import _native

_Stream: Any = _native._UniffiRustBufferStream
_InternalError: Any = _native.InternalError

_I32 = struct.Struct(">i").unpack_from
_I64_U32 = struct.Struct(">qI").unpack_from
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_timedelta = _dt.timedelta
_Decimal = decimal.Decimal


def _past_end() -> Exception:
    error: Exception = _InternalError("read past end of rust buffer")
    return error


def _from_rust_buffer(cls: Any, buf: Any) -> Any:
    size = buf.len
    # One copy of the whole buffer; slicing bytes is then cheap.
    return cls(ctypes.string_at(buf.data, size) if size else b"", size)


def _fixed(fmt: str) -> Callable[[Any], Any]:
    packer = struct.Struct(fmt)
    size = packer.size
    unpack_from = packer.unpack_from

    def read(self: Any) -> Any:
        offset = self.offset
        end = offset + size
        if end > self.len:
            raise _past_end()
        self.offset = end
        return unpack_from(self.data, offset)[0]

    read.__name__ = f"read_{fmt}"
    return read


def _string_at(buf: Any, data: bytes, offset: int) -> str:
    """The string whose length prefix is at ``offset``; moves ``buf`` past it."""
    start = offset + 4
    if start > buf.len:
        raise _past_end()
    size = _I32(data, offset)[0]
    if size < 0:
        raise _InternalError("Unexpected negative string length")
    end = start + size
    if end > buf.len:
        raise _past_end()
    buf.offset = end
    return data[start:end].decode("utf-8")


def _read_string(buf: Any) -> str:
    return _string_at(buf, buf.data, buf.offset)


def _flag(buf: Any, data: bytes, offset: int) -> bool:
    """The presence byte of an optional value at ``offset`` (``True``: a value follows);
    moves ``buf`` past it."""
    if offset >= buf.len:
        raise _past_end()
    buf.offset = offset + 1
    flag = data[offset]
    if flag == 1:
        return True
    if flag == 0:
        return False
    raise _InternalError("Unexpected flag byte for optional type")


def _read_optional_string(buf: Any) -> Optional[str]:
    data = buf.data
    offset = buf.offset
    if _flag(buf, data, offset):
        return _string_at(buf, data, offset + 1)
    return None


def _timestamp_at(buf: Any, data: bytes, offset: int) -> _dt.datetime:
    end = offset + 12
    if end > buf.len:
        raise _past_end()
    buf.offset = end
    seconds, nanoseconds = _I64_U32(data, offset)
    microseconds = nanoseconds / 1000
    # As generated: a timedelta from the epoch (OverflowError when out of range).
    if seconds >= 0:
        return _EPOCH + _timedelta(seconds=seconds, microseconds=microseconds)
    return _EPOCH - _timedelta(seconds=-seconds, microseconds=microseconds)


def _read_timestamp(buf: Any) -> _dt.datetime:
    return _timestamp_at(buf, buf.data, buf.offset)


def _read_optional_timestamp(buf: Any) -> Optional[_dt.datetime]:
    data = buf.data
    offset = buf.offset
    if _flag(buf, data, offset):
        return _timestamp_at(buf, data, offset + 1)
    return None


def _read_amount(buf: Any) -> decimal.Decimal:
    return _Decimal(_string_at(buf, buf.data, buf.offset))


def _read_optional_amount(buf: Any) -> Optional[decimal.Decimal]:
    data = buf.data
    offset = buf.offset
    if _flag(buf, data, offset):
        return _Decimal(_string_at(buf, data, offset + 1))
    return None


_FIXED = {
    "read_i8": ">b",
    "read_u8": ">B",
    "read_i16": ">h",
    "read_u16": ">H",
    "read_i32": ">i",
    "read_u32": ">I",
    "read_i64": ">q",
    "read_u64": ">Q",
    "read_float": ">f",
    "read_double": ">d",
}

# converter class name -> its new ``read``
_CONVERTERS: Dict[str, Callable[[Any], Any]] = {
    "_UniffiFfiConverterString": _read_string,
    "_UniffiFfiConverterOptionalString": _read_optional_string,
    "_UniffiFfiConverterTimestamp": _read_timestamp,
    "_UniffiFfiConverterOptionalTimestamp": _read_optional_timestamp,
    "_UniffiFfiConverterTypeAmount": _read_amount,
    "_UniffiFfiConverterOptionalTypeAmount": _read_optional_amount,
    "_UniffiFfiConverterTypeAmountText": _read_amount,
    "_UniffiFfiConverterOptionalTypeAmountText": _read_optional_amount,
}


class _Builder:
    """Collects a lowered value in Python, then hands Rust one buffer of its final size."""

    __slots__ = ("_data", "rbuf")

    def __init__(self) -> None:
        self._data = bytearray()
        self.rbuf = None  # never a partial Rust buffer: nothing to free on failure

    def finalize(self) -> Any:
        data = self._data
        size = len(data)
        rbuf = _native._UniffiRustBuffer.alloc(size)
        if size:
            ctypes.memmove(rbuf.data, bytes(data), size)
        rbuf.len = size
        self._data = bytearray()
        return rbuf

    def discard(self) -> None:
        self._data = bytearray()

    def write(self, value: Any) -> None:
        self._data += value


def _writer(fmt: str) -> Callable[[Any, Any], None]:
    pack = struct.Struct(fmt).pack

    def write(self: Any, value: Any) -> None:
        self._data += pack(value)

    write.__name__ = f"write_{fmt}"
    return write


for _name, _fmt in (
    ("i8", ">b"), ("u8", ">B"), ("i16", ">h"), ("u16", ">H"), ("i32", ">i"), ("u32", ">I"),
    ("i64", ">q"), ("u64", ">Q"), ("float", ">f"), ("double", ">d"), ("c_size_t", "@N"),
):
    setattr(_Builder, "write_" + _name, _writer(_fmt))


def _zeroed_status() -> Any:
    # code 0 (success) and an empty error buffer, as the generated default() sets.
    return _native._UniffiRustCallStatus()


def _replacements() -> List[Tuple[Any, str, Any]]:
    """(owner, attribute, new value) of every replacement."""
    found: List[Tuple[Any, str, Any]] = [
        (_Stream, "from_rust_buffer", classmethod(_from_rust_buffer)),
        (_native, "_UniffiRustBufferBuilder", _Builder),
        (_native._UniffiRustCallStatus, "default", staticmethod(_zeroed_status)),
    ]
    found += [(_Stream, name, _fixed(fmt)) for name, fmt in _FIXED.items()]
    for name, read in _CONVERTERS.items():
        converter = getattr(_native, name, None)
        if converter is not None:  # a type the library no longer has is skipped
            found.append((converter, "read", staticmethod(read)))
    return found


#: (owner, attribute) -> the generated value it replaced, while installed.
GENERATED: Dict[Tuple[Any, str], Any] = {}


def install() -> None:
    """Installs the faster readers and builder (a no-op when installed)."""
    if GENERATED:
        return
    for owner, attribute, value in _replacements():
        namespace = owner.__dict__ if isinstance(owner, type) else vars(owner)
        GENERATED[(owner, attribute)] = namespace[attribute]
        setattr(owner, attribute, value)


def uninstall() -> None:
    """Puts the generated readers and builder back (for tests that compare both)."""
    while GENERATED:
        (owner, attribute), value = GENERATED.popitem()
        setattr(owner, attribute, value)


install()
