"""Faster reading of what the Rust core hands to Python.

Every value crossing from Rust arrives serialized in one buffer, which the generated
UniFFI code reads field by field: each ``u8``/``i32``/``i64`` through two Python calls, a
``ctypes`` slice and a ``struct.unpack`` with a format string parsed each time; every
``str`` through three such calls; every timestamp building ``fromtimestamp(0)`` anew.
For a page of 10,000 events that is about 1.3 million Python calls, and it dominated
``list_events`` (measured: bindings/python/bench/README.md, "Where the time goes").

This module replaces those readers with equivalent ones: the buffer is copied into one
``bytes`` object once (a single ``memcpy``), fixed-size values are read with precompiled
``struct.Struct.unpack_from``, and ``str``, timestamps, amounts and their optional forms
are read in one call each; and each record is read by one function compiled from its
generated reader (see "records read in one call" below). The wire format, bounds checks,
errors and resulting values are exactly the generated ones.

Writing the other way, the generated builder allocates a 16-byte Rust buffer and grows
it through the FFI as values are appended (a webhook body cost three FFI calls and a
``contextmanager`` per value). Here values are appended to a Python ``bytearray`` and the
Rust buffer is allocated once, at its final size, and filled with one ``memmove``: the
bytes Rust receives are the same; a ``str`` argument goes straight into its buffer, and
values are lifted and lowered without the generated ``contextmanager`` around each (the
same reads, checks and frees). Allocating and freeing a Rust buffer call the library
directly instead of through the generic call helper (the same call, the same status
check). And each FFI call's status starts as a zeroed ``RustCallStatus`` (what the
generated ``default()`` builds, field by field).

And the FFI calls that return at once (allocating and freeing buffers, cloning and
freeing object handles, polling and completing async calls) keep the GIL instead of
releasing it around the call: only the calls that do the work (a request, a webhook
verification) release it. Among many Python threads, each release let another thread
take the GIL, several times per pesakit call.

``tests/test_speedups.py`` checks the replacements against the generated readers.
"""

from __future__ import annotations

import ctypes
import datetime as _dt
import decimal
import os as _os
import re
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
        return _EPOCH + _timedelta(0, seconds, microseconds)
    return _EPOCH - _timedelta(0, -seconds, microseconds)


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


def rust_buffer(data: Any, size: int) -> Any:
    """A Rust buffer of exactly ``size`` bytes copied from ``data`` (``bytes`` or a
    ``ctypes`` array), allocated once."""
    rbuf = _native._UniffiRustBuffer.alloc(size)
    if size:
        ctypes.memmove(rbuf.data, data, size)
    rbuf.len = size
    return rbuf


class _Builder:
    """Collects a lowered value in Python, then hands Rust one buffer of its final size."""

    __slots__ = ("_data", "rbuf")

    def __init__(self) -> None:
        self._data = bytearray()
        self.rbuf = None  # never a partial Rust buffer: nothing to free on failure

    def finalize(self) -> Any:
        data = self._data
        self._data = bytearray()
        # Straight from the bytearray's own memory: no intermediate bytes copy.
        return rust_buffer((ctypes.c_char * len(data)).from_buffer(data), len(data))

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


def _alloc_buffer(size: int) -> Any:
    # The generated alloc, without the generic call helper around it (a tuple of
    # arguments and a status check through two more Python calls): the same FFI call and
    # the same check of its status.
    status = _native._UniffiRustCallStatus()
    rbuf = _native._UniffiLib.ffi_pesakit_ffi_rustbuffer_alloc(size, ctypes.byref(status))
    if status.code:
        _native._uniffi_check_call_status(None, status)
    return rbuf


def _free_buffer(rbuf: Any) -> None:
    # The generated free, likewise: every value lifted from Rust ends with it.
    status = _native._UniffiRustCallStatus()
    _native._UniffiLib.ffi_pesakit_ffi_rustbuffer_free(rbuf, ctypes.byref(status))
    if status.code:
        _native._uniffi_check_call_status(None, status)


