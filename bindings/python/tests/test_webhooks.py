"""Webhook verification: valid, tampered, missing, wrong secret; and a real delivery."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from decimal import Decimal
from typing import Dict, Iterator, List, Tuple

import pytest

import pesakit
from conftest import make_client
from sandbox_helper import WEBHOOK_SECRET, Sandbox, wait_until

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
