"""Every client operation, through the blocking and the async client alike."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any, List

import pytest

import pesakit
from conftest import Api, make_async_client, make_client, run
from sandbox_helper import Sandbox

NUMBER = "0788123456"
UTC = dt.timezone.utc


def is_aware(value: Any) -> bool:
    return isinstance(value, dt.datetime) and value.utcoffset() == dt.timedelta(0)


def test_authorize(api: Api, sandbox: Sandbox) -> None:
    expires = api.authorize()
    assert is_aware(expires)
    assert expires > dt.datetime.now(UTC)
    assert sandbox.authorize_count() == 1
    # Held tokens are reused, not fetched again.
    assert api.authorize() == expires
    assert sandbox.authorize_count() == 1


def test_cashin(api: Api, sandbox: Sandbox) -> None:
    tx = api.cashin(Decimal("1000"), NUMBER)
    assert isinstance(tx, pesakit.Transaction)
    assert tx.status is pesakit.TransactionStatus.PENDING
    assert tx.kind is pesakit.TransactionKind.CASH_IN
    assert tx.kind_raw == "CASHIN"
    assert tx.amount == Decimal("1000") and isinstance(tx.amount, Decimal)
    assert tx.provider == "mtn"
    assert is_aware(tx.created_at)
    [logged] = [r for r in sandbox.requests() if r["path"].endswith("/transactions/cashin")]
    assert logged["body"] == '{"amount":1000,"number":"0788123456"}'
    assert len(logged["headers"]["idempotency-key"]) == 32


@pytest.mark.parametrize("amount, sent", [(250, "250"), ("150.5", "150.5"), (Decimal("1E+3"), "1000"), (" 300 ", "300")])
def test_amounts_accept_int_str_and_decimal(api: Api, sandbox: Sandbox, amount: Any, sent: str) -> None:
    tx = api.cashin(amount, NUMBER)
    assert tx.amount == Decimal(sent)
    ledger = sandbox.ledger()["transactions"]
    assert Decimal(str(ledger[-1]["amount"])) == Decimal(sent)


@pytest.mark.parametrize("amount", [1000.0, 1.5, float("nan")])
def test_float_amounts_are_refused(api: Api, sandbox: Sandbox, amount: float) -> None:
    with pytest.raises(TypeError, match="money is never a float"):
        api.cashin(amount, NUMBER)
    with pytest.raises(TypeError, match="never a float"):
        api.cashout(amount, NUMBER)
    assert sandbox.requests() == []


@pytest.mark.parametrize("amount", [True, None, [1000], b"1000"])
def test_other_amount_types_are_refused(api: Api, amount: Any) -> None:
    with pytest.raises(TypeError, match="amount must be a Decimal, int or str"):
        api.cashin(amount, NUMBER)


@pytest.mark.parametrize("amount", ["abc", "", "NaN", "Infinity", Decimal("NaN"), "0x10", "\u0661\u0660\u0660"])
def test_amounts_that_are_not_numbers_are_validation_errors(api: Api, sandbox: Sandbox, amount: Any) -> None:
    with pytest.raises(pesakit.PesakitError.Validation) as info:
        api.cashin(amount, NUMBER)
    assert "is not a decimal amount" in str(info.value)
    assert info.value.kind is pesakit.ErrorKind.VALIDATION
    assert sandbox.requests() == []


@pytest.mark.parametrize("amount", [Decimal("1E+30"), "1000.1234567890123456789012345678"])
def test_amounts_out_of_range_are_validation_errors(api: Api, amount: Any) -> None:
    with pytest.raises(pesakit.PesakitError.Validation):
        api.cashin(amount, NUMBER)


def test_cashin_options(api: Api, sandbox: Sandbox) -> None:
    key = pesakit.new_idempotency_key()
    first = api.cashin("1000", "+250788123456", idempotency_key=key, webhook_mode="development")
    again = api.cashin("1000", "+250788123456", idempotency_key=key, webhook_mode=pesakit.WebhookMode.DEVELOPMENT)
    assert again.reference == first.reference
    [tx] = sandbox.ledger()["transactions"]
    assert tx["idempotency_key"] == key and tx["webhook_mode"] == "development"
    assert tx["number"] == "0788123456"
    logged = [r for r in sandbox.requests() if r["path"].endswith("/cashin")]
    assert [r["headers"]["x-webhook-mode"] for r in logged] == ["development", "development"]
    # validate=False sends what the client would refuse; the gateway answers.
    with pytest.raises(pesakit.PesakitError.Validation) as info:
        api.cashin("1000", "0711123456", validate=False)
    assert info.value.status == 400 and info.value.gateway_message
    with pytest.raises(pesakit.PesakitError.Validation) as info:
        api.cashin("1000", "0711123456")
    assert info.value.status is None
    with pytest.raises(ValueError, match="webhook_mode"):
        api.cashin("1000", NUMBER, webhook_mode="staging")


def test_cashout(api: Api, sandbox: Sandbox) -> None:
    tx = api.cashout(Decimal("500"), "0728123456")
    assert tx.kind is pesakit.TransactionKind.CASH_OUT
    assert tx.provider == "airtel"
    assert tx.status is pesakit.TransactionStatus.PENDING
    with pytest.raises(pesakit.PesakitError.Validation) as info:
        api.cashout(Decimal("1000000"), NUMBER)
    e = info.value
    assert e.status == 400 and e.gateway_message == "insufficient balance"
    assert e.body is not None and "insufficient balance" in e.body
    assert str(e) == e.summary


def test_find(api: Api, sandbox: Sandbox) -> None:
    tx = api.cashin("1000", NUMBER)
    with pytest.raises(pesakit.PesakitError.NotFound):
        api.find(tx.reference)  # still pending
    sandbox.settle(tx.reference, "successful")
    found = api.find(tx.reference)
    assert found.reference == tx.reference
    assert found.status is pesakit.TransactionStatus.SUCCESSFUL
    assert found.fee == Decimal("23") and isinstance(found.fee, Decimal)
    assert found.client == NUMBER
    assert is_aware(found.created_at)


def test_find_failed(api: Api, sandbox: Sandbox) -> None:
    tx = api.cashin("1000", "0780000000")
    sandbox.settle(tx.reference)
    assert api.find(tx.reference).status is pesakit.TransactionStatus.FAILED


def test_list_transactions(api: Api, sandbox: Sandbox) -> None:
    refs = [api.cashin("1000", NUMBER).reference, api.cashout("200", "0728123456").reference,
            api.cashin("300", "0788999999").reference]
    for ref in refs:
        sandbox.settle(ref, "successful")
    page = api.list_transactions()
    assert isinstance(page, pesakit.TransactionPage)
    assert page.total == 3 and page.offset == 0 and page.limit == 20
    assert [t.reference for t in page.transactions] == refs[::-1]  # newest first
    assert page.cashin_total == Decimal("1300") and isinstance(page.cashin_total, Decimal)
    assert page.cashout_total == Decimal("200")
    assert isinstance(page.fee_total, Decimal)
    page = api.list_transactions(kind="cash_in", limit=1, offset=1)
    assert page.total == 2 and [t.reference for t in page.transactions] == [refs[0]]
    page = api.list_transactions(kind=pesakit.TransactionKind.CASH_OUT)
    assert [t.reference for t in page.transactions] == [refs[1]]
    page = api.list_transactions(client="0788999999")
    assert [t.reference for t in page.transactions] == [refs[2]]
    now = dt.datetime.now(UTC)
    assert api.list_transactions(from_=now + dt.timedelta(days=1)).total == 0
    assert api.list_transactions(from_=now - dt.timedelta(days=1), to=now + dt.timedelta(days=1)).total == 3
    query = [r["query"] for r in sandbox.requests() if r["path"].endswith("/transactions/list")][-1]
    assert "from=" in query and "to=" in query


def test_filters_refuse_naive_datetimes_and_bad_values(api: Api, sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        api.list_transactions(from_=dt.datetime(2024, 1, 1))
    with pytest.raises(TypeError):
        api.list_events(to="2024-01-01")
    with pytest.raises(ValueError, match="kind must be one of"):
        api.list_transactions(kind="refund")
    with pytest.raises(ValueError, match="limit"):
        api.list_transactions(limit=-1)
    with pytest.raises(pesakit.PesakitError.Validation):
        api.list_transactions(kind=pesakit.TransactionKind.UNKNOWN)
    assert sandbox.requests() == []


def test_list_events(api: Api, sandbox: Sandbox) -> None:
    tx = api.cashin("1000", NUMBER)
    other = api.cashin("2000", "0788111222")
    sandbox.settle(tx.reference, "successful")
    page = api.list_events(reference=tx.reference)
    assert isinstance(page, pesakit.EventPage)
    assert page.total == 2
    assert [e.kind for e in page.events] == [pesakit.EventKind.TRANSACTION_PROCESSED, pesakit.EventKind.TRANSACTION_CREATED]
    processed = page.events[0]
    assert processed.kind_raw == "transaction:processed"
    assert is_aware(processed.created_at)
    assert processed.transaction.reference == tx.reference
    assert processed.transaction.status is pesakit.TransactionStatus.SUCCESSFUL
    assert is_aware(processed.transaction.processed_at)
    assert api.list_events(status="pending").total == 2
    assert api.list_events(status=pesakit.TransactionStatus.SUCCESSFUL).total == 1
    assert api.list_events(client="0788111222").events[0].transaction.reference == other.reference
    assert api.list_events(limit=1, offset=1).limit == 1


def test_profile(api: Api) -> None:
    profile = api.profile()
    assert isinstance(profile, pesakit.Profile)
    assert profile.name == "Sandbox Merchant demo-client-id"
    assert len(profile.id) == 6
    assert profile.balance == Decimal("200000") and isinstance(profile.balance, Decimal)
    assert profile.mtn_balance == Decimal("100000")
    assert profile.in_rate == Decimal("0.023") and profile.airtel_in_rate == Decimal("0.025")


def test_wait_for_completion(api: Api, sandbox: Sandbox) -> None:
    tx = api.cashin("1000", NUMBER)
    with pytest.raises(pesakit.PesakitError.Timeout) as info:
        api.wait_for_completion(tx.reference, 0.1)
    assert info.value.kind is pesakit.ErrorKind.TIMEOUT
    sandbox.settle(tx.reference, "successful")
    done = api.wait_for_completion(tx.reference, dt.timedelta(seconds=10))
    assert done.status is pesakit.TransactionStatus.SUCCESSFUL


def test_wait_for_completion_while_the_gateway_settles(api: Api, sandbox: Sandbox) -> None:
    sandbox.config(settle_after_ms=100)
    tx = api.cashin("1000", NUMBER)
    done = api.wait_for_completion(tx.reference, 10)
    assert done.reference == tx.reference and done.status is pesakit.TransactionStatus.SUCCESSFUL


def test_pagination_across_pages(api: Api, sandbox: Sandbox) -> None:
    refs = [api.cashin(str(100 + i), NUMBER).reference for i in range(7)]
    items = api.drain(api.transactions(limit=3))
    assert [t.reference for t in items] == refs[::-1]
    lists = [r for r in sandbox.requests() if r["path"].endswith("/transactions/list")]
    assert len(lists) == 3  # 3 + 3 + 1
    assert [t.reference for t in api.drain(api.transactions(limit=2, kind="cash_in", offset=5))] == refs[1::-1]
    events = api.drain(api.events(limit=4))
    assert len(events) == 7 and len({e.id for e in events}) == 7
    assert all(isinstance(e, pesakit.Event) for e in events)
    assert api.drain(api.events(reference="no-such-reference")) == []


def test_pager_error_is_raised_from_the_iteration(api: Api, sandbox: Sandbox) -> None:
    for i in range(3):
        api.cashin(str(100 + i), NUMBER)
    api.authorize()
    sandbox.fault(path="/paypack/api/transactions/list", kind="status", status=500, count=1)
    with pytest.raises(pesakit.PesakitError.Gateway) as info:
        api.drain(api.transactions(limit=2))
    assert info.value.status == 500


def list_requests(sandbox: Sandbox) -> int:
    return sum(r["path"].endswith("/transactions/list") for r in sandbox.requests())


def test_pagers_fetch_a_page_when_it_runs_out_and_end_at_an_error(sandbox: Sandbox) -> None:
    async def step(pager: Any) -> Any:
        return await pager.__anext__()

    for mode in ("sync", "async"):
        api = Api(sandbox, mode)
        refs = [api.cashin(str(100 + i), NUMBER).reference for i in range(5)]
        sandbox.clear_requests()
        pager = api.transactions(limit=2)
        advance = (lambda: next(pager)) if mode == "sync" else (lambda: run(step(pager)))
        stop = StopIteration if mode == "sync" else StopAsyncIteration
        assert advance().reference == refs[-1]
        assert list_requests(sandbox) == 1
        # The second item is already here; the third needs the next page, which fails.
        sandbox.fault(path="/paypack/api/transactions/list", kind="status", status=500)
        assert advance().reference == refs[-2]
        assert list_requests(sandbox) == 1
        with pytest.raises(pesakit.PesakitError.Gateway):
            advance()
        with pytest.raises(stop):
            advance()
        assert list_requests(sandbox) == 2
        api.client.close()


def test_for_loop_over_blocking_pager(client: pesakit.PaypackClient) -> None:
    refs = {client.cashin("1000", NUMBER).reference for _ in range(5)}
    pager = client.transactions(limit=2)
    seen: List[str] = []
    for tx in pager:
        seen.append(tx.reference)
    assert set(seen) == refs and len(seen) == 5
    assert list(pager) == []  # finished


def test_async_for_over_async_pager(sandbox: Sandbox) -> None:
    async def main() -> None:
        async with make_async_client(sandbox) as client:
            created = await asyncio.gather(*[client.cashin("1000", NUMBER) for _ in range(5)])
            seen = [tx.reference async for tx in client.transactions(limit=2)]
            assert set(seen) == {tx.reference for tx in created} and len(seen) == 5
            events = [e async for e in client.events(limit=3)]
            assert len({e.id for e in events}) == 5

    run(main())


def test_async_calls_run_concurrently_with_one_authorization(sandbox: Sandbox) -> None:
    async def main() -> None:
        async with make_async_client(sandbox) as client:
            profiles = await asyncio.gather(*[client.profile() for _ in range(10)])
            assert {p.id for p in profiles} == {profiles[0].id}

    run(main())
    assert sandbox.authorize_count() == 1
    assert sandbox.count("GET", "/paypack/api/merchants/me") == 10


def test_blocking_calls_from_threads_share_one_token(sandbox: Sandbox) -> None:
    import concurrent.futures

    with make_client(sandbox) as client:
        with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
            names = list(pool.map(lambda _: client.profile().name, range(12)))
    assert set(names) == {"Sandbox Merchant demo-client-id"}
    assert sandbox.authorize_count() == 1


def test_token_renewal_is_invisible(api: Api, sandbox: Sandbox) -> None:
    api.authorize()
    sandbox.expire_tokens("access")
    assert api.profile().name.startswith("Sandbox Merchant")
    sandbox.revoke_tokens("all")
    assert api.profile().name.startswith("Sandbox Merchant")
    assert sandbox.authorize_count() == 2


def test_async_cancellation_does_not_break_the_client(sandbox: Sandbox) -> None:
    async def main() -> None:
        async with make_async_client(sandbox) as client:
            await client.authorize()
            sandbox.fault(path="/paypack/api/merchants/me", kind="delay", delay_ms=2000)
            task = asyncio.ensure_future(client.profile())
            await asyncio.sleep(0)  # let it start
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            sandbox.clear_faults()
            assert (await client.profile()).name.startswith("Sandbox Merchant")

    run(main())


def test_sync_and_async_twins_share_the_token(sandbox: Sandbox) -> None:
    with make_client(sandbox) as client:
        client.authorize()
        twin = client.as_async()
        assert run(twin.profile()).name.startswith("Sandbox Merchant")
        assert twin.as_sync().profile().name.startswith("Sandbox Merchant")
    assert sandbox.authorize_count() == 1


def test_from_env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYPACK_CLIENT_ID", "demo-client-id")
    monkeypatch.setenv("PAYPACK_CLIENT_SECRET", "demo-client-secret")
    monkeypatch.setenv("PAYPACK_BASE_URL", sandbox.paypack_url)
    monkeypatch.setenv("PAYPACK_ALLOW_INSECURE_LOOPBACK", "1")
    with pesakit.PaypackClient.from_env(poll_interval=0.02) as client:
        assert client.base_url == sandbox.paypack_url
        assert client.profile().name == "Sandbox Merchant demo-client-id"

    async def main() -> None:
        async with pesakit.AsyncPaypackClient.from_env(max_retries=0) as aclient:
            assert (await aclient.profile()).name == "Sandbox Merchant demo-client-id"

    run(main())
    monkeypatch.delenv("PAYPACK_CLIENT_SECRET")
    with pytest.raises(pesakit.PesakitError.Configuration, match="PAYPACK_CLIENT_SECRET"):
        pesakit.PaypackClient.from_env()
    monkeypatch.setenv("PAYPACK_CLIENT_SECRET", "demo-client-secret")
    monkeypatch.delenv("PAYPACK_ALLOW_INSECURE_LOOPBACK")
    with pytest.raises(pesakit.PesakitError.Configuration):
        pesakit.PaypackClient.from_env()
    # An explicit option allows it too.
    with pesakit.PaypackClient.from_env(allow_insecure_loopback=True) as client:
        assert client.profile().name