def _lift_buffer(cls: Any, rbuf: Any) -> Any:
    # The generated lift, without its contextmanager: read the value, refuse junk after
    # it, free the buffer whatever happened.
    try:
        stream = _Stream.from_rust_buffer(rbuf)
        value = cls.read(stream)
        if stream.remaining() != 0:
            raise RuntimeError(
                f"junk data left in buffer at end of consume_with_stream {stream.remaining()}"
            )
        return value
    finally:
        rbuf.free()


def _lower_buffer(cls: Any, value: Any) -> Any:
    # The generated lower, without its contextmanager (a failed write leaves nothing to
    # free: the Rust buffer is allocated by finalize).
    builder = _Builder()
    cls.write(value, builder)
    return builder.finalize()


def _lower_string(value: str) -> Any:
    # A str argument, as the generated lower writes it: its UTF-8 bytes, in one buffer of
    # their size.
    data = value.encode("utf-8")
    return rust_buffer(data, len(data))


def _lift_string(rbuf: Any) -> str:
    try:
        return ctypes.string_at(rbuf.data, rbuf.len).decode("utf-8") if rbuf.len else ""
    finally:
        rbuf.free()


def _zeroed_status() -> Any:
    # code 0 (success) and an empty error buffer, as the generated default() sets.
    return _native._UniffiRustCallStatus()


# --- records read in one call -------------------------------------------------------
#
# A generated record reader calls one converter per field, and each converter again
# reads through the stream: about 25 Python calls for one ``Event``. From the generated
# source of each record reader (its field names, their order and their converters) a
# single function is compiled that reads the fields of the common kinds inline (strings,
# amounts, timestamps, plain enums, integers, booleans and their optional forms), calls
# the converter for any other kind, and builds the record with the same keyword
# arguments. A reader whose source has any other shape is left as generated. Order and
# converters come from the generated code itself, so the two cannot disagree; tests
# compare both on real pages.
#
# Nothing is compiled at import: each record converter gets a stub that reads with the
# generated reader for its first ``_READS_BEFORE_FUSING`` reads, then reads the generated
# module's source (once, for all of them), compiles its own reader and puts it in its
# place. Compiling costs about what a few hundred reads save (a ``Transaction``: 1.3-1.9
# ms to compile, 1.3-1.8 ms more to search the source the first time, against 10.9 µs
# per read as generated and 7.4 µs fused), so a program making a few calls never pays
# it, and one making many pays it once, at most about twice what it could have saved.
# The source is searched as bytes (no decoding of its 420 KB) with patterns that start
# with a fixed string (which the regular-expression engine looks for directly, instead
# of trying the pattern at every line): 1.1-1.3 ms instead of 7.7-9.0 ms when measured.

#: Reads a record's converter makes with its generated reader before its fused reader is
#: compiled.
_READS_BEFORE_FUSING = 256

_RECORD_CLASS = re.compile(
    rb"\nclass (_UniffiFfiConverterType\w+)\(_UniffiConverterRustBuffer\):\n"
    rb"    @staticmethod\n    def read\(buf\):\n        return (\w+)\(\n"
    rb"((?:            \w+=\w+\.read\(buf\),\n)+)        \)\n"
)
_FIELD = re.compile(rb"(\w+)=(\w+)\.read\(buf\)")
_ENUM_CLASS = re.compile(
    rb"\nclass (_UniffiFfiConverterType\w+)\(_UniffiConverterRustBuffer\):\n"
    rb"    @staticmethod\n    def read\(buf\):\n        variant = buf\.read_i32\(\)\n"
    rb"((?:        if variant == \d+:\n            return \w+\.\w+\n)+)"
    rb"        raise InternalError\(\"Raw enum value doesn't match any cases\"\)\n"
)
_ENUM_CASE = re.compile(rb"if variant == (\d+):\n\s*return (\w+)\.(\w+)")

