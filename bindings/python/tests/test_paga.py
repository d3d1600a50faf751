"""Paga Connect: ``PagaClient`` and ``AsyncPagaClient`` against a fresh emulator per test,
the browser step of OAuth done with urllib (without following the redirect)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import urllib.parse
from decimal import Decimal
from typing import Any, Dict, Iterator

import pytest

import pesakit
from conftest import DictStore, run
from sandbox_helper import (
    PAGA_CLIENT_ID,
    PAGA_CLIENT_SECRET,
    PAGA_DENYING_USER,
    PAGA_RECIPIENT_PHONE,
    PAGA_REDIRECT_URI,
    PAGA_SCOPES,
    PAGA_TOKEN_PATH,
    Sandbox,
)

FAST = dict(initial_backoff=0.01, max_backoff=0.05)


def make(sandbox: Sandbox, **options: Any) -> pesakit.PagaClient:
    settings: Dict[str, Any] = dict(environment=sandbox.paga_url, allow_insecure_loopback=True, **FAST)
    settings.update(options)
    return pesakit.PagaClient(PAGA_CLIENT_ID, PAGA_CLIENT_SECRET, PAGA_REDIRECT_URI, **settings)


def make_async(sandbox: Sandbox, **options: Any) -> pesakit.AsyncPagaClient:
    settings: Dict[str, Any] = dict(environment=sandbox.paga_url, allow_insecure_loopback=True, **FAST)
    settings.update(options)
    return pesakit.AsyncPagaClient(PAGA_CLIENT_ID, PAGA_CLIENT_SECRET, PAGA_REDIRECT_URI, **settings)


def connect(
    client: pesakit.PagaClient, sandbox: Sandbox, user: str = "alice", scopes: Any = PAGA_SCOPES,
    user_data: Any = ("FIRST_NAME", "ACCOUNT_BALANCE"),
) -> pesakit.PagaGrant:
    authorization = client.authorization_url(scopes, user_data)
    location = sandbox.paga_redirect(authorization.url())
    return client.handle_callback(location, authorization, user)


def token_requests(sandbox: Sandbox) -> list:
    return [r for r in sandbox.requests() if r["method"] == "POST" and r["path"] == PAGA_TOKEN_PATH]


def params(request: Dict[str, Any]) -> Dict[str, str]:
    """A token request's parameters, from its form body and its query."""
    found: Dict[str, str] = {}
    for text in (request.get("body") or "", request.get("query") or ""):
        for key, value in urllib.parse.parse_qsl(text):
            found.setdefault(key, value)
    return found


@pytest.fixture
def paga(sandbox: Sandbox) -> Iterator[pesakit.PagaClient]:
    with make(sandbox) as client:
        yield client


def test_the_whole_flow_blocking(paga: pesakit.PagaClient, sandbox: Sandbox) -> None:
    authorization = paga.authorization_url(PAGA_SCOPES, ["FIRST_NAME", "ACCOUNT_BALANCE"])
    assert isinstance(authorization, pesakit.PagaAuthorization)
    url = authorization.url()
    assert url.startswith(sandbox.paga_url + "/paga-webservices/oauth2/authorization?")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert query["client_id"] == PAGA_CLIENT_ID and query["state"] == authorization.state()
    assert query["redirect_uri"] == PAGA_REDIRECT_URI
    assert authorization.pkce_verifier() is None and "code_challenge" not in query
    assert not token_requests(sandbox)  # nothing is sent before the callback

    location = sandbox.paga_redirect(url)
    assert location.startswith(PAGA_REDIRECT_URI + "?")
    grant = paga.handle_callback(location, authorization, "alice")
    assert grant.scopes == PAGA_SCOPES
    assert grant.user_data == ["FIRST_NAME", "ACCOUNT_BALANCE"]
    assert grant.expires_at > dt.datetime.now(dt.timezone.utc)
    assert "authorities" in json.loads(grant.extra_json)
    [request] = token_requests(sandbox)
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["authorization"].startswith("Basic ")

    details = paga.user_details("alice")
    assert (details.first_name, details.username, details.account_balance) == ("Ada", "adaobi", Decimal("50000"))
    assert isinstance(details, pesakit.PagaUserDetails)

    reference = pesakit.new_paga_reference_number()
    assert len(reference) == 32 and int(reference, 16) >= 0
    payment = paga.merchant_payment("alice", reference, Decimal("1000"), "customer-42")
    assert isinstance(payment, pesakit.PagaPaymentResult)
    assert payment.transaction_id and payment.confirmation_code
    assert payment.amount == Decimal("1000") and payment.fee == Decimal("0")
    assert paga.user_details("alice").account_balance == Decimal("49000")

    transfer = paga.money_transfer("alice", "payout-1", "250.50", PAGA_RECIPIENT_PHONE, skip_messaging=True)
    assert transfer.transaction_id and transfer.amount == Decimal("250.5")
    [sent] = sandbox.paga_ledger()["transfers"]
    assert sent["skip_messaging"] is True

    token = paga.one_time_token("alice", "otp-1")
    assert isinstance(token, dict) and token["oneTimeToken"]

    paga.forget_user("alice")
    with pytest.raises(pesakit.PesakitError.Authentication):
        paga.user_details("alice")


