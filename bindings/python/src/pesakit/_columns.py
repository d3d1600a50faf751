"""Pages of records that cross from Rust in column form.

``list_events`` and ``list_transactions`` fetch their page through a method that returns
it as columns (``bindings/ffi/src/columns.rs`` defines the format): every field of a
record type is one array, and each distinct string, amount and instant is written once.
Here the values are built with calls that loop in C (one ``decode`` and ``str`` slices
for the strings, ``map(Decimal, …)``, ``datetime.fromisoformat``), and then the records
from the columns, instead of reading 10,000 events value by value
(``docs/adr/0010-python-pages-in-columns.md``).

The result is the same ``EventPage`` / ``TransactionPage`` of the same generated
classes, equal field for field to what the generated reader gives
(``tests/test_columns.py``). ``PESAKIT_PYTHON_SPEEDUPS=0`` turns this off with the other
speed-ups: the pages are then read by the generated code.
"""

from __future__ import annotations

import array
import datetime as _dt
import decimal
import gc
import struct
import sys
from collections import deque
from itertools import chain, repeat
from typing import Any, Callable, Dict, List, Tuple

from . import _native, _speedups

#: Whether pages are fetched in column form (``False``: the generated readers).
ENABLED = _speedups.WANTED

_MAGIC = b"PKC1"
_U32 = struct.Struct("<I")
_U32_U32 = struct.Struct("<II")
_LITTLE = sys.byteorder == "little"
_Decimal = decimal.Decimal
_from_iso = _dt.datetime.fromisoformat
_new = object.__new__

if array.array("I").itemsize != 4 or array.array("Q").itemsize != 8:  # pragma: no cover
    ENABLED = False  # no platform Python supports has this, but then stay correct


class _Malformed(Exception):
    """The bytes do not follow the format (a mismatched library and package)."""


def _words(code: str, data: bytes) -> "array.array[int]":
    words = array.array(code)
    words.frombytes(data)
    if not _LITTLE:  # pragma: no cover - the format is little-endian
        words.byteswap()
    return words


class _Cursor:
    __slots__ = ("data", "at")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, size: int) -> bytes:
        end = self.at + size
        if end > len(self.data):
            raise _Malformed("it ends early")
        chunk = self.data[self.at:end]
        self.at = end
        return chunk

    def u32(self) -> int:
        value: int = _U32.unpack(self.take(4))[0]
        return value

    def byte(self) -> int:
        return self.take(1)[0]

    def name(self) -> str:
        return self.take(self.byte()).decode("utf-8")


#: enum type name -> [None, member of variant 1, member of variant 2, ...]
_ENUMS: Dict[str, List[Any]] = {}
#: (record class, field names) -> whether its ``__init__`` only stores the fields
_PLAIN: Dict[Tuple[Any, Tuple[str, ...]], bool] = {}


def _enum_members(name: str) -> List[Any]:
    """The members of enum ``name`` by UniFFI's variant number, read by its generated
    converter (so the numbering cannot disagree with the other path)."""
    members = _ENUMS.get(name)
    if members is None:
        converter = getattr(_native, "_UniffiFfiConverterType" + name, None)
        if converter is None:
            raise _Malformed(f"unknown enum {name!r}")
        members = [None]
        while len(members) < 256:
            number = struct.pack(">i", len(members))
            try:
                members.append(converter.read(_native._UniffiRustBufferStream(number, 4)))
            except _native.InternalError:
                break
        _ENUMS[name] = members
    return members


def _strings(cursor: _Cursor) -> List[Any]:
    count, size = _U32_U32.unpack(cursor.take(8))
    ends = _words("I", cursor.take(4 * count))
    text = cursor.take(size).decode("utf-8")
    table: List[Any] = [None]
    table += map(text.__getitem__, map(slice, chain((0,), ends), ends))
    return table


