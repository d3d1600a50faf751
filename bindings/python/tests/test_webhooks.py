"""Webhook verification: valid, tampered, missing, wrong secret; and a real delivery."""

from __future__ import annotations

import datetime as dt
import http.server
import inspect
import json
import threading
from decimal import Decimal
from typing import Callable, Dict, Iterator, List, Tuple

import pytest

import pesakit
from conftest import make_client
from pesakit import _webhooks
from sandbox_helper import CHECKOUT_WEBHOOK_SECRET, WEBHOOK_SECRET, python_prints, Sandbox, wait_until

BODY = {
    "event_id": "evt-1",
    "event_kind": "transaction:processed",
    "created_at": "2024-05-01T10:00:00.123456Z",
    "data": {
        "ref": "ref-1", "kind": "CASHIN", "amount": 1000, "fee": 23, "status": "successful",
        "provider": "mtn", "client": "0788123456", "merchant": "ABC123",
        "created_at": "2024-05-01T11:59:59.123456789+02:00",
        "processed_at": "2024-05-01T12:00:00.12345678+02:00",
    },
}


def raw(body: object = BODY) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


@pytest.fixture
def verifier() -> pesakit.PaypackWebhookVerifier:
    return pesakit.PaypackWebhookVerifier(WEBHOOK_SECRET)


def test_valid(verifier: pesakit.PaypackWebhookVerifier) -> None:
    body = raw()
    event = verifier.verify_and_parse(body, verifier.sign(body))
    assert isinstance(event, pesakit.Event)
    assert event.id == "evt-1"
    assert event.kind is pesakit.EventKind.TRANSACTION_PROCESSED
    tx = event.transaction
    assert tx.reference == "ref-1" and tx.status is pesakit.TransactionStatus.SUCCESSFUL
    assert tx.amount == Decimal("1000") and tx.fee == Decimal("23")
    assert tx.processed_at is not None and tx.processed_at.utcoffset().total_seconds() == 0
    # 12:00:00.12345678+02:00, to Python's microsecond precision (UniFFI rounds).
    expected = dt.datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=dt.timezone.utc)
    assert abs(tx.processed_at - expected) <= dt.timedelta(microseconds=1)
    assert event.created_at == dt.datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=dt.timezone.utc)
    verifier.verify(body, verifier.sign(body))
    assert verifier.signature_header() == "X-Paypack-Signature"


def test_tampered_body(verifier: pesakit.PaypackWebhookVerifier) -> None:
    body = raw()
    signature = verifier.sign(body)
    tampered = body.replace(b'"amount":1000', b'"amount":9000')
    with pytest.raises(pesakit.PesakitError.WebhookSignature) as info:
        verifier.verify_and_parse(tampered, signature)
    e = info.value
    assert e.kind is pesakit.ErrorKind.WEBHOOK_SIGNATURE
    assert str(e) == e.summary
    assert WEBHOOK_SECRET not in str(e) and WEBHOOK_SECRET not in repr(e)


def test_tampered_signature(verifier: pesakit.PaypackWebhookVerifier) -> None:
    body = raw()
    signature = verifier.sign(body)
    bad = ("B" if signature[0] == "A" else "A") + signature[1:]
    with pytest.raises(pesakit.PesakitError.WebhookSignature):
        verifier.verify_and_parse(body, bad)
    with pytest.raises(pesakit.PesakitError.WebhookSignature):
        verifier.verify_and_parse(body, "not base64 !!")


def test_missing_signature(verifier: pesakit.PaypackWebhookVerifier) -> None:
    with pytest.raises(pesakit.PesakitError.WebhookSignature) as info:
        verifier.verify_and_parse(raw(), None)
    assert str(info.value)


def test_wrong_secret(verifier: pesakit.PaypackWebhookVerifier) -> None:
    body = raw()
    other = pesakit.PaypackWebhookVerifier("not-the-secret")
    with pytest.raises(pesakit.PesakitError.WebhookSignature):
        verifier.verify_and_parse(body, other.sign(body))