def test_the_whole_flow_async(sandbox: Sandbox) -> None:
    async def main() -> None:
        async with make_async(sandbox) as client:
            authorization = client.authorization_url("MERCHANT_PAYMENT USER_DETAILS_REQUEST", "FIRST_NAME")
            location = sandbox.paga_redirect(authorization.url())
            grant = await client.handle_callback(location, authorization, "alice")
            assert grant.scopes == ["MERCHANT_PAYMENT", "USER_DETAILS_REQUEST"]
            details, payment = await asyncio.gather(
                client.user_details("alice"),
                client.merchant_payment("alice", "order-1", 1000, "customer-42", currency="NGN"),
            )
            assert details.first_name == "Ada" and details.account_balance is None
            assert payment.amount == Decimal("1000") and payment.currency == "NGN"
            token = await client.one_time_token("alice", "otp-1")
            assert isinstance(token, dict)
            with pytest.raises(pesakit.PesakitError.Permission):
                await client.money_transfer("alice", "t1", "5", PAGA_RECIPIENT_PHONE)
            assert client.as_sync().user_details("alice").first_name == "Ada"
        assert client.closed

    run(main())


def test_a_forged_state_is_refused_before_any_token_request(paga: pesakit.PagaClient, sandbox: Sandbox) -> None:
    authorization = paga.authorization_url(PAGA_SCOPES, [])
    location = sandbox.paga_redirect(authorization.url())
    other = paga.authorization_url(PAGA_SCOPES, [])
    with pytest.raises(pesakit.PesakitError.Authentication) as caught:
        paga.handle_callback(location, other, "alice")
    assert "state does not match" in str(caught.value)
    assert not token_requests(sandbox)


def test_a_user_who_declines_comes_back_with_access_denied(paga: pesakit.PagaClient, sandbox: Sandbox) -> None:
    authorization = paga.authorization_url(PAGA_SCOPES, [])
    location = sandbox.paga_redirect(authorization.url(), sandbox_user=PAGA_DENYING_USER)
    assert "error=access_denied" in location
    with pytest.raises(pesakit.PesakitError.Authentication) as caught:
        paga.handle_callback(location, authorization, "bob")
    assert caught.value.gateway_code == "access_denied"
    assert caught.value.kind is pesakit.ErrorKind.AUTHENTICATION
    assert not token_requests(sandbox)


@pytest.mark.parametrize("style", ["form_body", "query_string", pesakit.PagaTokenRequestStyle.QUERY_STRING])
def test_token_request_styles(sandbox: Sandbox, style: Any) -> None:
    with make(sandbox, token_request_style=style) as client:
        connect(client, sandbox)
        [request] = token_requests(sandbox)
        query = dict(urllib.parse.parse_qsl(request.get("query") or ""))
        body = dict(urllib.parse.parse_qsl(request.get("body") or ""))
        if style == "form_body":
            assert body["grant_type"] == "authorization_code" and body["code"]
            assert "grant_type" not in query
        else:
            assert query["grant_type"] == "authorization_code" and query["code"]
            assert not request.get("body")
        assert client.user_details("alice").first_name == "Ada"


def test_pkce(sandbox: Sandbox) -> None:
    with make(sandbox, pkce=True) as client:
        authorization = client.authorization_url(PAGA_SCOPES, [])
        verifier = authorization.pkce_verifier()
        assert verifier
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorization.url()).query))
        assert query["code_challenge_method"] == "S256" and query["code_challenge"]
        assert verifier not in repr(authorization) and "pkce=true" in repr(authorization)
        location = sandbox.paga_redirect(authorization.url())
        # Kept elsewhere (a session) and restored: the same authorization.
        restored = pesakit.PagaAuthorization.restore(
            authorization.url(), authorization.state(), pkce_verifier=verifier
        )
        client.handle_callback(location, restored, "alice")
        [request] = token_requests(sandbox)
        assert params(request)["code_verifier"] == verifier
        assert client.user_details("alice").username == "adaobi"


def test_pkce_without_the_verifier_is_refused(sandbox: Sandbox) -> None:
    with make(sandbox, pkce=True) as client:
        authorization = client.authorization_url(PAGA_SCOPES, [])
        location = sandbox.paga_redirect(authorization.url())
        forgetful = pesakit.PagaAuthorization.restore(authorization.url(), authorization.state())
        with pytest.raises(pesakit.PesakitError.Authentication):
            client.handle_callback(location, forgetful, "alice")


