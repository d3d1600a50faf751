"""pesakit._columns: pages read in column form equal the pages the record readers give."""

from __future__ import annotations

import contextlib
import gc
import datetime as dt
from decimal import Decimal
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest

import pesakit
from pesakit import _columns, _native, _speedups
from conftest import Api, mixed_transactions
from sandbox_helper import python_prints, Sandbox

UTC = dt.timezone.utc


@contextlib.contextmanager
def records(generated: bool = False) -> Iterator[None]:
    """Pages read by the record readers (the generated ones too when ``generated``)."""
    _columns.ENABLED = False
    if generated:
        _speedups.uninstall()
    try:
        yield
    finally:
        _columns.ENABLED = True
        _speedups.install()


def three_ways(call: Callable[[], Any]) -> Tuple[Any, Any, Any]:
    """``call()`` in column form, through the fused record readers, and through the
    generated readers."""
    columns = call()
    with records():
        fused = call()
    with records(generated=True):
        generated = call()
    return columns, fused, generated


def assert_same(page: Any, other: Any, items: str) -> None:
    """Equal pages whose records also hold the same attributes, in the same order."""
    assert page == other
    assert type(page) is type(other)
    assert list(vars(page)) == list(vars(other))
    for mine, theirs in zip(getattr(page, items), getattr(other, items)):
        assert list(vars(mine).items()) == list(vars(theirs).items())
        if items == "events":
            assert list(vars(mine.transaction).items()) == list(vars(theirs.transaction).items())


def test_on_by_default_and_off_with_the_other_speedups() -> None:
    assert _columns.ENABLED
    probe = "import pesakit._columns as c; print(c.ENABLED)"
    for setting, expected in (("0", "False"), ("1", "True")):
        assert python_prints(probe, PESAKIT_PYTHON_SPEEDUPS=setting) == expected


