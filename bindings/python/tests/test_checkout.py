"""The hosted-checkout clients against the emulator's ``/checkout``, over real HTTP.

Every operation runs through the blocking client and the asyncio one (the ``checkout``
fixture), each against a fresh emulator.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import threading
import uuid
from decimal import Decimal
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

import pesakit
from conftest import CheckoutApi, make_async_checkout_client, make_checkout_client, run
from sandbox_helper import (
    CHECKOUT_APPLICATION_ID,
    CHECKOUT_APPLICATION_NAME,
    CHECKOUT_CLIENT_ID,
    CHECKOUT_LIMITED_TOKEN,
    CHECKOUT_TOKEN,
    CHECKOUT_WEBHOOK_SECRET,
    OAUTH_CLIENT_ID,
    OAUTH_CLIENT_SECRET,
    OAUTH_PASSWORD,
    Sandbox,
    WebhookReceiver,
    wait_until,
)
from conftest import DictStore

CREATE_PATH = "/checkout/api/payment/checkout"
PAYMENT_PATH = "/checkout/api/payment/"
APPLICATIONS_PATH = "/checkout/api/payment-applications"
TOKEN_PATH = "/checkout/oauth/token"
APP_SECRET = "second-shop-webhook-secret"


def logged(sandbox: Sandbox, method: str, path: str) -> List[Dict[str, Any]]:
    """The logged requests with this method and a path starting with ``path``."""
    return [r for r in sandbox.requests() if r["method"] == method and r["path"].startswith(path)]


def sent_bodies(sandbox: Sandbox) -> List[Dict[str, Any]]:
    """The JSON bodies of the create-checkout requests, oldest first."""
    return [json.loads(r["body"]) for r in logged(sandbox, "POST", CREATE_PATH)]


def oauth_for(tokens: Dict[str, Any], *, refresh: bool = True) -> pesakit.CheckoutOAuth:
    """The ``CheckoutOAuth`` of a raw sign-in."""
    return pesakit.CheckoutOAuth(
        tokens["access_token"],
        OAUTH_CLIENT_ID,
        refresh_token=tokens["refresh_token"] if refresh else None,
        client_secret=OAUTH_CLIENT_SECRET,
    )


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    try:
        yield r
    finally:
        r.close()


# -- create checkout, get payment ---------------------------------------------------


def test_create_checkout_then_get_payment(checkout: CheckoutApi, sandbox: Sandbox) -> None:
    created = checkout.create_checkout(Decimal("100.50"), "USD", "order-1001", reference_label="Order 1001")
    assert isinstance(created, pesakit.Checkout)
    assert uuid.UUID(created.payment_id)
    assert f"/checkout/checkout/{created.payment_id}?" in created.checkout_url
    assert created.checkout_url.startswith(sandbox.checkout_url)
    assert created.expires_at is not None and created.expires_at.utcoffset() == dt.timedelta(0)
    assert dt.timedelta(minutes=55) < created.expires_at - dt.datetime.now(dt.timezone.utc) <= dt.timedelta(hours=1)

    [body] = sent_bodies(sandbox)
    assert body == {
        "amount": 10050, "currencyCode": "USD", "reference": "order-1001",
        "referenceLabel": "Order 1001", "clientId": CHECKOUT_CLIENT_ID,
    }
    [request] = logged(sandbox, "POST", CREATE_PATH)
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["authorization"] == f"Bearer {CHECKOUT_TOKEN}"
    assert headers["accept"] == "application/json"

    payment = checkout.get_payment(created.payment_id)
    assert isinstance(payment, pesakit.Payment)
    assert payment.id == created.payment_id
    assert payment.status is pesakit.PaymentStatus.OPEN and payment.status_raw == "OPEN"
    assert payment.reference == "order-1001" and payment.reference_label == "Order 1001"
    assert payment.currency_code == "USD" and payment.user_id == "1"
    assert payment.amount == pesakit.Money(value=Decimal("100.5"), minor_units=10050, formatted="100.50 USD")
    assert isinstance(payment.amount.value, Decimal)
    assert payment.received_amount is None and payment.settled_amount is None
    assert payment.found_at is None and payment.confirmed_at is None
    assert payment.date is not None and payment.date.tzinfo is not None


def test_payment_moves_through_its_statuses(checkout: CheckoutApi, sandbox: Sandbox) -> None:
    created = checkout.create_checkout("25", "USD", "order-2")
    sandbox.payment_status(created.payment_id, "UNDERPAID", received_minor=1000)
    payment = checkout.get_payment(created.payment_id)
    assert payment.status is pesakit.PaymentStatus.UNDERPAID
    assert payment.received_amount is not None and payment.received_amount.minor_units == 1000
    assert payment.received_amount.value == Decimal("10")
    assert payment.found_at is not None and payment.confirmed_at is None
    sandbox.payment_status(created.payment_id, "CONFIRMED", received_minor=2500)
    payment = checkout.get_payment(created.payment_id)
    assert payment.status is pesakit.PaymentStatus.CONFIRMED
    assert payment.confirmed_at is not None
    assert payment.settled_amount is not None and payment.settled_amount.minor_units == 2500


@pytest.mark.parametrize(
    "amount, currency, minor, exponent",
    [
        (Decimal("100.50"), "USD", 10050, None),
        ("100.5", "usd", 10050, None),
        (100, "USD", 10000, None),
        ("0.01", "EUR", 1, None),
        (5000, "RWF", 5000, None),
        ("5000", "RWF", 5000, None),
        (Decimal("5000.000"), "RWF", 5000, None),
        ("1.234", "BHD", 1234, None),
        (Decimal("0.00012345"), "BTC", 12345, None),
        ("1.5", "XYZ", 150, 2),
    ],
)
def test_amounts_are_sent_in_minor_units(
    checkout: CheckoutApi, sandbox: Sandbox, amount: Any, currency: str, minor: int, exponent: Optional[int]
) -> None:
    created = checkout.create_checkout(amount, currency, "order-minor", exponent=exponent)
    [body] = sent_bodies(sandbox)
    assert body["amount"] == minor and isinstance(body["amount"], int)
    assert body["currencyCode"] == currency.upper()
    payment = checkout.get_payment(created.payment_id)
    assert payment.amount is not None and payment.amount.minor_units == minor


@pytest.mark.parametrize(
    "amount, currency, exponent",
    [
        ("100.505", "USD", None),
        (Decimal("0.001"), "USD", None),
        ("5000.5", "RWF", None),
        (Decimal("1.0001"), "BHD", None),
        ("0.000000001", "BTC", None),
        ("1.55", "XYZ", 1),
    ],
)
def test_too_many_digits_is_a_validation_error_and_nothing_is_sent(
    checkout: CheckoutApi, sandbox: Sandbox, amount: Any, currency: str, exponent: Optional[int]
) -> None:
    with pytest.raises(pesakit.PesakitError.Validation) as info:
        checkout.create_checkout(amount, currency, "order-digits", exponent=exponent)
    e = info.value
    assert e.kind is pesakit.ErrorKind.VALIDATION and e.status is None
    assert str(e) == e.summary and currency.upper() in str(e)
    assert sandbox.requests() == []


@pytest.mark.parametrize(
    "amount, currency, reference, message",
    [
        ("0", "USD", "r", "greater than zero"),
        ("-5", "USD", "r", "greater than zero"),
        ("10", "XYZ", "r", "exponent"),
        ("10", "", "r", "currency"),
        ("10", "USD", "  ", "reference"),
        ("ten", "USD", "r", "decimal"),
        ("NaN", "USD", "r", "decimal"),
    ],
)
def test_local_validation(
    checkout: CheckoutApi, sandbox: Sandbox, amount: str, currency: str, reference: str, message: str
) -> None:
    with pytest.raises(pesakit.PesakitError.Validation) as info:
        checkout.create_checkout(amount, currency, reference)
    assert message in str(info.value)
    assert sandbox.requests() == []


def test_floats_and_wrong_types_are_refused(checkout: CheckoutApi, sandbox: Sandbox) -> None:
    with pytest.raises(TypeError, match="float"):
        checkout.create_checkout(100.5, "USD", "order-float")
    with pytest.raises(TypeError):
        checkout.create_checkout(True, "USD", "order-bool")
    with pytest.raises(TypeError, match="currency"):
        checkout.create_checkout("1", None, "order")
    with pytest.raises(TypeError, match="exponent"):
        checkout.create_checkout("1", "XYZ", "order", exponent="2")
    with pytest.raises(ValueError, match="exponent"):
        checkout.create_checkout("1", "XYZ", "order", exponent=-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        checkout.create_checkout("1", "USD", "order", expires_at=dt.datetime(2030, 1, 1))
    with pytest.raises(TypeError, match="id"):
        checkout.get_payment(42)
    assert sandbox.requests() == []


def test_optional_fields_are_sent(checkout: CheckoutApi, sandbox: Sandbox) -> None:
    expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)).replace(microsecond=0)
    local = expires.astimezone(dt.timezone(dt.timedelta(hours=2)))
    created = checkout.create_checkout(
        "12.34", "USD", "order-opt",
        redirect_url="https://shop.example/thanks", expires_at=local, product_id="sku-9",
        settlement_currency="eur",
    )
    [body] = sent_bodies(sandbox)
    assert body["redirectUrl"] == "https://shop.example/thanks"
    assert body["productId"] == "sku-9"
    assert body["settlementCurrencyCode"] == "EUR"
    assert body["referenceLabel"] == "order-opt"  # defaults to the reference
    sent = dt.datetime.fromisoformat(body["expiresAt"].replace("Z", "+00:00"))
    assert sent == expires
    assert created.expires_at == expires
    [payment] = sandbox.checkout_ledger()["payments"]
    assert payment["redirectUrl"] == "https://shop.example/thanks" and payment["productId"] == "sku-9"
    assert checkout.get_payment(created.payment_id).settlement_currency_code == "EUR"


def test_site_id_is_sent_instead_of_the_client_id(checkout: CheckoutApi, sandbox: Sandbox) -> None:
    checkout.create_checkout("1", "USD", "order-site", site_id=CHECKOUT_APPLICATION_ID)
    [body] = sent_bodies(sandbox)
    assert body["siteId"] == CHECKOUT_APPLICATION_ID and "clientId" not in body


def test_unknown_payment_is_not_found(checkout: CheckoutApi) -> None:
    with pytest.raises(pesakit.PesakitError.NotFound) as info:
        checkout.get_payment(str(uuid.uuid4()))
    e = info.value
    assert e.status == 404 and e.kind is pesakit.ErrorKind.NOT_FOUND
    assert str(e) == e.summary and e.field_errors == []


def test_concurrent_checkouts(sandbox: Sandbox) -> None:
    async def main() -> List[pesakit.Checkout]:
        async with make_async_checkout_client(sandbox) as client:
            return await asyncio.gather(*[client.create_checkout("5", "USD", f"order-{i}") for i in range(8)])

    created = run(main())
    assert len({c.payment_id for c in created}) == 8
    assert len(sandbox.checkout_ledger()["payments"]) == 8


# -- payer instructions -------------------------------------------------------------


def test_payer_instructions_are_a_dict(checkout: CheckoutApi) -> None:
    created = checkout.create_checkout("100.50", "USD", "order-pay")
    instructions = checkout.payer_instructions(created.payment_id, "bitcoin", "onchain")
    assert isinstance(instructions, dict)
    assert instructions["provider"] == "bitcoin" and instructions["method"] == "onchain"
    assert instructions["amount"] == {"value": Decimal("100.5"), "amount": 10050, "formatted": "100.50 USD"}
    assert isinstance(instructions["amount"]["value"], Decimal)  # money is never a float
    assert instructions["extra"] == {"memo": "order-pay"}
    assert instructions["qrCode"].startswith("data:image/svg+xml;base64,")
    again = checkout.payer_instructions(created.payment_id, "bitcoin", "onchain")
    assert again["address"] == instructions["address"]
    other = checkout.payer_instructions(created.payment_id, "ethereum", "erc20")
    assert other["provider"] == "ethereum" and other["method"] == "erc20"


def test_payer_instructions_for_an_unknown_provider(checkout: CheckoutApi) -> None:
    created = checkout.create_checkout("1", "USD", "order-pay")
    with pytest.raises(pesakit.PesakitError.Validation) as info:
        checkout.payer_instructions(created.payment_id, "dogecoin", "onchain")
    e = info.value
    assert e.status == 422
    assert [f.field for f in e.field_errors] == ["provider"]
    assert e.field_errors[0].messages and "provider" in e.field_errors[0].messages[0]


# -- errors: scope, validation, retries ------------------------------------------------


def test_a_missing_scope_is_named_and_never_retried(sandbox: Sandbox) -> None:
    for mode in ("sync", "async"):
        sandbox.clear_requests()
        limited = CheckoutApi(sandbox, mode, client_token=CHECKOUT_LIMITED_TOKEN)
        try:
            with pytest.raises(pesakit.PesakitError.Permission) as info:
                limited.create_checkout("10", "USD", "order-403")
            e = info.value
            assert e.kind is pesakit.ErrorKind.PERMISSION and e.status == 403
            assert e.gateway_message == "Insufficient permissions"
            assert "payments.create" in str(e) and str(e) == e.summary
            assert CHECKOUT_LIMITED_TOKEN not in str(e) + repr(e)
            assert len(logged(sandbox, "POST", CREATE_PATH)) == 1

            # The limited token may read payments ...
            created = make_checkout_client(sandbox).create_checkout("10", "USD", "order-ok")
            assert limited.get_payment(created.payment_id).id == created.payment_id
            # ... but not payer instructions, and a read answered 403 is not retried either.
            sandbox.clear_requests()
            with pytest.raises(pesakit.PesakitError.Permission) as info:
                limited.payer_instructions(created.payment_id, "bitcoin", "onchain")
            assert "payments.user-instructions.get" in str(info.value)
            assert len(logged(sandbox, "GET", PAYMENT_PATH)) == 1
        finally:
            limited.close()


def test_gateway_validation_carries_field_errors(checkout: CheckoutApi, sandbox: Sandbox) -> None:
    checkout.close()
    unknown = CheckoutApi(sandbox, checkout.mode, client_id="x" * 32)
    try:
        with pytest.raises(pesakit.PesakitError.Validation) as info:
            unknown.create_checkout("10", "USD", "order-422")
    finally:
        unknown.close()
    e = info.value
    assert e.kind is pesakit.ErrorKind.VALIDATION and e.status == 422
    assert e.gateway_message == "The given data was invalid."
    assert e.field_errors, "a 422 carries its field errors"
    assert [f.field for f in e.field_errors] == ["clientId"]
    assert isinstance(e.field_errors[0], pesakit.FieldError)
    assert e.field_errors[0].messages == ["The selected client id is invalid."]
    assert str(e) == e.summary and "clientId" in str(e)
    assert "field_errors=[FieldError(field=clientId, messages=['The selected client id is invalid.'])]" in repr(e)
    assert e.body and json.loads(e.body)["errors"] == {"clientId": ["The selected client id is invalid."]}
    assert len(logged(sandbox, "POST", CREATE_PATH)) == 1


def test_create_checkout_is_not_retried_after_a_503(checkout: CheckoutApi, sandbox: Sandbox) -> None:
    sandbox.fault(path=CREATE_PATH, method="POST", kind="status", status=503, count=1)
    with pytest.raises(pesakit.PesakitError.Gateway) as info:
        checkout.create_checkout("10", "USD", "order-503")
    e = info.value
    assert e.status == 503 and e.gateway_message == "injected fault"
    assert "order-503" in str(e)  # look the reference up before creating another
    assert len(logged(sandbox, "POST", CREATE_PATH)) == 1
    assert sandbox.checkout_ledger()["payments"] == []


def test_create_checkout_is_not_retried_after_a_lost_answer(checkout: CheckoutApi, sandbox: Sandbox) -> None:
    sandbox.fault(path=CREATE_PATH, method="POST", kind="drop_after", count=1)
    with pytest.raises(pesakit.PesakitError.Network):
        checkout.create_checkout("10", "USD", "order-drop")
    assert len(logged(sandbox, "POST", CREATE_PATH)) == 1
    assert len(sandbox.checkout_ledger()["payments"]) == 1  # it did arrive


def test_create_checkout_is_not_retried_after_a_timeout(sandbox: Sandbox) -> None:
    sandbox.fault(path=CREATE_PATH, method="POST", kind="delay", delay_ms=2000, count=1)
    with make_checkout_client(sandbox, request_timeout=0.3) as client:
        with pytest.raises(pesakit.PesakitError.Timeout) as info:
            client.create_checkout("10", "USD", "order-slow")
    assert "order-slow" in str(info.value)
    assert len(logged(sandbox, "POST", CREATE_PATH)) == 1


def test_create_checkout_is_retried_after_a_429(checkout: CheckoutApi, sandbox: Sandbox) -> None:
    sandbox.fault(path=CREATE_PATH, method="POST", kind="status", status=429, count=1)
    created = checkout.create_checkout("10", "USD", "order-429")
    assert [r["status"] for r in logged(sandbox, "POST", CREATE_PATH)] == [429, 200]
    assert [p["id"] for p in sandbox.checkout_ledger()["payments"]] == [created.payment_id]


def test_reads_are_retried(checkout: CheckoutApi, sandbox: Sandbox) -> None:
    created = checkout.create_checkout("10", "USD", "order-read")
    sandbox.clear_requests()
    sandbox.fault(path=PAYMENT_PATH, method="GET", kind="status", status=503, count=2)
    assert checkout.get_payment(created.payment_id).id == created.payment_id
    assert [r["status"] for r in logged(sandbox, "GET", PAYMENT_PATH)] == [503, 503, 200]


def test_rate_limit_carries_retry_after(sandbox: Sandbox) -> None:
    with make_checkout_client(sandbox, max_retries=0) as client:
        sandbox.fault(path=CREATE_PATH, kind="status", status=429, retry_after=3)
        with pytest.raises(pesakit.PesakitError.RateLimited) as info:
            client.create_checkout("10", "USD", "order-rl")
    assert info.value.retry_after_ms == 3000 and info.value.status == 429


def test_wrong_client_token(checkout: CheckoutApi, sandbox: Sandbox) -> None:
    with make_checkout_client(sandbox, client_token="not-a-token") as client:
        with pytest.raises(pesakit.PesakitError.Authentication) as info:
            client.get_payment(str(uuid.uuid4()))
    assert info.value.status == 401 and "not-a-token" not in str(info.value) + repr(info.value)


def test_each_credential_for_its_own_calls(sandbox: Sandbox) -> None:
    with make_checkout_client(sandbox) as client:
        with pytest.raises(pesakit.PesakitError.Configuration, match="OAuth"):
            client.payment_applications()
    oauth = oauth_for(sandbox.oauth_sign_in())
    with make_checkout_client(sandbox, client_token=None, oauth=oauth) as client:
        with pytest.raises(pesakit.PesakitError.Configuration, match="client token"):
            client.create_checkout("1", "USD", "order")
    assert logged(sandbox, "POST", CREATE_PATH) == [] and logged(sandbox, "GET", APPLICATIONS_PATH) == []


# -- OAuth: payment applications --------------------------------------------------------


def test_payment_applications_with_oauth_refresh_and_rotation(checkout: CheckoutApi, sandbox: Sandbox) -> None:
    checkout.close()
    signed_in = sandbox.oauth_sign_in()
    store = DictStore()
    api = CheckoutApi(sandbox, checkout.mode, oauth=oauth_for(signed_in), token_store=store)
    try:
        [default] = api.payment_applications()
        assert isinstance(default, pesakit.PaymentApplication)
        assert default.id == CHECKOUT_APPLICATION_ID and default.name == CHECKOUT_APPLICATION_NAME
        assert default.client_id == CHECKOUT_CLIENT_ID
        assert default.created_at is not None and default.created_at.tzinfo is not None
        assert json.loads(default.raw_json)["site"]["id"] is not None

        one = api.payment_application(CHECKOUT_APPLICATION_ID)
        assert one.id == default.id and one.client_id == CHECKOUT_CLIENT_ID

        created = api.create_payment_application(
            "Second shop", APP_SECRET, url="https://second.example",
            callback_url="https://second.example/hooks", currency_whitelist=["USD", "EUR"],
            allow_underpay=True, allow_overpay=False,
        )
        assert created.name == "Second shop" and created.id != default.id
        assert created.client_id is not None and len(created.client_id) == 32
        assert created.currency_whitelist == ["USD", "EUR"]
        assert created.allow_underpay is True and created.allow_overpay is False
        assert created.callback_url == "https://second.example/hooks"
        assert APP_SECRET not in repr(created) and APP_SECRET not in created.raw_json
        assert [a.name for a in api.payment_applications()] == [CHECKOUT_APPLICATION_NAME, "Second shop"]
        assert api.payment_application(created.id).name == "Second shop"
        assert [a["secret"] for a in sandbox.checkout_ledger()["applications"]][1] == APP_SECRET
        with pytest.raises(pesakit.PesakitError.NotFound):
            api.payment_application("999")
        assert logged(sandbox, "POST", TOKEN_PATH)[1:] == []  # only the sign-in so far

        # The access token expires: the next call refreshes once, and the refresh token rotates.
        sandbox.clear_requests()
        sandbox.oauth_expire()
        assert len(api.payment_applications()) == 2
        assert len(logged(sandbox, "POST", TOKEN_PATH)) == 1
        assert [r["status"] for r in logged(sandbox, "GET", APPLICATIONS_PATH)] == [401, 200]
        [(key, tokens)] = store.tokens.items()
        assert key.startswith("checkout-oauth|") and key.endswith(f"|{OAUTH_CLIENT_ID}")
        assert tokens.refresh_token() not in (None, signed_in["refresh_token"])
        assert tokens.access_token() != signed_in["access_token"]
        headers = {k.lower(): v for k, v in logged(sandbox, "GET", APPLICATIONS_PATH)[-1]["headers"].items()}
        assert headers["authorization"] == f"Bearer {tokens.access_token()}"

        # The new pair keeps working without another refresh.
        api.payment_application(CHECKOUT_APPLICATION_ID)
        assert len(logged(sandbox, "POST", TOKEN_PATH)) == 1
    finally:
        api.close()


def test_oauth_validation_carries_field_errors(sandbox: Sandbox) -> None:
    with make_checkout_client(sandbox, oauth=oauth_for(sandbox.oauth_sign_in())) as client:
        with pytest.raises(pesakit.PesakitError.Validation) as info:
            client.create_payment_application(
                "Bad shop", APP_SECRET, callback_url="not a url", currency_whitelist=["USD", "us"]
            )
        e = info.value
        assert e.status == 422
        assert sorted(f.field for f in e.field_errors) == ["callbackUrl", "currencyWhitelist.1"]
        assert APP_SECRET not in str(e) + repr(e)
        # Checked before sending: no request.
        sandbox.clear_requests()
        with pytest.raises(pesakit.PesakitError.Validation, match="3 to 255"):
            client.create_payment_application("ab", APP_SECRET)
        with pytest.raises(pesakit.PesakitError.Validation, match="secret"):
            client.create_payment_application("Shop", "")
        with pytest.raises(TypeError, match="currency_whitelist"):
            client.create_payment_application("Shop", APP_SECRET, currency_whitelist="USD")
        assert sandbox.requests() == []


def test_create_payment_application_is_not_retried_after_a_503(sandbox: Sandbox) -> None:
    with make_checkout_client(sandbox, oauth=oauth_for(sandbox.oauth_sign_in())) as client:
        sandbox.fault(path=APPLICATIONS_PATH, method="POST", kind="status", status=503, count=1)
        with pytest.raises(pesakit.PesakitError.Gateway):
            client.create_payment_application("Third shop", APP_SECRET)
    assert len(logged(sandbox, "POST", APPLICATIONS_PATH)) == 1


def test_a_token_store_keeps_the_oauth_tokens_for_the_next_client(sandbox: Sandbox) -> None:
    signed_in = sandbox.oauth_sign_in()
    store = DictStore()
    with make_checkout_client(sandbox, oauth=oauth_for(signed_in), token_store=store) as first:
        first.payment_applications()
        sandbox.oauth_expire()
        first.payment_applications()  # refreshes: the sign-in's tokens are revoked now
    rotated = store.tokens[next(iter(store.tokens))]
    assert rotated.refresh_token() != signed_in["refresh_token"]

    # A second client, handed the (now stale) sign-in tokens, starts from the stored ones.
    sandbox.clear_requests()
    second = make_async_checkout_client(sandbox, oauth=oauth_for(signed_in), token_store=store)
    try:
        assert [a.name for a in run(second.payment_applications())] == [CHECKOUT_APPLICATION_NAME]
    finally:
        second.close()
    assert logged(sandbox, "POST", TOKEN_PATH) == []
    [request] = logged(sandbox, "GET", APPLICATIONS_PATH)
    assert request["status"] == 200
    assert {k.lower(): v for k, v in request["headers"].items()}["authorization"] == f"Bearer {rotated.access_token()}"


def test_tokens_round_trip_through_json(sandbox: Sandbox) -> None:
    """A store that keeps TokenSet.to_json() text (as a database would) works the same."""

    class JsonStore(pesakit.TokenStore):
        def __init__(self) -> None:
            self.rows: Dict[str, str] = {}

        def load(self, key: str) -> Optional[pesakit.TokenSet]:
            text = self.rows.get(key)
            return None if text is None else pesakit.TokenSet.from_json(text)

        def save(self, key: str, tokens: pesakit.TokenSet) -> None:
            self.rows[key] = tokens.to_json()

        def clear(self, key: str) -> None:
            self.rows.pop(key, None)

    store = JsonStore()
    signed_in = sandbox.oauth_sign_in()
    with make_checkout_client(sandbox, oauth=oauth_for(signed_in), token_store=store) as client:
        client.payment_applications()
        sandbox.oauth_expire()
        client.payment_applications()
    with make_checkout_client(sandbox, oauth=oauth_for(signed_in), token_store=store) as client:
        sandbox.clear_requests()
        assert client.payment_application(CHECKOUT_APPLICATION_ID).name == CHECKOUT_APPLICATION_NAME
    assert logged(sandbox, "POST", TOKEN_PATH) == []


def test_without_a_refresh_token_an_expired_token_asks_to_sign_in_again(sandbox: Sandbox) -> None:
    with make_checkout_client(sandbox, oauth=oauth_for(sandbox.oauth_sign_in(), refresh=False)) as client:
        client.payment_applications()
        sandbox.oauth_expire()
        with pytest.raises(pesakit.PesakitError.Authentication) as info:
            client.payment_applications()
    assert "sign in again" in str(info.value)


def test_an_expired_refresh_token_asks_to_sign_in_again(sandbox: Sandbox) -> None:
    with make_checkout_client(sandbox, oauth=oauth_for(sandbox.oauth_sign_in())) as client:
        client.payment_applications()
        sandbox.oauth_expire("all")
        with pytest.raises(pesakit.PesakitError.Authentication):
            client.payment_applications()


# -- webhooks --------------------------------------------------------------------------


def deliveries(sandbox: Sandbox, receiver: WebhookReceiver, n: int) -> List[Tuple[bytes, Dict[str, str]]]:
    wait_until(
        lambda: len(sandbox.checkout_deliveries()) == n and all(d["done"] for d in sandbox.checkout_deliveries()),
        what=f"{n} checkout webhook deliveries",
    )
    assert len(receiver.received) == n
    return list(receiver.received)


def verify(verifier: pesakit.CheckoutWebhookVerifier, body: bytes, headers: Dict[str, str]) -> pesakit.CheckoutWebhookEvent:
    return verifier.verify_and_parse(
        body,
        headers.get("x-paymentservice-signature"),
        headers.get("x-paymentservice-timestamp"),
        headers.get("x-paymentservice-event"),
    )


def test_webhooks_from_the_gateway_verify(checkout: CheckoutApi, sandbox: Sandbox, receiver: WebhookReceiver) -> None:
    sandbox.checkout_config(callback_url=receiver.url, webhook_retry_delays_ms=[10])
    created = checkout.create_checkout("100.50", "USD", "order-hook")
    sandbox.payment_status(created.payment_id, "RECEIVED")
    wait_until(lambda: len(receiver.received) == 1, what="the first webhook")
    sandbox.payment_status(created.payment_id, "CONFIRMED")
    received = deliveries(sandbox, receiver, 2)

    verifier = checkout.webhook_verifier()
    assert isinstance(verifier, pesakit.CheckoutWebhookVerifier)
    events = [verify(verifier, body, headers) for body, headers in received]
    assert [e.kind for e in events] == [pesakit.CheckoutEventKind.PAYMENT_RECEIVED, pesakit.CheckoutEventKind.PAYMENT_COMPLETED]
    assert [e.kind_raw for e in events] == ["payment.received", "payment.completed"]
    received_event, completed = events
    assert isinstance(completed, pesakit.CheckoutWebhookEvent)
    assert completed.payment.id == created.payment_id and completed.payment.reference == "order-hook"
    assert completed.payment.status is pesakit.PaymentStatus.CONFIRMED
    assert completed.payment.amount is not None and completed.payment.amount.minor_units == 10050
    assert received_event.payment.status is pesakit.PaymentStatus.RECEIVED
    now = dt.datetime.now(dt.timezone.utc)
    assert abs(completed.timestamp - now) < dt.timedelta(minutes=1)
    assert completed.timestamp.tzinfo is not None

    body, headers = received[1]
    signature = headers["x-paymentservice-signature"]
    timestamp = headers["x-paymentservice-timestamp"]
    event = headers["x-paymentservice-event"]
    assert re.fullmatch(r"[0-9a-f]{64}", signature)
    assert verifier.sign(int(timestamp), body) == signature

    # A tampered body, a tampered timestamp, missing headers, another secret: refused.
    tampered = body.replace(b'"amount":10050', b'"amount":99999', 1)
    assert tampered != body
    refused = [
        (tampered, signature, timestamp),
        (body, signature, str(int(timestamp) + 1)),
        (body, signature, str(int(timestamp) - 1)),
        (body, ("1" if signature[0] == "0" else "0") + signature[1:], timestamp),
        (body, None, timestamp),
        (body, signature, None),
    ]
    for b, s, t in refused:
        with pytest.raises(pesakit.PesakitError.WebhookSignature) as info:
            verifier.verify_and_parse(b, s, t, event)
        assert str(info.value) == info.value.summary
        assert CHECKOUT_WEBHOOK_SECRET not in str(info.value) + repr(info.value)
    with pytest.raises(pesakit.PesakitError.WebhookSignature):
        pesakit.CheckoutWebhookVerifier("not-the-secret").verify_and_parse(body, signature, timestamp, event)

    # Stale: the same delivery an hour later is outside the 300 s window.
    signed_at = dt.datetime.fromtimestamp(int(timestamp), dt.timezone.utc)
    ok = verifier.verify_and_parse_at(body, signature, timestamp, signed_at + dt.timedelta(seconds=10), event)
    assert ok.payment.id == created.payment_id
    with pytest.raises(pesakit.PesakitError.WebhookSignature) as info:
        verifier.verify_and_parse_at(body, signature, timestamp, signed_at + dt.timedelta(hours=1), event)
    assert str(info.value)
    with pytest.raises(pesakit.PesakitError.WebhookSignature):
        verifier.verify_and_parse_at(body, signature, timestamp, signed_at - dt.timedelta(hours=1), event)
    # A wider tolerance accepts it.
    patient = pesakit.CheckoutWebhookVerifier(CHECKOUT_WEBHOOK_SECRET, tolerance_secs=7200)
    patient.verify_and_parse_at(body, signature, timestamp, signed_at + dt.timedelta(hours=1), event)


def test_webhooks_of_an_application_created_over_the_api(sandbox: Sandbox, receiver: WebhookReceiver) -> None:
    sandbox.checkout_config(webhook_retry_delays_ms=[10])
    with make_checkout_client(sandbox, oauth=oauth_for(sandbox.oauth_sign_in())) as client:
        app = client.create_payment_application("Hook shop", APP_SECRET, callback_url=receiver.url)
        created = client.create_checkout("3000", "RWF", "order-app", site_id=app.id)
        sandbox.payment_status(created.payment_id, "UNDERPAID")
        [(body, headers)] = deliveries(sandbox, receiver, 1)
        # Signed with that application's secret, not the client's webhook secret.
        with pytest.raises(pesakit.PesakitError.WebhookSignature):
            verify(client.webhook_verifier(), body, headers)
    event = verify(pesakit.CheckoutWebhookVerifier(APP_SECRET), body, headers)
    assert event.kind is pesakit.CheckoutEventKind.PAYMENT_UNDERPAID
    assert event.payment.currency_code == "RWF"
    assert event.payment.received_amount == pesakit.Money(value=Decimal("1500"), minor_units=1500, formatted="1500 RWF")


def test_unknown_events_and_statuses_are_kept() -> None:
    verifier = pesakit.CheckoutWebhookVerifier(CHECKOUT_WEBHOOK_SECRET)
    body = json.dumps({"payment": {"id": str(uuid.uuid4()), "status": "DISPUTED"}}).encode()
    ts = int(dt.datetime.now(dt.timezone.utc).timestamp())
    event = verifier.verify_and_parse(body, verifier.sign(ts, body), str(ts), "payment.disputed")
    assert event.kind is pesakit.CheckoutEventKind.UNKNOWN and event.kind_raw == "payment.disputed"
    assert event.payment.status is pesakit.PaymentStatus.UNKNOWN and event.payment.status_raw == "DISPUTED"


def test_no_webhook_secret_no_verifier(sandbox: Sandbox) -> None:
    with make_checkout_client(sandbox, webhook_secret=None) as client:
        assert client.webhook_verifier() is None
    assert make_async_checkout_client(sandbox).webhook_verifier() is not None


# -- configuration, lifetime, printing ---------------------------------------------------


def test_from_env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENT_BASE_URL", sandbox.checkout_url)
    monkeypatch.setenv("PAYMENT_CLIENT_ID", CHECKOUT_CLIENT_ID)
    monkeypatch.setenv("PAYMENT_CLIENT_TOKEN", CHECKOUT_TOKEN)
    monkeypatch.setenv("WEBHOOK_SECRET", CHECKOUT_WEBHOOK_SECRET)
    monkeypatch.setenv("PAYMENT_ALLOW_INSECURE_LOOPBACK", "1")
    with pesakit.CheckoutClient.from_env(max_retries=1, request_timeout=5) as client:
        assert client.base_url == sandbox.checkout_url
        created = client.create_checkout("7", "USD", "order-env")
        assert client.get_payment(created.payment_id).reference == "order-env"
        verifier = client.webhook_verifier()
        assert verifier is not None
        body = b'{"payment":{"id":"p","status":"OPEN"}}'
        ts = int(dt.datetime.now(dt.timezone.utc).timestamp())
        signature = pesakit.CheckoutWebhookVerifier(CHECKOUT_WEBHOOK_SECRET).sign(ts, body)
        assert verifier.verify_and_parse(body, signature, str(ts)).payment.id == "p"

    async def main() -> str:
        async with pesakit.AsyncCheckoutClient.from_env(client_id="y" * 32) as aclient:
            try:
                await aclient.create_checkout("7", "USD", "order-env")
            except pesakit.PesakitError.Validation as e:
                return e.field_errors[0].field
            return "no error"

    assert run(main()) == "clientId"  # the client_id given wins over PAYMENT_CLIENT_ID

    monkeypatch.setenv("PAYMENT_ALLOW_INSECURE_LOOPBACK", "0")
    with pytest.raises(pesakit.PesakitError.Configuration):
        pesakit.CheckoutClient.from_env()
    pesakit.CheckoutClient.from_env(allow_insecure_loopback=True).close()
    monkeypatch.delenv("PAYMENT_BASE_URL")
    with pytest.raises(pesakit.PesakitError.Configuration, match="base URL"):
        pesakit.CheckoutClient.from_env(allow_insecure_loopback=True)
    monkeypatch.setenv("PAYMENT_BASE_URL", sandbox.checkout_url)
    monkeypatch.delenv("PAYMENT_CLIENT_TOKEN")
    with pytest.raises(pesakit.PesakitError.Configuration, match="client token"):
        pesakit.AsyncCheckoutClient.from_env(allow_insecure_loopback=True)
    with pesakit.CheckoutClient.from_env(
        allow_insecure_loopback=True, oauth=oauth_for(sandbox.oauth_sign_in())
    ) as client:
        assert client.payment_applications()


def test_configuration_errors(sandbox: Sandbox) -> None:
    with pytest.raises(pesakit.PesakitError.Configuration, match="client token"):
        pesakit.CheckoutClient(sandbox.checkout_url, allow_insecure_loopback=True)
    with pytest.raises(pesakit.PesakitError.Configuration):
        pesakit.CheckoutClient(sandbox.checkout_url, client_token=CHECKOUT_TOKEN)  # http:// without the flag
    with pytest.raises(pesakit.PesakitError.Configuration):
        pesakit.AsyncCheckoutClient("http://example.com", client_token=CHECKOUT_TOKEN, allow_insecure_loopback=True)
    with pytest.raises(pesakit.PesakitError.Configuration):
        pesakit.CheckoutClient("", client_token=CHECKOUT_TOKEN)
    with pytest.raises(pesakit.PesakitError.Configuration, match="token path"):
        pesakit.CheckoutClient(
            "https://pay.example.com",
            oauth=pesakit.CheckoutOAuth("a", "c", token_path="oauth/token"),
        )
    with pytest.raises(TypeError, match="base_url"):
        pesakit.CheckoutClient(None, client_token=CHECKOUT_TOKEN)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="oauth"):
        pesakit.CheckoutClient("https://pay.example.com", oauth="token")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="client_token"):
        pesakit.CheckoutClient("https://pay.example.com", client_token=123)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_retries"):
        pesakit.CheckoutClient("https://pay.example.com", client_token="t", max_retries=-1)
    with pytest.raises(TypeError, match="logger"):
        pesakit.CheckoutClient("https://pay.example.com", client_token="t", logger=42)  # type: ignore[arg-type]
    client = pesakit.CheckoutClient(
        "https://pay.example.com", client_token="t", request_timeout=dt.timedelta(seconds=5),
        connect_timeout=2, refresh_skew=dt.timedelta(minutes=2), max_retries=0,
    )
    assert client.base_url == "https://pay.example.com"


def test_lifetime(sandbox: Sandbox) -> None:
    with make_checkout_client(sandbox) as client:
        created = client.create_checkout("1", "USD", "order-life")
        aclient = client.as_async()
        assert isinstance(aclient, pesakit.AsyncCheckoutClient)
        assert run(aclient.get_payment(created.payment_id)).id == created.payment_id
        assert isinstance(aclient.as_sync(), pesakit.CheckoutClient)
    assert client.closed and repr(client) == "CheckoutClient(closed)"
    with pytest.raises(RuntimeError, match="closed"):
        client.get_payment(created.payment_id)
    client.close()

    async def main() -> None:
        async with make_async_checkout_client(sandbox) as a:
            assert (await a.get_payment(created.payment_id)).reference == "order-life"
        assert a.closed
        with pytest.raises(RuntimeError, match="closed"):
            await a.get_payment(created.payment_id)
        await a.aclose()

    run(main())


def test_nothing_prints_a_secret(sandbox: Sandbox) -> None:
    signed_in = sandbox.oauth_sign_in()
    oauth = oauth_for(signed_in)
    secrets = [
        CHECKOUT_TOKEN, CHECKOUT_WEBHOOK_SECRET, OAUTH_CLIENT_SECRET,
        signed_in["access_token"], signed_in["refresh_token"], APP_SECRET,
    ]
    with make_checkout_client(sandbox, oauth=oauth) as client:
        created = client.create_checkout("100.50", "USD", "order-repr")
        payment = client.get_payment(created.payment_id)
        app = client.create_payment_application("Repr shop", APP_SECRET, callback_url="https://x.example/h")
        try:
            client.payer_instructions(created.payment_id, "nope", "onchain")
        except pesakit.PesakitError as e:
            error: pesakit.PesakitError = e
        texts = [
            repr(client), str(client), repr(oauth), str(oauth), repr(client.webhook_verifier()),
            repr(created), repr(payment), repr([payment]), repr(app), repr(error), str(error),
            repr(error.field_errors), repr(payment.amount),
        ]
    assert texts[0] == f"CheckoutClient(base_url={sandbox.checkout_url!r})"
    assert "redacted" in repr(oauth) and OAUTH_CLIENT_ID in repr(oauth)
    assert repr(created).startswith(f"Checkout(payment_id={created.payment_id},")
    assert repr(payment).startswith(f"Payment(id={payment.id},")
    assert "status=PaymentStatus.OPEN" in repr(payment)
    assert "Money(value=100.5, minor_units=10050, formatted=100.50 USD)" in repr([payment])
    assert repr(app).startswith("PaymentApplication(id=")
    assert repr(error.field_errors[0]).startswith("FieldError(field=provider,")
    assert str(error) == error.summary
    for record in (
        pesakit.Checkout, pesakit.Payment, pesakit.Money, pesakit.PaymentApplication,
        pesakit.CheckoutWebhookEvent, pesakit.FieldError,
    ):
        assert record.__repr__ is record.__str__, record.__name__
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"a secret in {text!r}"


class ListLogger(pesakit.Logger):
    def __init__(self) -> None:
        self.lines: List[Tuple[pesakit.LogLevel, str]] = []
        self._lock = threading.Lock()

    def log(self, level: pesakit.LogLevel, message: str) -> None:
        with self._lock:
            self.lines.append((level, message))


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_logger_never_sees_a_secret(sandbox: Sandbox, mode: str) -> None:
    logger, store = ListLogger(), DictStore()
    signed_in = sandbox.oauth_sign_in()
    api = CheckoutApi(sandbox, mode, oauth=oauth_for(signed_in), token_store=store, logger=logger)
    try:
        created = api.create_checkout("100.50", "USD", "order-log")
        sandbox.fault(path=PAYMENT_PATH, method="GET", kind="status", status=503, count=1)
        api.get_payment(created.payment_id)  # a retry
        api.payer_instructions(created.payment_id, "bitcoin", "onchain")
        with pytest.raises(pesakit.PesakitError.Validation):
            api.payer_instructions(created.payment_id, "nope", "onchain")
        api.payment_applications()
        api.create_payment_application("Logged shop", APP_SECRET, callback_url="https://x.example/h")
        sandbox.oauth_expire()
        api.payment_application(CHECKOUT_APPLICATION_ID)  # 401, refresh, retry
        sandbox.oauth_expire("all")
        with pytest.raises(pesakit.PesakitError.Authentication):
            api.payment_applications()
    finally:
        api.close()
    with make_checkout_client(sandbox, client_token=CHECKOUT_LIMITED_TOKEN, logger=logger) as limited:
        with pytest.raises(pesakit.PesakitError.Permission):
            limited.create_checkout("1", "USD", "order-log")

    secrets = [
        CHECKOUT_TOKEN, CHECKOUT_LIMITED_TOKEN, CHECKOUT_WEBHOOK_SECRET, OAUTH_CLIENT_SECRET,
        OAUTH_PASSWORD, APP_SECRET, signed_in["access_token"], signed_in["refresh_token"],
    ]
    for tokens in store.saved:
        secrets.append(tokens.access_token())
        secrets.append(tokens.refresh_token() or "")
    assert len(store.saved) >= 2  # the sign-in's tokens, then the refreshed ones
    lines = [line for _, line in logger.lines]
    assert lines and pesakit.LogLevel.DEBUG in {level for level, _ in logger.lines}
    assert any("refresh" in line.lower() for line in lines)
    for line in lines:
        for secret in filter(None, secrets):
            assert secret not in line, f"a secret leaked into the log: {line!r}"
            assert secret.split(".")[-1] not in line