def test_concurrent_async_calls_share_one_refresh(sandbox: Sandbox) -> None:
    store = DictStore()
    client = make(sandbox, token_store=store)
    connect(client, sandbox)
    sandbox.paga_expire_tokens("access")
    sandbox.clear_requests()

    async def main() -> list:
        a = client.as_async()
        return await asyncio.gather(*(a.user_details("alice") for _ in range(20)))

    results = run(main())
    assert [d.first_name for d in results] == ["Ada"] * 20
    [refresh] = token_requests(sandbox)
    assert params(refresh)["grant_type"] == "refresh_token"
    assert len(store.saved) == 2  # the code exchange, then the one refresh


def test_error_code_is_a_gateway_error(paga: pesakit.PagaClient, sandbox: Sandbox) -> None:
    connect(paga, sandbox)
    with pytest.raises(pesakit.PesakitError.Gateway) as caught:
        paga.merchant_payment("alice", "big", "10000000", "customer-42")
    assert caught.value.gateway_code == "10"
    assert caught.value.gateway_message == "Insufficient balance"
    assert caught.value.kind is pesakit.ErrorKind.GATEWAY
    with pytest.raises(pesakit.PesakitError.Gateway) as caught:
        paga.merchant_payment("alice", "eur", "10", "customer-42", currency="EUR")
    assert caught.value.gateway_code == "12"


def test_missing_scope_is_a_permission_error(paga: pesakit.PagaClient, sandbox: Sandbox) -> None:
    connect(paga, sandbox, scopes=["MERCHANT_PAYMENT"], user_data=[])
    with pytest.raises(pesakit.PesakitError.Permission) as caught:
        paga.user_details("alice")
    assert caught.value.status == 403


def test_a_python_token_store_keeps_users_tokens(sandbox: Sandbox) -> None:
    store = DictStore()
    with make(sandbox, token_store=store) as first:
        connect(first, sandbox, user="alice")
    [key] = store.tokens
    assert key.startswith("paga|") and key.endswith(f"|{PAGA_CLIENT_ID}|alice")
    # A new client (a restarted process) acts for alice without sending her to Paga again.
    with make(sandbox, token_store=store) as second:
        assert second.user_details("alice").first_name == "Ada"
        second.forget_user("alice")
        assert store.tokens == {}
        with pytest.raises(pesakit.PesakitError.Authentication):
            second.user_details("alice")


def test_amounts_and_arguments(paga: pesakit.PagaClient, sandbox: Sandbox) -> None:
    with pytest.raises(TypeError, match="float"):
        paga.merchant_payment("alice", "r1", 10.5, "customer-42")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        paga.money_transfer("alice", "r1", 1.0, PAGA_RECIPIENT_PHONE)  # type: ignore[arg-type]
    with pytest.raises(pesakit.PesakitError.Validation):
        paga.merchant_payment("alice", "r1", "ten", "customer-42")
    with pytest.raises(TypeError):
        paga.handle_callback("https://shop.example/paga/callback?code=x", "state", "alice")  # type: ignore[arg-type]
    assert not sandbox.requests()


def test_environments_and_no_secret_in_repr(sandbox: Sandbox) -> None:
    assert pesakit.PagaClient("id", PAGA_CLIENT_SECRET, PAGA_REDIRECT_URI).base_url == "https://beta.mypaga.com"
    live = pesakit.PagaClient("id", PAGA_CLIENT_SECRET, PAGA_REDIRECT_URI, environment="live")
    assert live.base_url == "https://www.mypaga.com"
    custom = pesakit.PagaEnvironment.CUSTOM(base_url=sandbox.paga_url)
    client = make(sandbox, environment=custom)
    assert client.base_url == sandbox.paga_url
    for thing in (live, client, client.as_async(), client._native_client, client.authorization_url(PAGA_SCOPES)):
        assert PAGA_CLIENT_SECRET not in repr(thing) and PAGA_CLIENT_SECRET not in str(thing)
    assert repr(client) == f"PagaClient(base_url={sandbox.paga_url!r})"
    with pytest.raises(pesakit.PesakitError.Configuration):
        pesakit.PagaClient("id", "secret", PAGA_REDIRECT_URI, environment=sandbox.paga_url)  # http, not allowed
    with pytest.raises(ValueError):
        make(sandbox, token_request_style="header")
    client.close()
    assert repr(client) == "PagaClient(closed)"
    with pytest.raises(RuntimeError):
        client.user_details("alice")


def test_grant_and_results_print_without_tokens(sandbox: Sandbox) -> None:
    store = DictStore()
    with make(sandbox, token_store=store) as client:
        grant = connect(client, sandbox)
        text = repr(grant) + repr(client.user_details("alice"))
        assert text.startswith("PagaGrant(scopes=")
        for secret in (PAGA_CLIENT_SECRET, '"access_token"', '"refresh_token"'):
            assert secret not in text
