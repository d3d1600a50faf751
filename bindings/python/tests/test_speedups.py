"""pesakit._speedups: its readers and builder give exactly what the generated ones give."""

from __future__ import annotations

import contextlib
import ctypes
import threading
import datetime as dt
from decimal import Decimal
from typing import Any, Callable, Iterator, Tuple

import pytest

import pesakit
from pesakit import _columns, _native, _speedups
from conftest import mixed_transactions
from sandbox_helper import python_prints, Sandbox


@pytest.fixture(autouse=True)
def record_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages read by the record readers, which this module tests (test_columns.py tests
    the column form that ``list_events`` and ``list_transactions`` use by default)."""
    monkeypatch.setattr(_columns, "ENABLED", False)


#: How many reads a record's converter makes as generated before its fused reader is
#: compiled, as shipped (the fixture below sets it to none for most of this module).
READS_BEFORE_FUSING = _speedups._READS_BEFORE_FUSING


def fresh_stubs(reads_before_fusing: int) -> None:
    """Puts new record-reader stubs in place that fuse after ``reads_before_fusing`` reads."""
    _speedups._READS_BEFORE_FUSING = reads_before_fusing
    _speedups.uninstall()
    _speedups.install()


@pytest.fixture(autouse=True)
def fused_at_first_read() -> Iterator[None]:
    """Record readers fused at their first read, so that this module's comparisons run the
    fused readers; ``test_records_are_fused_after_the_reads_fusing_must_pay_for`` checks
    the wait they have as shipped."""
    fresh_stubs(0)
    try:
        yield
    finally:
        fresh_stubs(READS_BEFORE_FUSING)


@contextlib.contextmanager
def generated() -> Iterator[None]:
    """The generated readers and builder while the block runs."""
    _speedups.uninstall()
    try:
        yield
    finally:
        _speedups.install()


def both(call: Callable[[], Any]) -> Tuple[Any, Any]:
    """``call()`` with the generated code, then with the speedups."""
    with generated():
        before = call()
    return before, call()


def test_installed_on_import() -> None:
    assert _speedups.GENERATED, "importing pesakit installs the speedups"
    assert _native._UniffiRustBufferBuilder is _speedups._Builder
    with generated():
        assert _native._UniffiRustBufferBuilder is not _speedups._Builder
    assert _native._UniffiRustBufferBuilder is _speedups._Builder


@pytest.mark.parametrize("setting, installed", [("0", False), ("1", True)])
def test_can_be_switched_off(setting: str, installed: bool) -> None:
    probe = "import pesakit._speedups as s; print(bool(s.GENERATED))"
    assert python_prints(probe, PESAKIT_PYTHON_SPEEDUPS=setting) == str(installed)


def test_records_are_read_in_one_call(client: pesakit.PaypackClient, sandbox: Sandbox) -> None:
    # Readers are compiled at their first read here (see the fixture): read one of each.
    sandbox.settle(client.cashin(Decimal("100"), "0788123456").reference)
    client.list_events(limit=10)
    client.list_transactions(limit=10)
    client.profile()
    # The records of the hot paths were recognised and fused (else the speedup is lost).
    for name in ("Event", "EventPage", "Transaction", "TransactionPage", "Profile"):
        read = vars(getattr(_native, f"_UniffiFfiConverterType{name}"))["read"].__func__
        assert read.__code__.co_filename == f"<pesakit fused {name} reader>", name
        # ... and built without a keyword call to __init__ (its fields stored directly).
        assert "_new" in read.__code__.co_names, name
    # A transaction's fields are all of kinds read inline, its two enums included: none
    # is read through a call to its converter (``_c<index>``), so the enums' readers were
    # recognised in the generated source as well.
    read = vars(_native._UniffiFfiConverterTypeTransaction)["read"].__func__
    called = [n for n in read.__code__.co_names if n.startswith("_c")]
    assert called == [], called
    with generated():
        read = vars(_native._UniffiFfiConverterTypeEvent)["read"].__func__
        assert read.__code__.co_filename.endswith("_native.py")


def test_pages_read_the_same(client: pesakit.PaypackClient, sandbox: Sandbox) -> None:
    # Every optional field both present and absent, fractional amounts and fees.
    refs = mixed_transactions(client, sandbox)
    events_before, events_after = both(lambda: client.list_events(limit=100))
    assert len(events_after.events) == 7
    assert events_before == events_after
    assert {e.transaction.processed_at is None for e in events_after.events} == {True, False}
    assert isinstance(events_after.events[0].transaction.amount, Decimal)
    assert events_after.events[0].created_at.tzinfo is dt.timezone.utc

    page_before, page_after = both(lambda: client.list_transactions(limit=100))
    assert page_before == page_after and len(page_after.transactions) == 4
    found_before, found_after = both(lambda: client.find(refs[1]))
    assert found_before == found_after
    # The same attributes, in the same order, as the generated __init__ stores them.
    assert list(vars(found_before).items()) == list(vars(found_after).items())
    assert list(vars(events_before.events[0]).items()) == list(vars(events_after.events[0]).items())
    assert found_after.amount == Decimal("2500.5") and found_after.fee is not None
    profile_before, profile_after = both(client.profile)
    assert profile_before == profile_after


def test_fields_are_stored_directly_only_when_init_just_stores_them() -> None:
    class Plain:
        def __init__(self, *, a: Any, b: Any) -> None:
            self.a = a
            self.b = b

    class Converts:
        def __init__(self, *, a: Any, b: Any) -> None:
            self.a = str(a)
            self.b = b

    class Adds:
        def __init__(self, *, a: Any, b: Any) -> None:
            self.a = a
            self.b = b
            self.c = None

    class Reorders:
        def __init__(self, *, a: Any, b: Any) -> None:
            self.b = b
            self.a = a

    assert _speedups._init_only_stores(Plain, ["a", "b"])
    for cls in (Converts, Adds, Reorders):
        assert not _speedups._init_only_stores(cls, ["a", "b"]), cls.__name__
    assert _speedups._init_only_stores(pesakit.Transaction, list(vars(_sample_transaction())))


def _sample_transaction() -> Any:
    return pesakit.Transaction(
        reference="r", status=pesakit.TransactionStatus.PENDING, status_raw="pending",
        amount=Decimal("1"), fee=None, kind=pesakit.TransactionKind.CASH_IN, kind_raw="CASHIN",
        provider=None, client=None, merchant=None, created_at=None, processed_at=None,
        user_ref=None, metadata_json=None,
    )


def test_errors_read_the_same(client: pesakit.PaypackClient) -> None:
    def missing() -> Any:
        with pytest.raises(pesakit.PesakitError.NotFound) as caught:
            client.find("no-such-reference")
        e = caught.value
        return (type(e), e.kind, e.summary, e.status, e.gateway_message, e.body)

    before, after = both(missing)
    assert before == after
    assert after[3] == 404


def test_webhooks_lower_and_read_the_same() -> None:
    verifier = pesakit.PaypackWebhookVerifier("demo-webhook-secret")
    body = (
        b'{"event_id":"e1","event_kind":"transaction:processed","created_at":"2026-01-02T10:00:01.5Z",'
        b'"data":{"ref":"r1","kind":"CASHOUT","fee":2.5,"client":"0788123456","amount":1000.75,'
        b'"status":"successful","created_at":"2026-01-02T12:00:00.123456789+02:00",'
        b'"metadata":{"order":"\xc3\xa9t\xc3\xa9"}}}'
    )
    signature_before, signature_after = both(lambda: verifier.sign(body))
    assert signature_before == signature_after
    event_before, event_after = both(lambda: verifier.verify_and_parse(body, signature_after))
    assert event_before == event_after
    assert event_after.transaction.amount == Decimal("1000.75")
    assert event_after.transaction.metadata_json is not None and "été" in event_after.transaction.metadata_json
    assert event_after.created_at == dt.datetime(2026, 1, 2, 10, 0, 1, 500000, tzinfo=dt.timezone.utc)
    with pytest.raises(pesakit.PesakitError.WebhookSignature):
        verifier.verify_and_parse(body + b" ", signature_after)


def raw(rbuf: Any) -> bytes:
    data = ctypes.string_at(rbuf.data, rbuf.len) if rbuf.len else b""
    rbuf.free()
    return data


def test_builder_writes_the_same_bytes() -> None:
    request = _native.CashRequest(
        amount=Decimal("-12.5"), number="+250788123456", idempotency_key="k" * 32,
        webhook_mode=_native.WebhookMode.DEVELOPMENT, validate=False,
    )
    lowered = lambda: raw(_native._UniffiFfiConverterTypeCashRequest.lower(request))  # noqa: E731
    before, after = both(lowered)
    assert before == after and len(after) > 32
    for value in (b"", b"\x00\xff" * 3000):
        before, after = both(lambda: raw(_native._UniffiFfiConverterBytes.lower(value)))
        assert before == after and len(after) == 4 + len(value)


def rust_buffer(data: bytes) -> Any:
    """A Rust buffer holding ``data`` (allocated by the library, freed by a lift)."""
    return _speedups.rust_buffer(data, len(data))


@pytest.mark.parametrize("text", ["", "0788123456", "héllo wörld ✓" * 50])
def test_strings_lower_and_lift_the_same(text: str) -> None:
    converter = _native._UniffiFfiConverterString
    before, after = both(lambda: raw(converter.lower(text)))
    assert before == after == text.encode("utf-8")
    before, after = both(lambda: converter.lift(rust_buffer(text.encode("utf-8"))))
    assert before == after == text


def test_records_lift_the_same_and_junk_after_them_is_refused() -> None:
    request = _native.CashRequest(
        amount=Decimal("100"), number="0788123456", idempotency_key="k" * 32,
        webhook_mode=_native.WebhookMode.DEVELOPMENT, validate=True,
    )
    converter = _native._UniffiFfiConverterTypeCashRequest
    data = raw(converter.lower(request))
    before, after = both(lambda: converter.lift(rust_buffer(data)))
    assert before == after == request
    for speedups in (False, True):
        with contextlib.ExitStack() as stack:
            if not speedups:
                stack.enter_context(generated())
            with pytest.raises(RuntimeError, match="junk data left in buffer"):
                converter.lift(rust_buffer(data + b"\x00"))


def test_records_are_fused_after_the_reads_fusing_must_pay_for() -> None:
    # Fresh stubs with the shipped wait: a program making a few calls never compiles.
    fresh_stubs(READS_BEFORE_FUSING)
    assert READS_BEFORE_FUSING > 0
    request = _native.CashRequest(
        amount=Decimal("100"), number="0788123456", idempotency_key=None,
        webhook_mode=_native.WebhookMode.PRODUCTION, validate=False,
    )
    converter = _native._UniffiFfiConverterTypeCashRequest
    data = raw(converter.lower(request))
    stub = vars(converter)["read"]
    for _ in range(READS_BEFORE_FUSING):
        assert converter.lift(rust_buffer(data)) == request
    assert vars(converter)["read"] is stub, "fused before its reads were made"
    assert converter.lift(rust_buffer(data)) == request
    read = vars(converter)["read"].__func__
    assert read.__code__.co_filename == "<pesakit fused CashRequest reader>"
    assert converter.lift(rust_buffer(data)) == request


@pytest.mark.parametrize("cut", [0, 1, 3, 4, 7])
def test_short_buffers_are_refused_alike(cut: int) -> None:
    # An optional string "hello": flag, length, bytes; cut short at `cut` bytes.
    whole = b"\x01" + (5).to_bytes(4, "big") + b"hello"
    stream = _native._UniffiRustBufferStream(whole[:cut], cut)
    with pytest.raises(_native.InternalError, match="read past end"):
        _native._UniffiFfiConverterOptionalString.read(stream)
    with generated():
        stream = _native._UniffiRustBufferStream(whole[:cut], cut)
        with pytest.raises(_native.InternalError, match="read past end"):
            _native._UniffiFfiConverterOptionalString.read(stream)
    bad_flag = _native._UniffiRustBufferStream(b"\x02", 1)
    with pytest.raises(_native.InternalError, match="flag"):
        _native._UniffiFfiConverterOptionalString.read(bad_flag)


def test_timestamps_before_the_epoch() -> None:
    value = dt.datetime(1960, 5, 6, 7, 8, 9, 123456, tzinfo=dt.timezone.utc)
    lowered = raw(_native._UniffiFfiConverterTimestamp.lower(value)) if hasattr(
        _native._UniffiFfiConverterTimestamp, "lower") else None
    buf = _native._UniffiRustBufferBuilder()
    _native._UniffiFfiConverterTimestamp.write(value, buf)
    data = raw(buf.finalize())
    assert lowered is None or lowered == data
    read = lambda: _native._UniffiFfiConverterTimestamp.read(  # noqa: E731
        _native._UniffiRustBufferStream(data, len(data)))
    before, after = both(read)
    assert before == after == value


def test_quick_calls_keep_the_gil_and_blocking_calls_release_it(sandbox: Sandbox) -> None:
    lib = _native._UniffiLib
    keeps = lambda fn: bool(type(fn)._flags_ & ctypes._FUNCFLAG_PYTHONAPI)  # noqa: E731
    assert keeps(lib.ffi_pesakit_ffi_rustbuffer_free)
    assert keeps(lib.uniffi_pesakit_ffi_fn_clone_paypackclient)
    assert not keeps(lib.uniffi_pesakit_ffi_fn_method_paypackclient_find_blocking)
    with generated():
        assert not keeps(lib.ffi_pesakit_ffi_rustbuffer_free)
    assert keeps(lib.ffi_pesakit_ffi_rustbuffer_free)

    # A blocking call waiting on the gateway lets other Python threads run meanwhile:
    # over a 500 ms wait, a thread ticking every millisecond gets hundreds of ticks (it
    # would get a handful, within one GIL switch interval, if the call kept the GIL).
    client = pesakit.PaypackClient(
        "demo-client-id", "demo-client-secret", base_url=sandbox.paypack_url,
        allow_insecure_loopback=True,
    )
    client.authorize()
    sandbox.fault(path="/paypack/api/transactions/find/", method="GET", kind="delay",
                  delay_ms=500, count=1)
    ticks = [0]
    done = threading.Event()

    def ticker() -> None:
        while not done.wait(0.001):
            ticks[0] += 1

    thread = threading.Thread(target=ticker)
    thread.start()
    try:
        before = ticks[0]
        with pytest.raises(pesakit.PesakitError.NotFound):
            client.find("slow")
        during = ticks[0] - before
    finally:
        done.set()
        thread.join()
    assert during > 100, during