def test_unknown_kinds_are_kept(verifier: pesakit.PaypackWebhookVerifier) -> None:
    body = raw({**BODY, "event_kind": "transaction:reversed", "data": {**BODY["data"], "status": "reversed"}})
    event = verifier.verify_and_parse(body, verifier.sign(body))
    assert event.kind is pesakit.EventKind.UNKNOWN and event.kind_raw == "transaction:reversed"
    assert event.transaction.status is pesakit.TransactionStatus.UNKNOWN
    assert event.transaction.status_raw == "reversed"


class Receiver:
    """A local HTTP endpoint recording webhook POSTs (raw body and signature header)."""

    def __init__(self) -> None:
        received: List[Tuple[bytes, Dict[str, str]]] = []
        self.received = received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                self.send_response(200)
                self.end_headers()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                received.append((self.rfile.read(length), dict(self.headers.items())))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


def test_a_delivered_webhook_verifies(
    sandbox: Sandbox, receiver: Receiver, verifier: pesakit.PaypackWebhookVerifier
) -> None:
    sandbox.control("POST", "/_sandbox/paypack/webhooks", {"url": receiver.url})
    with make_client(sandbox) as client:
        tx = client.cashin("1000", "0788123456")
    sandbox.settle(tx.reference, "successful")
    wait_until(
        lambda: len(sandbox.control("GET", "/_sandbox/paypack/webhooks/deliveries")) == 2
        and all(d["done"] for d in sandbox.control("GET", "/_sandbox/paypack/webhooks/deliveries")),
        what="two webhook deliveries",
    )
    events = []
    for body, headers in receiver.received:
        signature = {k.lower(): v for k, v in headers.items()}.get("x-paypack-signature")
        events.append(verifier.verify_and_parse(body, signature))
    assert {e.kind for e in events} == {pesakit.EventKind.TRANSACTION_CREATED, pesakit.EventKind.TRANSACTION_PROCESSED}
    assert {e.transaction.reference for e in events} == {tx.reference}


# -- one call into the library (pesakit/_webhooks.py) against the generated methods ---------


def outcome(call: Callable[[], object]) -> Tuple[str, str]:
    """What a call gives: its value's repr (every field) or its exception's type and repr."""
    try:
        return ("value", repr(call()))
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return (type(e).__qualname__, repr(e) if isinstance(e, pesakit.PesakitError) else str(e))


def both_ways(call: Callable[[], object]) -> Tuple[Tuple[str, str], Tuple[str, str]]:
    """``call``'s outcome through the one-call methods, then through the generated ones."""
    assert _webhooks.GENERATED, "the one-call methods are installed on import"
    fast = outcome(call)
    _webhooks.uninstall()
    try:
        generated = outcome(call)
    finally:
        _webhooks.install()
    return fast, generated


def paypack_cases(verifier: pesakit.PaypackWebhookVerifier) -> List[Tuple[str, object, object]]:
    body = raw()
    signature = verifier.sign(body)
    big = raw({**BODY, "data": {**BODY["data"], "metadata": {"note": "é" * 200_000}}})
    unknown = raw({**BODY, "event_kind": "transaction:reversed", "data": {**BODY["data"], "status": "x"}})
    return [
        ("valid", body, signature),
        ("bytearray", bytearray(body), signature),
        ("memoryview", memoryview(body), signature),
        ("a slice of a memoryview", memoryview(b"--" + body + b"--")[2:-2], signature),
        ("a body over 1 MB", big, verifier.sign(big)),
        ("unknown kinds", unknown, verifier.sign(unknown)),
        ("tampered body", body.replace(b"1000", b"9000", 1), signature),
        ("tampered signature", body, signature[::-1]),
        ("signature not base64", body, "not base64 !!"),
        ("signature with non-ASCII text", body, "é" + signature),
        ("missing signature", body, None),
        ("empty signature", body, ""),
        ("empty body", b"", verifier.sign(b"")),
        ("signed body with a NUL byte", body + b"\x00 ", verifier.sign(body + b"\x00 ")),
        ("signed body that is not an event", b"[1,2]", verifier.sign(b"[1,2]")),
        ("body of the wrong type", "text", signature),
        ("signature of the wrong type", body, signature.encode()),
    ]


PAYPACK_CASES = len(paypack_cases(pesakit.PaypackWebhookVerifier(WEBHOOK_SECRET)))