_FIXED_CONVERTERS = {
    "_UniffiFfiConverterInt8": ">b", "_UniffiFfiConverterUInt8": ">B",
    "_UniffiFfiConverterInt16": ">h", "_UniffiFfiConverterUInt16": ">H",
    "_UniffiFfiConverterInt32": ">i", "_UniffiFfiConverterUInt32": ">I",
    "_UniffiFfiConverterInt64": ">q", "_UniffiFfiConverterUInt64": ">Q",
    "_UniffiFfiConverterFloat": ">f", "_UniffiFfiConverterDouble": ">d",
}

# Source templates; ``{v}`` is the field's variable, ``{k}`` a constant's name. Each
# leaves the read position in ``o``.
_STR = """\
    if o + 4 > n: raise _past_end()
    s = _I32(data, o)[0]; o += 4
    if s < 0: raise _InternalError("Unexpected negative string length")
    e = o + s
    if e > n: raise _past_end()
    {v} = data[o:e].decode("utf-8"); o = e
"""
_TS = """\
    if o + 12 > n: raise _past_end()
    sec, nano = _I64_U32(data, o); o += 12
    {v} = (_EPOCH + _timedelta(0, sec, nano / 1000)) if sec >= 0 else (_EPOCH - _timedelta(0, -sec, nano / 1000))
"""
_FLAG = """\
    if o >= n: raise _past_end()
    flag = data[o]; o += 1
    if flag > 1: raise _InternalError("Unexpected flag byte for optional type")
"""



class _Shapes:
    """What the generated module's source says about its record and enum readers."""

    def __init__(self) -> None:
        # converter name -> (record class name, [(field, converter name), ...])
        self.records: Dict[str, Tuple[str, List[Tuple[str, str]]]] = {}
        # converter name -> {variant: member}
        self.enums: Dict[str, Dict[int, Any]] = {}
        try:
            with open(_native.__file__, "rb") as f:
                source = f.read()
        except (OSError, TypeError, AttributeError):
            return  # no source (a frozen or compiled-only install): keep the generated readers
        # The patterns match ASCII only, so every group decodes as ASCII.
        for match in _RECORD_CLASS.finditer(source):
            fields = [
                (name.decode("ascii"), converter.decode("ascii"))
                for name, converter in _FIELD.findall(match.group(3))
            ]
            self.records[match.group(1).decode("ascii")] = (
                match.group(2).decode("ascii"), fields
            )
        for match in _ENUM_CLASS.finditer(source):
            cases = {}
            for number, enum_name, member in _ENUM_CASE.findall(match.group(2)):
                enum = getattr(_native, enum_name.decode("ascii"), None)
                if enum is None or not hasattr(enum, member.decode("ascii")):
                    break
                cases[int(number)] = getattr(enum, member.decode("ascii"))
            else:
                self.enums[match.group(1).decode("ascii")] = cases


_shapes: Optional[_Shapes] = None


def _get_shapes() -> _Shapes:
    global _shapes
    if _shapes is None:
        _shapes = _Shapes()
    return _shapes


def _indent(text: str) -> str:
    return "".join("    " + line + "\n" for line in text.splitlines())


