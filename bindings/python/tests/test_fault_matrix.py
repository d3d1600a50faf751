"""The fault matrix through Python: every operation of every gateway against every fault
the emulator can inject, each case on a fresh emulator over real HTTP, with the outcome
(retried or not, which error kind, what the gateway recorded) read from
``tests/faults/matrix.json`` — the same file the Rust suite runs."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

import pesakit
from sandbox_helper import (
    CHECKOUT_APPLICATION_ID,
    CHECKOUT_CLIENT_ID,
    CHECKOUT_TOKEN,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    OAUTH_CLIENT_ID,
    OAUTH_CLIENT_SECRET,
    PAGA_CLIENT_ID,
    PAGA_CLIENT_SECRET,
    PAGA_RECIPIENT_PHONE,
    PAGA_REDIRECT_URI,
    PAGA_SCOPES,
    Sandbox,
    repo_root,
)

MATRIX: Dict[str, Any] = json.loads((repo_root() / "tests" / "faults" / "matrix.json").read_text())
TIMEOUT = MATRIX["request_timeout_ms"] / 1000
QUICK = dict(allow_insecure_loopback=True, initial_backoff=0.01, max_backoff=0.05, max_retries=3,
             request_timeout=TIMEOUT)
PAGA_USER = "matrix-user"

Run = Callable[[], Any]


def prepare(box: Sandbox, op: Dict[str, Any]) -> Tuple[Any, Run]:
    """The client for ``op``, set up so that the request log then shows only the call under
    test, and the call itself."""
    name = op["name"]
    if op["gateway"] == "paypack":
        c: Any = pesakit.PaypackClient(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
                                       base_url=box.paypack_url, **QUICK)
        if name != "authorize":
            c.profile()
        reference = ""
        if name == "find":
            reference = c.cashin(Decimal(100), "0788123456").reference
            box.settle(reference, "successful")
        calls: Dict[str, Run] = {
            "authorize": c.authorize,
            "cashin": lambda: c.cashin(Decimal(100), "0788123456"),
            "cashout": lambda: c.cashout(Decimal(100), "0788123456"),
            "find": lambda: c.find(reference),
            "list_transactions": c.list_transactions,
            "list_events": c.list_events,
            "profile": c.profile,
        }
        return c, calls[name]
    if op["gateway"] == "checkout":
        if "application" in name:
            tokens = box.oauth_sign_in()
            oauth = pesakit.CheckoutOAuth(tokens["access_token"], OAUTH_CLIENT_ID,
                                          refresh_token=tokens["refresh_token"],
                                          client_secret=OAUTH_CLIENT_SECRET)
            c = pesakit.CheckoutClient(box.checkout_url, oauth=oauth, **QUICK)
        else:
            c = pesakit.CheckoutClient(box.checkout_url, client_token=CHECKOUT_TOKEN,
                                       client_id=CHECKOUT_CLIENT_ID, **QUICK)
        payment = ""
        if name in ("get_payment", "payer_instructions"):
            payment = c.create_checkout(Decimal(25), "USD", "order-0").payment_id
        calls = {
            "create_checkout": lambda: c.create_checkout(Decimal(25), "USD", "order-1"),
            "get_payment": lambda: c.get_payment(payment),
            "payer_instructions": lambda: c.payer_instructions(payment, "bitcoin", "onchain"),
            "payment_applications": c.payment_applications,
            "payment_application": lambda: c.payment_application(CHECKOUT_APPLICATION_ID),
            "create_payment_application": lambda: c.create_payment_application(
                "Matrix shop", "matrix-shop-secret", currency_whitelist=["USD"]),
        }
        return c, calls[name]
    c = pesakit.PagaClient(PAGA_CLIENT_ID, PAGA_CLIENT_SECRET, PAGA_REDIRECT_URI,
                           environment=box.paga_url, **QUICK)
    authorization = c.authorization_url(PAGA_SCOPES, [])
    location = box.paga_redirect(authorization.url())
    if name != "exchange_code":
        c.handle_callback(location, authorization, PAGA_USER)
    calls = {
        "exchange_code": lambda: c.handle_callback(location, authorization, PAGA_USER),
        "merchant_payment": lambda: c.merchant_payment(
            PAGA_USER, "matrix-payment-1", Decimal(1000), "customer-1"),
        "money_transfer": lambda: c.money_transfer(
            PAGA_USER, "matrix-transfer-1", Decimal(250), PAGA_RECIPIENT_PHONE, skip_messaging=True),
        "user_details": lambda: c.user_details(PAGA_USER),
        "one_time_token": lambda: c.one_time_token(PAGA_USER, "matrix-otp-1"),
    }
    return c, calls[name]


def effects(box: Sandbox, op: Dict[str, Any]) -> int:
    """What the gateway has recorded that ``op`` creates."""
    name = op["name"]
    if name in ("cashin", "cashout"):
        return len(box.ledger()["transactions"])
    if name == "create_checkout":
        return len(box.checkout_ledger()["payments"])
    if name == "create_payment_application":
        return len(box.checkout_ledger()["applications"])
    if name == "merchant_payment":
        return len(box.paga_ledger()["payments"])
    if name == "money_transfer":
        return len(box.paga_ledger()["transfers"])
    return 0


REVOKE = {
    "paypack": "/_sandbox/paypack/tokens/revoke",
    "checkout": "/_sandbox/checkout/oauth/expire",
    "paga": "/_sandbox/paga/tokens/expire",
}


def case(op: Dict[str, Any], fault_name: str) -> Optional[str]:
    """Runs one case; returns how it differed from the matrix, or ``None``."""
    row = MATRIX["faults"][fault_name]
    expect = row[op["class"]]
    box = Sandbox()
    try:
        client, call = prepare(box, op)
        with client:
            before = effects(box, op)
            box.clear_requests()
            if row["fault"] is None:
                box.control("POST", REVOKE[op["gateway"]], {"which": "access"})
            else:
                box.fault(**row["fault"], path=op["path"], method=op["method"])
            error: Optional[pesakit.PesakitError] = None
            try:
                call()
            except pesakit.PesakitError as e:
                error = e
            attempts = sum(1 for r in box.requests()
                           if r["method"] == op["method"] and r["path"].startswith(op["path"]))
            created = effects(box, op) - before
    finally:
        box.close()
    problems: List[str] = []
    got = "ok" if error is None else error.kind.name.lower()
    if got != expect["outcome"]:
        problems.append(f"outcome {got} (expected {expect['outcome']})")
    if attempts != expect["attempts"]:
        problems.append(f"{attempts} attempts (expected {expect['attempts']})")
    if op["creates"] and created != expect["effects"]:
        problems.append(f"{created} created (expected {expect['effects']})")
    if error is not None:
        text = str(error)
        if text != error.summary:
            problems.append(f"str(error) is not its summary: {text!r}")
        if op["creates"] and expect["effects"] == 1 and "look" not in text:
            problems.append(f"the error does not say how to find out: {text}")
        if error.status is not None and f"HTTP {error.status}" not in text:
            problems.append(f"the error text omits its status: {text}")
    if problems:
        return f"{op['gateway']} {op['name']} × {fault_name}: {', '.join(problems)}; error: {error}"
    return None


@pytest.mark.parametrize("op", MATRIX["operations"], ids=lambda op: f"{op['gateway']}-{op['name']}")
def test_every_fault(op: Dict[str, Any]) -> None:
    faults = [name for name, row in MATRIX["faults"].items()
              if row["fault"] is not None or op.get("token_revoked", True)]
    with ThreadPoolExecutor(max_workers=len(faults)) as pool:
        results = list(pool.map(lambda name: case(op, name), faults))
    failures = [r for r in results if r is not None]
    assert not failures, "\n".join(failures)
    assert len(faults) == (13 if op.get("token_revoked", True) else 12)