@pytest.mark.parametrize("index", range(PAYPACK_CASES))
def test_one_call_paypack_verification_matches_the_generated_call(
    verifier: pesakit.PaypackWebhookVerifier, index: int
) -> None:
    name, body, signature = paypack_cases(verifier)[index]
    fast, generated = both_ways(lambda: verifier.verify_and_parse(body, signature))  # type: ignore[arg-type]
    assert fast == generated, name
    fast, generated = both_ways(lambda: verifier.verify(body, signature))  # type: ignore[arg-type]
    assert fast == generated, name


def test_one_call_paypack_cases_cover_success_and_each_failure(verifier: pesakit.PaypackWebhookVerifier) -> None:
    kinds = {name: outcome(lambda: verifier.verify_and_parse(b, s))[0] for name, b, s in paypack_cases(verifier)}  # type: ignore[arg-type]
    assert len(kinds) == PAYPACK_CASES == 17
    assert kinds["valid"] == kinds["a body over 1 MB"] == kinds["memoryview"] == "value"
    assert kinds["tampered body"] == kinds["missing signature"] == "PesakitError.WebhookSignature"
    # Signed over every byte, the NUL and what follows it included: the signature holds,
    # and the trailing bytes make it a body that is not one JSON value.
    assert kinds["signed body with a NUL byte"] == "PesakitError.Decode"
    assert kinds["signed body that is not an event"] == "PesakitError.Decode"
    assert kinds["body of the wrong type"] == kinds["signature of the wrong type"] == "TypeError"


def test_one_call_checkout_verification_matches_the_generated_call() -> None:
    verifier = pesakit.CheckoutWebhookVerifier(CHECKOUT_WEBHOOK_SECRET)
    body = json.dumps({"payment": {"id": "p-1", "status": "CONFIRMED"}}).encode()
    ts = str(int(dt.datetime.now(dt.timezone.utc).timestamp()))
    signature = verifier.sign(int(ts), body)
    stale = str(int(ts) - 3600)
    cases = [
        (body, signature, ts, "payment.completed"),
        (bytearray(body), signature, ts, None),
        (body, signature, ts, "payment.disputed"),
        (body, signature, stale, "payment.completed"),
        (body, verifier.sign(int(stale), body), stale, "payment.completed"),
        (body, signature, None, "payment.completed"),
        (body, None, ts, "payment.completed"),
        (body, signature, "not a number", None),
        (body + b" ", signature, ts, None),
        (body, signature, ts, 7),
    ]
    seen = set()
    for b, s, t, e in cases:
        fast, generated = both_ways(lambda: verifier.verify_and_parse(b, s, t, e))  # type: ignore[arg-type]
        assert fast == generated, (b, s, t, e)
        seen.add(fast[0])
    # The event header may be left out, as in the generated method.
    fast, generated = both_ways(lambda: verifier.verify_and_parse(body, signature, ts))
    assert fast == generated and fast[0] == "value"
    assert seen == {"value", "PesakitError.WebhookSignature", "TypeError"}


def test_one_call_verification_from_many_threads(verifier: pesakit.PaypackWebhookVerifier) -> None:
    # The call releases the GIL while Rust verifies: threads share one verifier.
    bodies = [raw({**BODY, "event_id": f"evt-{i}"}) for i in range(8)]
    signatures = [verifier.sign(b) for b in bodies]
    results: Dict[int, List[str]] = {}

    def work(i: int) -> None:
        results[i] = [verifier.verify_and_parse(bodies[i], signatures[i]).id for _ in range(300)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: [f"evt-{i}"] * 300 for i in range(8)}


def test_one_call_methods_keep_their_documentation() -> None:
    for (cls, name), generated in _webhooks.GENERATED.items():
        method = getattr(cls, name)
        assert method is not generated
        assert method.__doc__ == generated.__doc__ and method.__name__ == name
        assert inspect.signature(method) == inspect.signature(generated)


@pytest.mark.parametrize("setting, installed", [("0", False), ("1", True)])
def test_one_call_methods_can_be_switched_off(setting: str, installed: bool) -> None:
    probe = ("import pesakit; "
             "print(hasattr(pesakit.PaypackWebhookVerifier.verify_and_parse, '__wrapped__'))")
    assert python_prints(probe, PESAKIT_PYTHON_SPEEDUPS=setting) == str(installed)
