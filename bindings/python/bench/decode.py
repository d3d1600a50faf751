"""Decoding benchmark: a 10,000-event page into typed Python objects (group ``decode``).

    python decode.py --base-url http://127.0.0.1:PORT [--events 10000] [--repeat 7] --out FILE

Makes sure the emulator holds at least ``--events`` events (seed endpoint, else cash-ins),
then measures, each as the median of ``--repeat`` runs after one unmeasured run:

* ``python-pesakit``: ``PaypackClient.list_events(limit=N)``, the whole call: HTTP
  request and transfer, parsing in Rust, and the page crossing into Python as
  ``Event``/``Transaction`` records (``Decimal`` amounts, aware ``datetime``s, enums).
* ``python-json-dataclasses``: the same page's bytes, fetched once beforehand, through
  ``json.loads`` (``parse_float=Decimal``: money is never a float) and hand-written
  dataclasses with the same fields and types (:func:`decode_page`). Decoding only.
* ``python-http-bytes``: fetching those bytes over one keep-alive ``http.client``
  connection, reading the body, no decoding: the HTTP share of both paths. So the
  hand-written path costs ``python-http-bytes`` + ``python-json-dataclasses`` in all.

Each is one JSON line ``{"group":"decode","client":…,"events":N,"ms":X}``; the line of
``python-pesakit`` also carries ``bytes`` (the page's size).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import decimal
import enum
import gc
import json
import os
import sys
import time
from typing import Any, Callable, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402


# --- the hand-written alternative: json.loads + dataclasses ---------------------------


class TransactionStatus(enum.Enum):
    PENDING = "pending"
    SUCCESSFUL = "successful"
    FAILED = "failed"
    UNKNOWN = "unknown"


class TransactionKind(enum.Enum):
    CASH_IN = "CASHIN"
    CASH_OUT = "CASHOUT"
    UNKNOWN = "unknown"


class EventKind(enum.Enum):
    TRANSACTION_CREATED = "transaction:created"
    TRANSACTION_PROCESSED = "transaction:processed"
    UNKNOWN = "unknown"


@dataclasses.dataclass
class Transaction:
    reference: str
    status: TransactionStatus
    status_raw: str
    amount: decimal.Decimal
    fee: Optional[decimal.Decimal]
    kind: TransactionKind
    kind_raw: str
    provider: Optional[str]
    client: Optional[str]
    merchant: Optional[str]
    created_at: Optional[dt.datetime]
    processed_at: Optional[dt.datetime]
    user_ref: Optional[str]
    metadata_json: Optional[str]


@dataclasses.dataclass
class Event:
    id: str
    kind: EventKind
    kind_raw: str
    created_at: Optional[dt.datetime]
    transaction: Transaction


@dataclasses.dataclass
class EventPage:
    events: List[Event]
    offset: int
    limit: int
    total: int


def _enum(cls: Any, raw: str) -> Any:
    try:
        return cls(raw)
    except ValueError:
        return cls.UNKNOWN


def _money(value: Any) -> Optional[decimal.Decimal]:
    return None if value is None else decimal.Decimal(value)


def _instant(value: Optional[str]) -> Optional[dt.datetime]:
    # Python 3.11+ reads "Z" and 7-9 fraction digits (it keeps microseconds).
    return None if value is None else dt.datetime.fromisoformat(value)


def _transaction(d: Dict[str, Any]) -> Transaction:
    metadata = d.get("metadata")
    return Transaction(
        reference=d["ref"],
        status=_enum(TransactionStatus, d["status"]),
        status_raw=d["status"],
        amount=decimal.Decimal(d["amount"]),
        fee=_money(d.get("fee")),
        kind=_enum(TransactionKind, d["kind"]),
        kind_raw=d["kind"],
        provider=d.get("provider"),
        client=d.get("client"),
        merchant=d.get("merchant"),
        created_at=_instant(d.get("created_at") or d.get("timestamp")),
        processed_at=_instant(d.get("processed_at")),
        user_ref=d.get("user_ref"),
        metadata_json=None if metadata is None else json.dumps(metadata),
    )


def decode_event(item: Dict[str, Any]) -> Event:
    """One event (an item of a page, or a webhook's body) as dataclasses."""
    kind = item.get("event_kind") or item.get("event-kind") or item["kind"]
    return Event(
        id=item["event_id"],
        kind=_enum(EventKind, kind),
        kind_raw=kind,
        created_at=_instant(item.get("created_at")),
        transaction=_transaction(item["data"]),
    )


def decode_page(raw: bytes) -> EventPage:
    """The events page as dataclasses, the way a careful hand-written client does it."""
    page = json.loads(raw, parse_float=decimal.Decimal)
    events = [decode_event(item) for item in page["transactions"]]
    return EventPage(events, int(page["offset"]), int(page["limit"]), int(page["total"]))


# --- measuring ------------------------------------------------------------------------


def timed_median(run: Callable[[], Any], repeat: int) -> "tuple[float, Any]":
    """Median milliseconds of ``repeat`` runs after one unmeasured run; and a result.

    Before each run the previous result is released and the garbage collector run, so
    no run pays for collecting what an earlier one (or an earlier path) left behind.
    """
    result = run()
    samples = []
    for _ in range(repeat):
        result = None
        gc.collect()
        start = time.perf_counter()
        result = run()
        samples.append((time.perf_counter() - start) * 1000)
    return _common.median(samples), result


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--out")
    args = parser.parse_args(argv)

    import pesakit

    _common.ensure_events(args.base_url, args.events)
    api = _common.paypack_url(args.base_url)
    path = f"/paypack/api/events/transactions?offset=0&limit={args.events}"

    http = _common.Http(args.base_url)
    auth = {"Authorization": "Bearer " + http.token()}

    def fetch() -> bytes:
        status, raw = http.request("GET", path, headers=auth)
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}")
        return raw

    http_ms, raw = timed_median(fetch, args.repeat)
    decode_ms, decoded = timed_median(lambda: decode_page(raw), args.repeat)
    http.close()
    # Only what the check below needs stays alive while pesakit is measured.
    decoded_count, mine = len(decoded.events), decoded.events[0]
    decoded = None

    with pesakit.PaypackClient(
        _common.CLIENT_ID, _common.CLIENT_SECRET, base_url=api, allow_insecure_loopback=True
    ) as client:
        pesakit_ms, page = timed_median(
            lambda: client.list_events(offset=0, limit=args.events), args.repeat
        )

    if len(page.events) != args.events or decoded_count != args.events:
        raise SystemExit(
            f"expected {args.events} events, pesakit gave {len(page.events)}, "
            f"json.loads gave {decoded_count}"
        )
    # Both paths must have read the same thing (pesakit rounds nanoseconds to the
    # nearest microsecond, fromisoformat truncates them).
    first = page.events[0]
    skew = abs(first.transaction.created_at - mine.transaction.created_at)
    if (first.id, first.transaction.amount, first.transaction.fee) != (
        mine.id, mine.transaction.amount, mine.transaction.fee
    ) or skew > dt.timedelta(microseconds=1):
        raise SystemExit(f"the two decodings differ: {first!r} vs {mine!r}")

    n = args.events
    _common.emit(args.out, {"group": "decode", "client": "python-pesakit", "events": n,
                            "ms": round(pesakit_ms, 3), "bytes": len(raw)})
    _common.emit(args.out, {"group": "decode", "client": "python-json-dataclasses", "events": n,
                            "ms": round(decode_ms, 3)})
    _common.emit(args.out, {"group": "decode", "client": "python-http-bytes", "events": n,
                            "ms": round(http_ms, 3)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