def _values(cursor: _Cursor, build: Callable[[str], Any]) -> List[Any]:
    count, size = _U32_U32.unpack(cursor.take(8))
    table: List[Any] = [None]
    if count:
        texts = cursor.take(size).decode("ascii").split(" ")
        if len(texts) != count:
            raise _Malformed("a value table has the wrong count")
        table += map(build, texts)
    return table


def _instant(text: str) -> _dt.datetime:
    if text == "-":
        # As the generated reader does for an instant a ``datetime`` cannot hold.
        raise OverflowError("date value out of range")
    return _from_iso(text)


def _build(record: Any, names: Tuple[str, ...], columns: List[List[Any]], rows: int) -> List[Any]:
    key = (record, names)
    plain = _PLAIN.get(key)
    if plain is None:
        plain = _PLAIN[key] = _speedups._init_only_stores(record, list(names))
    if plain:
        # The same objects the generated ``__init__`` makes: each gets its fields as its
        # ``__dict__``, all in C loops.
        made = list(map(_new, repeat(record, rows)))
        dicts = map(dict, map(zip, repeat(names), zip(*columns)))
        deque(map(setattr, made, repeat("__dict__"), dicts), 0)
        return made
    return [record(**dict(zip(names, row))) for row in zip(*columns)]


def _read(data: bytes) -> Any:
    cursor = _Cursor(data)
    if cursor.take(4) != _MAGIC:
        raise _Malformed("it does not start with the column-form marker")
    strings = _strings(cursor)
    amounts = _values(cursor, _Decimal)
    instants = _values(cursor, _instant)
    tables = {ord("s"): strings, ord("d"): amounts, ord("t"): instants}
    sets: Dict[str, List[Any]] = {}
    made: List[Any] = []
    for _ in range(cursor.u32()):
        name = cursor.name()
        record = getattr(_native, name, None)
        if not isinstance(record, type):
            raise _Malformed(f"unknown record {name!r}")
        rows, fields = cursor.u32(), cursor.byte()
        if not fields:
            raise _Malformed(f"{name} has no fields")
        names: List[str] = []
        columns: List[List[Any]] = []
        for _ in range(fields):
            names.append(cursor.name())
            kind = cursor.byte()
            if kind in tables:
                table = tables[kind]
                columns.append(list(map(table.__getitem__, _words("I", cursor.take(4 * rows)))))
            elif kind == ord("e"):
                members = _enum_members(cursor.name())
                columns.append(list(map(members.__getitem__, cursor.take(rows))))
            elif kind == ord("u"):
                columns.append(_words("Q", cursor.take(8 * rows)).tolist())
            elif kind == ord("r"):
                targets = [None] + sets[cursor.name()]
                columns.append(list(map(targets.__getitem__, _words("I", cursor.take(4 * rows)))))
            elif kind == ord("l"):
                targets = sets[cursor.name()]
                ends = _words("I", cursor.take(4 * rows))
                if ends and ends[-1] != len(targets):
                    raise _Malformed("a list column does not cover its set")
                columns.append(list(map(targets.__getitem__, map(slice, chain((0,), ends), ends))))
            else:
                raise _Malformed(f"unknown field kind {kind}")
        made = sets[name] = _build(record, tuple(names), columns, rows)
    if cursor.at != len(data) or len(made) != 1:
        raise _Malformed("it does not end with one result")
    return made[0]


def read(data: bytes) -> Any:
    """The record a column-form page holds (``EventPage``, ``TransactionPage``).

    Python's cycle collector is paused while the page is built: a 10,000-event page makes
    about 100,000 objects, and the collector otherwise ran over them (and over everything
    else alive) many times during the build, though records hold no cycles; it took about
    40 % of the build. It is switched back on afterwards, also when the page is malformed,
    unless it was already off."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _read(data)
    except (
        _Malformed, IndexError, KeyError, ValueError, struct.error, decimal.InvalidOperation
    ) as error:
        # UnicodeDecodeError is a ValueError. As the generated readers do for a buffer
        # they cannot read.
        raise _native.InternalError(f"malformed page in column form: {error}") from None
    finally:
        if collecting:
            gc.enable()
