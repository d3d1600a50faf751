"""Webhook benchmark from Python (group ``webhook``).

    python webhook.py [--body-bytes 1024] [--calls 20000] [--repeat 5] --out FILE

A Paypack webhook body (the events envelope of a processed cash-in, padded through its
``metadata`` to exactly ``--body-bytes``) is signed once, then verified ``--calls`` times;
each figure is the median of ``--repeat`` such runs after one unmeasured run.

* ``python``: ``PaypackWebhookVerifier.verify_and_parse(body, signature)`` — what a
  handler calls: constant-time HMAC-SHA256 check in Rust, then the parsed ``Event``.
* ``python-stdlib-typed``: the hand-written equivalent with the same result: ``hmac`` +
  ``base64`` + ``hmac.compare_digest``, then ``json.loads`` (``parse_float=Decimal``)
  into the dataclasses of ``decode.py`` (``Decimal`` amounts, aware ``datetime``s,
  enums).
* ``python-stdlib``: the same check, then ``json.loads`` into a dict (no typed object).
* ``python-verify``: ``PaypackWebhookVerifier.verify(body, signature)``, the check alone.
* ``python-stdlib-verify``: the hand-written check alone.

One line each: ``{"group":"webhook","client":…,"body_bytes":N,"mb_s":X,"per_call_us":Y}``
(MB = 10^6 bytes of body verified per second).
"""

from __future__ import annotations

import argparse
import base64
import decimal
import hashlib
import hmac
import json
import os
import sys
import time
from typing import Any, Callable, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import decode  # noqa: E402


def webhook_body(size: int) -> bytes:
    """A webhook body of exactly ``size`` bytes (the envelope the emulator sends)."""
    envelope = {
        "event_id": "8a3f4c2e-5b6d-4e7f-9a0b-1c2d3e4f5a6b",
        "event_kind": "transaction:processed",
        "created_at": "2026-01-02T10:00:01.123456Z",
        "data": {
            "ref": "4f1b2c3d-6e7f-4a8b-9c0d-1e2f3a4b5c6d",
            "kind": "CASHIN",
            "fee": 2.3,
            "merchant": "ABC123",
            "client": "0788123456",
            "amount": 100,
            "provider": "mtn",
            "status": "successful",
            "created_at": "2026-01-02T12:00:00.123456789+02:00",
            "processed_at": "2026-01-02T12:00:01.12345678+02:00",
            "metadata": {"note": ""},
        },
    }
    base = len(json.dumps(envelope, separators=(",", ":")).encode())
    if size < base:
        raise SystemExit(f"--body-bytes must be at least {base}")
    envelope["data"]["metadata"]["note"] = "x" * (size - base)  # type: ignore[index]
    body = json.dumps(envelope, separators=(",", ":")).encode()
    assert len(body) == size
    return body


def timed(call: Callable[[], Any], calls: int, repeat: int) -> float:
    """Median seconds of ``repeat`` runs of ``calls`` calls, after one unmeasured run."""
    samples: List[float] = []
    for run in range(repeat + 1):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        if run:
            samples.append(time.perf_counter() - start)
    return _common.median(samples)


def record(client: str, size: int, calls: int, seconds: float) -> dict:
    return {
        "group": "webhook",
        "client": client,
        "body_bytes": size,
        "mb_s": round(size * calls / seconds / 1e6, 3),
        "per_call_us": round(seconds / calls * 1e6, 3),
    }


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--body-bytes", type=int, default=1024)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out")
    args = parser.parse_args(argv)

    import pesakit

    body = webhook_body(args.body_bytes)
    verifier = pesakit.PaypackWebhookVerifier(_common.WEBHOOK_SECRET)
    signature = verifier.sign(body)
    event = verifier.verify_and_parse(body, signature)
    if event.transaction.amount != 100 or event.kind is not pesakit.EventKind.TRANSACTION_PROCESSED:
        raise SystemExit(f"unexpected event: {event!r}")
    key = _common.WEBHOOK_SECRET.encode()

    def stdlib_verify() -> None:
        expected = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest())
        if not hmac.compare_digest(expected, signature.encode()):
            raise ValueError("bad signature")

    def stdlib() -> Any:
        stdlib_verify()
        return json.loads(body)

    def stdlib_typed() -> Any:
        stdlib_verify()
        return decode.decode_event(json.loads(body, parse_float=decimal.Decimal))

    # The same signature must pass every way, and both typed paths read the same event.
    verifier.verify(body, signature)
    stdlib()
    typed = stdlib_typed()
    # (Not the transaction's times: they carry 8-9 fraction digits, which UniFFI rounds to
    # microseconds and Python 3.11's ``fromisoformat`` truncates.)
    if (typed.id, typed.created_at, typed.transaction.amount, typed.transaction.fee) != (
        event.id, event.created_at, event.transaction.amount, event.transaction.fee
    ):
        raise SystemExit(f"the two typed events differ: {typed!r} / {event!r}")
    for client, call in (
        ("python", lambda: verifier.verify_and_parse(body, signature)),
        ("python-stdlib-typed", stdlib_typed),
        ("python-stdlib", stdlib),
        ("python-verify", lambda: verifier.verify(body, signature)),
        ("python-stdlib-verify", stdlib_verify),
    ):
        seconds = timed(call, args.calls, args.repeat)
        _common.emit(args.out, record(client, len(body), args.calls, seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