def _field_source(index: int, converter_name: str, constants: Dict[str, Any]) -> Optional[str]:
    """Source reading one field into ``f{index}``; ``None`` for a kind read by call."""
    v = f"f{index}"
    optional = converter_name.startswith("_UniffiFfiConverterOptional")
    inner = converter_name.replace("_UniffiFfiConverterOptional", "_UniffiFfiConverter", 1)
    body: Optional[str] = None
    if inner == "_UniffiFfiConverterString":
        body = _STR.format(v=v)
    elif inner in ("_UniffiFfiConverterTypeAmount", "_UniffiFfiConverterTypeAmountText"):
        body = _STR.format(v=v) + f"    {v} = _Decimal({v})\n"
    elif inner == "_UniffiFfiConverterTimestamp":
        body = _TS.format(v=v)
    elif inner == "_UniffiFfiConverterBoolean":
        body = (
            "    if o >= n: raise _past_end()\n"
            f"    {v} = data[o]; o += 1\n"
            f"    if {v} > 1: raise _InternalError(\"Unexpected byte for Boolean type\")\n"
            f"    {v} = {v} == 1\n"
        )
    elif inner in _FIXED_CONVERTERS:
        packer = struct.Struct(_FIXED_CONVERTERS[inner])
        constants[f"_u{index}"] = packer.unpack_from
        body = (
            f"    if o + {packer.size} > n: raise _past_end()\n"
            f"    {v} = _u{index}(data, o)[0]; o += {packer.size}\n"
        )
    else:
        cases = _get_shapes().enums.get(inner)
        if cases is not None:
            constants[f"_e{index}"] = cases
            body = (
                "    if o + 4 > n: raise _past_end()\n"
                f"    {v} = _e{index}.get(_I32(data, o)[0]); o += 4\n"
                f"    if {v} is None: raise _InternalError(\"Raw enum value doesn't match any cases\")\n"
            )
    if body is None:
        return None
    if not optional:
        return body
    return _FLAG + "    if flag:\n" + _indent(body) + f"    else:\n        {v} = None\n"


def _init_only_stores(record: Any, names: List[str]) -> bool:
    """Whether ``record.__init__``, given every field, only stores each one under its
    own name, in order (checked by calling it with a distinct marker per field)."""
    markers = {name: object() for name in names}
    probe = object.__new__(record)
    try:
        record.__init__(probe, **markers)
    except Exception:  # noqa: BLE001 - any surprise means: keep the generated call
        return False
    stored = vars(probe)
    return list(stored) == names and all(stored[n] is markers[n] for n in names)


def _fused_reader(converter_name: str) -> Optional[Callable[[Any], Any]]:
    """A one-call reader for the record converter ``converter_name``, or ``None``."""
    shape = _get_shapes().records.get(converter_name)
    if shape is None:
        return None
    record_name, fields = shape
    record = getattr(_native, record_name, None)
    if record is None:
        return None
    constants: Dict[str, Any] = {
        "_past_end": _past_end, "_InternalError": _InternalError, "_I32": _I32,
        "_I64_U32": _I64_U32, "_EPOCH": _EPOCH, "_timedelta": _timedelta,
        "_Decimal": _Decimal, "_record": record, "_new": object.__new__,
    }
    lines = ["def read(buf):", "    data = buf.data; n = buf.len; o = buf.offset"]
    for index, (_, field_converter) in enumerate(fields):
        inline = _field_source(index, field_converter, constants)
        if inline is not None:
            lines.append(inline.rstrip("\n"))
            continue
        nested = getattr(_native, field_converter, None)
        if nested is None:
            return None
        # Any other kind (a nested record, a sequence, ...): its converter reads it,
        # looked up at each call so that a nested record's own fused reader is used.
        constants[f"_c{index}"] = nested
        lines.append(f"    buf.offset = o; f{index} = _c{index}.read(buf); o = buf.offset")
    lines.append("    buf.offset = o")
    arguments = ", ".join(f"{name}=f{index}" for index, (name, _) in enumerate(fields))
    if _init_only_stores(record, [name for name, _ in fields]):
        # Storing the fields straight into the new object's ``__dict__`` gives the same
        # object as the generated ``__init__``, for half the cost of a keyword call.
        lines.append(f"    record = _new(_record); record.__dict__.update({arguments})")
        lines.append("    return record")
    else:
        lines.append(f"    return _record({arguments})")
    namespace = dict(constants)
    code = compile("\n".join(lines) + "\n", f"<pesakit fused {record_name} reader>", "exec")
    exec(code, namespace)
    read: Callable[[Any], Any] = namespace["read"]
    return read