def test_pages_from_the_emulator_read_the_same(
    api: Api, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Optional fields present and absent, every status, both kinds.
    mixed_transactions(api, sandbox)
    read: List[bytes] = []
    original = _columns.read

    def counting(data: bytes) -> Any:
        read.append(data)
        return original(data)

    monkeypatch.setattr(_columns, "read", counting)
    events = three_ways(lambda: api.list_events(limit=100))
    transactions = three_ways(lambda: api.list_transactions(limit=100))
    assert len(read) == 2, "both pages came in column form (once each)"
    for page in events[1:]:
        assert_same(events[0], page, "events")
    for page in transactions[1:]:
        assert_same(transactions[0], page, "transactions")
    assert len(events[0].events) == 7 and len(transactions[0].transactions) == 4
    statuses = {t.status for t in transactions[0].transactions}
    assert statuses == {
        pesakit.TransactionStatus.SUCCESSFUL,
        pesakit.TransactionStatus.FAILED,
        pesakit.TransactionStatus.PENDING,
    }
    # Filters and an empty page.
    for page in three_ways(lambda: api.list_events(limit=2, offset=1, kind="cash_in")):
        assert len(page.events) == 2 and page.offset == 1 and page.limit == 2
    empty = three_ways(lambda: api.list_events(client="0788999999"))
    assert empty[0] == empty[1] == empty[2] and empty[0].events == []


def event(n: int, kind: str, data: Dict[str, Any], **extra: Any) -> Dict[str, Any]:
    return {"event_id": f"ev-{n}", "event_kind": kind, "data": data, **extra}


#: A gateway page no emulator state produces: unknown values, absent fields, text of
#: every width, instants that round, carry or precede the epoch.
ODD_EVENTS = {
    "offset": "3",
    "limit": 50,
    "total": 1234,
    "transactions": [
        event(1, "transaction:processed", {
            "ref": "r-1", "status": "successful", "amount": "10.50", "fee": "0.25",
            "kind": "CASHIN", "provider": "mtn", "client": "0788123456", "merchant": "mtn",
            "created_at": "2024-02-29T23:59:59.9999995Z",  # rounds (half to even) up, carries
            "processed_at": "2024-03-01T00:00:00.0000005+02:00",  # .5 µs rounds to even: 0
            "user_ref": "order 17",  # a space
            "metadata": {"note": "caf\u00e9", "n": [1, 2]},
        }, created_at="2024-03-01T01:02:03.0000015Z"),  # 1.5 µs rounds to 2
        event(2, "transaction:refunded", {  # unknown event kind
            "ref": "r-2", "status": "reversed", "amount": 10.5, "kind": "TOPUP",  # unknown
            "client": "Jos\u00e9 \u00d1", "merchant": "\u5546\u6237",  # 2- and 3-byte UTF-8
            "user_ref": "\U0001f44d\U0001f3fd ok",  # astral: 2 UTF-16 units, 1 code point
            "created_at": "1960-01-01T00:00:00.0000025Z",  # before the epoch
        }),
        event(3, "event-kind-ignored", {
            "ref": "r-3", "status": "Pending", "amount": "0", "kind": "cash_out",
            "provider": "", "client": "nul\u0000inside", "merchant": None,
            "timestamp": "2024-01-01T12:00:00+03:00",
        }, **{"event_kind": None, "event-kind": "transaction:created",
              "created_at": "2024-01-01T09:00:00Z"}),
        event(4, "transaction:created", {
            "ref": "r-4", "status": "failed", "amount": "12345678901234567890.123456789",
            "fee": "10.500", "kind": "CASHOUT", "provider": "airtel",
        }),
    ],
}


def test_odd_pages_read_the_same(client: pesakit.PaypackClient, sandbox: Sandbox) -> None:
    sandbox.fault(path="/paypack/api/events/transactions", kind="json", body=ODD_EVENTS, count=3)
    pages = three_ways(lambda: client.list_events())
    for page in pages[1:]:
        assert_same(pages[0], page, "events")
    page = pages[0]
    assert (page.offset, page.limit, page.total) == (3, 50, 1234)
    first, second, third, fourth = page.events
    t1 = first.transaction
    assert first.kind is pesakit.EventKind.TRANSACTION_PROCESSED
    assert (t1.amount, t1.fee, t1.user_ref) == (Decimal("10.5"), Decimal("0.25"), "order 17")
    assert t1.provider == t1.merchant == "mtn"
    assert t1.created_at == dt.datetime(2024, 3, 1, tzinfo=UTC)
    assert t1.processed_at == dt.datetime(2024, 2, 29, 22, tzinfo=UTC)
    assert first.created_at == dt.datetime(2024, 3, 1, 1, 2, 3, 2, tzinfo=UTC)
    assert first.created_at.tzinfo is UTC
    assert t1.metadata_json is not None and "caf\u00e9" in t1.metadata_json
    t2 = second.transaction
    assert (second.kind, second.kind_raw) == (pesakit.EventKind.UNKNOWN, "transaction:refunded")
    assert (t2.status, t2.status_raw) == (pesakit.TransactionStatus.UNKNOWN, "reversed")
    assert (t2.kind, t2.kind_raw) == (pesakit.TransactionKind.UNKNOWN, "TOPUP")
    assert (t2.client, t2.merchant) == ("Jos\u00e9 \u00d1", "\u5546\u6237")
    assert t2.user_ref == "\U0001f44d\U0001f3fd ok"
    assert t2.created_at == dt.datetime(1960, 1, 1, 0, 0, 0, 2, tzinfo=UTC)
    assert (t2.fee, t2.provider, t2.processed_at, second.created_at) == (None,) * 4
    t3 = third.transaction
    assert third.kind is pesakit.EventKind.TRANSACTION_CREATED
    assert (t3.provider, t3.client, t3.merchant) == ("", "nul\u0000inside", None)
    assert t3.status is pesakit.TransactionStatus.PENDING and t3.kind_raw == "CASHOUT"
    assert t3.created_at == dt.datetime(2024, 1, 1, 9, tzinfo=UTC) == third.created_at
    t4 = fourth.transaction
    assert t4.amount == Decimal("12345678901234567890.123456789")
    assert t4.fee == Decimal("10.5") and str(t4.fee) == "10.5"
    # Equal strings are built once, even in different fields.
    assert t1.provider is t1.merchant


def test_an_instant_python_cannot_hold_fails_as_with_records(
    client: pesakit.PaypackClient, sandbox: Sandbox
) -> None:
    page = {"transactions": [event(1, "transaction:created", {
        "ref": "r-1", "status": "pending", "amount": "1", "kind": "CASHIN",
        "created_at": "0000-06-01T00:00:00Z",  # year 0: before datetime.min
    })]}
    sandbox.fault(path="/paypack/api/events/transactions", kind="json", body=page, count=2)
    with pytest.raises(OverflowError):
        client.list_events()
    with records(), pytest.raises(OverflowError):
        client.list_events()


def test_transaction_pages_with_odd_totals_read_the_same(
    client: pesakit.PaypackClient, sandbox: Sandbox
) -> None:
    body = {
        "offset": 0, "limit": 2, "total": "9", "cashin": "1.10", "fee": 0.5,
        "transactions": [e["data"] for e in ODD_EVENTS["transactions"][:2]],
    }
    sandbox.fault(path="/paypack/api/transactions/list", kind="json", body=body, count=3)
    pages = three_ways(lambda: client.list_transactions())
    for page in pages[1:]:
        assert_same(pages[0], page, "transactions")
    page = pages[0]
    assert (page.total, page.cashin_total, page.cashout_total, page.fee_total) == (
        9, Decimal("1.1"), None, Decimal("0.5"),
    )
    assert [t.reference for t in page.transactions] == ["r-1", "r-2"]


def test_bytes_that_are_not_a_page_raise_internal_error(client: pesakit.PaypackClient) -> None:
    data = client._client.list_events_columns_blocking(_native.EventFilter())
    assert data.startswith(b"PKC1")
    assert _columns.read(data).events == []
    damaged = [b"", b"PKC2" + data[4:], data[:-1], data + b"\0", data[:11]]
    for bad in damaged:
        with pytest.raises(pesakit.InternalError):
            _columns.read(bad)


@pytest.mark.parametrize("collecting", [True, False])
def test_the_cycle_collector_is_left_as_it_was(
    client: pesakit.PaypackClient, sandbox: Sandbox, collecting: bool
) -> None:
    sandbox.control("POST", "/_sandbox/paypack/seed", {"count": 3})
    data = client._client.list_events_columns_blocking(_native.EventFilter())
    seen: List[bool] = []
    original = _columns._build

    def build(*args: Any) -> List[Any]:
        seen.append(gc.isenabled())
        return original(*args)

    was = gc.isenabled()
    (gc.enable if collecting else gc.disable)()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_columns, "_build", build)
            assert len(_columns.read(data).events) == 6
            assert gc.isenabled() is collecting
            with pytest.raises(pesakit.InternalError):
                _columns.read(data[:-1])
            assert gc.isenabled() is collecting
    finally:
        (gc.enable if was else gc.disable)()
    # Paused while the records were built.
    assert seen and not any(seen)
