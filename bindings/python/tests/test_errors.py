"""What a user sees of real errors: str(), kind, status, gateway fields, body, repr."""

from __future__ import annotations

import datetime as dt

import pytest

import pesakit
from conftest import Api, make_client, run
from sandbox_helper import Sandbox

NUMBER = "0788123456"


def check_printable(e: pesakit.PesakitError) -> None:
    assert isinstance(e, pesakit.PesakitError)
    assert isinstance(e, Exception)
    assert str(e) == e.summary
    assert "kind=" not in str(e)
    text = repr(e)
    assert text.startswith(f"PesakitError.{type(e).__name__}(")
    for field in ("kind=", "summary=", "status=", "gateway_message=", "body="):
        assert field in text
    assert "demo-client-secret" not in text and "demo-client-secret" not in str(e)


def test_wrong_credentials(sandbox: Sandbox) -> None:
    for mode in ("sync", "async"):
        with make_client(sandbox, client_secret="wrong-secret") as client:
            with pytest.raises(pesakit.PesakitError.Authentication) as info:
                if mode == "sync":
                    client.profile()
                else:
                    run(client.as_async().profile())
        e = info.value
        check_printable(e)
        assert e.kind is pesakit.ErrorKind.AUTHENTICATION
        assert e.status == 401
        assert e.gateway_message == "invalid client credentials"
        assert "wrong-secret" not in str(e) and "wrong-secret" not in repr(e)


def test_not_found(api: Api) -> None:
    with pytest.raises(pesakit.PesakitError) as info:
        api.find("no-such-reference")
    e = info.value
    check_printable(e)
    assert isinstance(e, pesakit.PesakitError.NotFound)
    assert e.kind is pesakit.ErrorKind.NOT_FOUND
    assert e.status == 404
    assert e.gateway_message == "transaction not found"
    assert e.body == '{"message":"transaction not found"}'
    assert e.retry_after_ms is None and e.idempotency_key is None
    assert "not found" in str(e)


def test_gateway_validation(api: Api) -> None:
    with pytest.raises(pesakit.PesakitError.Validation) as info:
        api.cashout("1000000", NUMBER)
    e = info.value
    check_printable(e)
    assert e.status == 400 and e.gateway_message == "insufficient balance"
    assert e.body and "insufficient balance" in e.body


def test_gateway_failure_after_retries(api: Api, sandbox: Sandbox) -> None:
    api.authorize()
    sandbox.fault(path="/paypack/api/merchants/me", kind="status", status=503, count=10)
    with pytest.raises(pesakit.PesakitError.Gateway) as info:
        api.profile()
    e = info.value
    check_printable(e)
    assert e.kind is pesakit.ErrorKind.GATEWAY and e.status == 503
    assert e.gateway_message == "injected fault"
    assert sandbox.count("GET", "/paypack/api/merchants/me") == 4  # 1 + max_retries


def test_rate_limited_carries_retry_after(sandbox: Sandbox) -> None:
    with make_client(sandbox, max_retries=0) as client:
        client.authorize()
        sandbox.fault(path="/paypack/api/merchants/me", kind="status", status=429, retry_after=7)
        with pytest.raises(pesakit.PesakitError.RateLimited) as info:
            client.profile()
    check_printable(info.value)
    assert info.value.retry_after_ms == 7000 and info.value.status == 429


def test_money_call_with_unknown_outcome_carries_its_key(api: Api, sandbox: Sandbox) -> None:
    api.authorize()
    sandbox.fault(path="/paypack/api/transactions/cashin", kind="drop_after", count=10)
    key = pesakit.new_idempotency_key()
    with pytest.raises(pesakit.PesakitError) as info:
        api.cashin("1000", NUMBER, idempotency_key=key)
    e = info.value
    check_printable(e)
    assert e.kind is pesakit.ErrorKind.NETWORK
    assert e.idempotency_key == key
    sandbox.clear_faults()
    # Retrying with the key is safe: still one transaction.
    api.cashin("1000", NUMBER, idempotency_key=e.idempotency_key)
    assert len(sandbox.ledger()["transactions"]) == 1


def test_timeout(sandbox: Sandbox) -> None:
    with make_client(sandbox, request_timeout=0.2, max_retries=0) as client:
        client.authorize()
        sandbox.fault(path="/paypack/api/merchants/me", kind="delay", delay_ms=3000)
        with pytest.raises(pesakit.PesakitError.Timeout) as info:
            client.profile()
    check_printable(info.value)


def test_malformed_answer_is_a_decode_error(api: Api, sandbox: Sandbox) -> None:
    api.authorize()
    sandbox.fault(path="/paypack/api/merchants/me", kind="malformed_json")
    with pytest.raises(pesakit.PesakitError.Decode) as info:
        api.profile()
    check_printable(info.value)


def test_configuration_errors() -> None:
    with pytest.raises(pesakit.PesakitError.Configuration) as info:
        pesakit.PaypackClient("id", "secret", base_url="http://127.0.0.1:9/api")
    check_printable(info.value)
    assert "http" in str(info.value).lower()
    with pytest.raises(pesakit.PesakitError.Configuration):
        pesakit.AsyncPaypackClient("id", "secret", base_url="http://example.com/api", allow_insecure_loopback=True)
    with pytest.raises(pesakit.PesakitError.Configuration) as info:
        pesakit.PaypackClient("", "secret")
    assert "client id" in str(info.value)
    with pytest.raises(pesakit.PesakitError.Configuration):
        pesakit.PaypackClient("id", "secret", request_timeout=0)


def test_option_types() -> None:
    with pytest.raises(ValueError, match="request_timeout"):
        pesakit.PaypackClient("id", "secret", request_timeout=-1)
    with pytest.raises(TypeError, match="connect_timeout"):
        pesakit.PaypackClient("id", "secret", connect_timeout="10")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_retries"):
        pesakit.PaypackClient("id", "secret", max_retries=-1)
    with pytest.raises(TypeError, match="logger"):
        pesakit.PaypackClient("id", "secret", logger=42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        pesakit.PaypackClient("id", "secret", token_store={})  # type: ignore[arg-type]
    client = pesakit.PaypackClient(
        "id", "secret", request_timeout=dt.timedelta(seconds=5), poll_interval=0.5,
        refresh_skew=dt.timedelta(minutes=2), webhook_mode="production",
    )
    assert client.base_url == pesakit.DEFAULT_BASE_URL


def test_errors_are_catchable_by_base_class_and_kind(api: Api) -> None:
    try:
        api.find("nope")
    except pesakit.PesakitError as e:
        assert e.kind in {pesakit.ErrorKind.NOT_FOUND}
    else:
        raise AssertionError("no error")


def test_closed_client(sandbox: Sandbox) -> None:
    with make_client(sandbox) as client:
        pass
    assert client.closed
    assert repr(client) == "PaypackClient(closed)"
    with pytest.raises(RuntimeError, match="closed"):
        client.profile()
    client.close()  # twice is fine

    async def main() -> None:
        async with pesakit.AsyncPaypackClient(
            "demo-client-id", "demo-client-secret", base_url=sandbox.paypack_url, allow_insecure_loopback=True
        ) as aclient:
            assert (await aclient.profile()).name
        with pytest.raises(RuntimeError, match="closed"):
            await aclient.profile()

    run(main())