def _lazy_reader(converter: Any, generated: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A stub that reads with ``generated`` for the first ``_READS_BEFORE_FUSING`` reads;
    at the next one it compiles the fused reader of ``converter``, puts it (or, when there
    is none, the generated reader) in its own place, and reads with it."""
    left = _READS_BEFORE_FUSING

    def read(buf: Any) -> Any:
        nonlocal left
        if left > 0:
            # Threads may race on the count: at worst a read more or less goes this way.
            left -= 1
            return generated(buf)
        if vars(converter).get("read") is stub:
            fused = _fused_reader(converter.__name__)
            converter.read = staticmethod(fused if fused is not None else generated)
        return converter.read(buf)

    stub = staticmethod(read)
    return stub  # type: ignore[return-value]


def _record_converters() -> List[Any]:
    """The generated converters of records and enums (``_UniffiFfiConverterType…``)."""
    return [
        value for name, value in vars(_native).items()
        if name.startswith("_UniffiFfiConverterType") and isinstance(value, type)
        and isinstance(vars(value).get("read"), staticmethod) and name not in _CONVERTERS
    ]


#: FFI functions that return at once (buffers, object handles, future bookkeeping): they
#: keep the GIL, since releasing and taking it back costs more than the call itself and,
#: with many Python threads, hands the GIL to another thread at every one of them.
_QUICK_FFI = (
    "ffi_pesakit_ffi_rustbuffer_",
    "ffi_pesakit_ffi_rust_future_",
    "uniffi_pesakit_ffi_fn_clone_",
    "uniffi_pesakit_ffi_fn_free_",
)


def _keeping_gil(function: Any) -> Any:
    """``function`` (a ``ctypes`` function of the library) as one that keeps the GIL."""
    prototype = ctypes.PYFUNCTYPE(function.restype, *function.argtypes)
    return prototype((function.__name__, _native._UniffiLib))


def _quick_functions() -> List[Tuple[Any, str, Any]]:
    lib = _native._UniffiLib
    return [
        (lib, name, _keeping_gil(function))
        for name, function in list(vars(lib).items())
        if name.startswith(_QUICK_FFI) and getattr(function, "argtypes", None) is not None
    ]


def _replacements() -> List[Tuple[Any, str, Any]]:
    """(owner, attribute, new value) of every replacement."""
    found: List[Tuple[Any, str, Any]] = [
        (_Stream, "from_rust_buffer", classmethod(_from_rust_buffer)),
        (_native, "_UniffiRustBufferBuilder", _Builder),
        (_native._UniffiRustCallStatus, "default", staticmethod(_zeroed_status)),
        (_native._UniffiRustBuffer, "alloc", staticmethod(_alloc_buffer)),
        (_native._UniffiRustBuffer, "free", _free_buffer),
        (_native._UniffiConverterRustBuffer, "lift", classmethod(_lift_buffer)),
        (_native._UniffiConverterRustBuffer, "lower", classmethod(_lower_buffer)),
        (_native._UniffiFfiConverterString, "lift", staticmethod(_lift_string)),
        (_native._UniffiFfiConverterString, "lower", staticmethod(_lower_string)),
    ]
    found += [(_Stream, name, _fixed(fmt)) for name, fmt in _FIXED.items()]
    for name, read in _CONVERTERS.items():
        converter = getattr(_native, name, None)
        if converter is not None:  # a type the library no longer has is skipped
            found.append((converter, "read", staticmethod(read)))
    for converter in _record_converters():
        generated = vars(converter)["read"].__func__
        found.append((converter, "read", _lazy_reader(converter, generated)))
    return found + _quick_functions()


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


#: Whether the speed-ups are wanted: ``PESAKIT_PYTHON_SPEEDUPS=0`` keeps the generated
#: code everywhere (this module's readers and builder, ``_wakeups``, ``_columns``), to
#: rule them out when investigating a problem.
WANTED = _os.environ.get("PESAKIT_PYTHON_SPEEDUPS", "1") != "0"

if WANTED:
    install()
