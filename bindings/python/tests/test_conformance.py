"""Runs every conformance scenario (``tests/conformance/paypack/*.json``,
``tests/conformance/checkout/*.json`` and ``tests/conformance/paga/*.json``) through the
Python package against a fresh emulator, as specified in ``tests/conformance/README.md``.

``PESAKIT_REPO`` locates the repository; ``PESAKIT_CONFORMANCE_DIR`` may point at
another directory of Paypack scenarios, ``PESAKIT_CHECKOUT_CONFORMANCE_DIR`` at another
directory of checkout scenarios and ``PESAKIT_PAGA_CONFORMANCE_DIR`` at another directory
of Paga Connect scenarios (to try new ones).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

import pesakit
from conftest import DictStore
from sandbox_helper import (
    CHECKOUT_CLIENT_ID,
    CHECKOUT_TOKEN,
    CHECKOUT_WEBHOOK_SECRET,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    OAUTH_CLIENT_ID,
    OAUTH_CLIENT_SECRET,
    PAGA_CLIENT_ID,
    PAGA_CLIENT_SECRET,
    PAGA_REDIRECT_URI,
    Sandbox,
    repo_root,
)


def scenario_dir(gateway: str = "paypack") -> Path:
    variable = {
        "paypack": "PESAKIT_CONFORMANCE_DIR",
        "checkout": "PESAKIT_CHECKOUT_CONFORMANCE_DIR",
        "paga": "PESAKIT_PAGA_CONFORMANCE_DIR",
    }[gateway]
    override = os.environ.get(variable)
    return Path(override) if override else repo_root() / "tests" / "conformance" / gateway


SCENARIOS = sorted(scenario_dir().glob("*.json"))
CHECKOUT_SCENARIOS = sorted(scenario_dir("checkout").glob("*.json"))
PAGA_SCENARIOS = sorted(scenario_dir("paga").glob("*.json"))


def test_scenarios_exist() -> None:
    assert SCENARIOS, f"no conformance scenarios under {scenario_dir()}"


def test_checkout_scenarios_exist() -> None:
    assert CHECKOUT_SCENARIOS, f"no checkout conformance scenarios under {scenario_dir('checkout')}"


def test_paga_scenarios_exist() -> None:
    assert PAGA_SCENARIOS, f"no Paga conformance scenarios under {scenario_dir('paga')}"


class StepFailed(AssertionError):
    """A step did not meet its expectation."""


# -- the runner's own token store ---------------------------------------------------


# -- canonical forms ----------------------------------------------------------------


def name_of(member: Any) -> str:
    """``TransactionKind.CASH_IN`` → ``"cash_in"``."""
    return str(member.name).lower()


def amount(value: Optional[Decimal]) -> Optional[str]:
    """A normalised decimal string: no trailing zeros, no exponent."""
    if value is None:
        return None
    assert isinstance(value, Decimal), f"amounts are Decimal, got {type(value).__name__}"
    return format(value.normalize(), "f")


def canon_tx(t: pesakit.Transaction) -> Dict[str, Any]:
    return {
        "reference": t.reference,
        "status": name_of(t.status),
        "status_raw": t.status_raw,
        "amount": amount(t.amount),
        "fee": amount(t.fee),
        "kind": name_of(t.kind),
        "kind_raw": t.kind_raw,
        "provider": t.provider,
        "client": t.client,
        "has_created_at": t.created_at is not None,
        "has_processed_at": t.processed_at is not None,
    }


def canon_event(e: pesakit.Event) -> Dict[str, Any]:
    return {"id": e.id, "kind": name_of(e.kind), "kind_raw": e.kind_raw, "transaction": canon_tx(e.transaction)}


def canon_tx_page(p: pesakit.TransactionPage) -> Dict[str, Any]:
    return {
        "offset": p.offset, "limit": p.limit, "total": p.total, "count": len(p.transactions),
        "cashin_total": amount(p.cashin_total), "cashout_total": amount(p.cashout_total),
        "fee_total": amount(p.fee_total), "references": [t.reference for t in p.transactions],
    }


def canon_event_page(p: pesakit.EventPage) -> Dict[str, Any]:
    return {
        "offset": p.offset, "limit": p.limit, "total": p.total, "count": len(p.events),
        "kinds": [name_of(e.kind) for e in p.events],
    }


def canon_profile(p: pesakit.Profile) -> Dict[str, Any]:
    return {
        "id": p.id, "name": p.name, "balance": amount(p.balance),
        "mtn_balance": amount(p.mtn_balance), "airtel_balance": amount(p.airtel_balance),
        "in_rate": amount(p.in_rate), "out_rate": amount(p.out_rate),
    }


def canon_error(e: pesakit.PesakitError) -> Dict[str, Any]:
    return {
        "kind": name_of(e.kind),
        "status": e.status,
        "gateway_message": e.gateway_message,
        "gateway_code": e.gateway_code,
        "has_body": e.body is not None,
        "retry_after_ms": e.retry_after_ms,
        "idempotency_key": e.idempotency_key,
        "summary": str(e),
        "fields": sorted(f.field for f in e.field_errors),
    }


# -- canonical forms: hosted checkout -------------------------------------------------


def canon_money(m: Optional[pesakit.Money]) -> Optional[Dict[str, Any]]:
    if m is None:
        return None
    return {"value": amount(m.value), "minor_units": m.minor_units, "formatted": m.formatted}


def canon_payment(p: pesakit.Payment) -> Dict[str, Any]:
    return {
        "id": p.id,
        "status": name_of(p.status),
        "status_raw": p.status_raw,
        "reference": p.reference,
        "currency_code": p.currency_code,
        "amount": canon_money(p.amount),
        "received_amount": canon_money(p.received_amount),
        "has_found_at": p.found_at is not None,
        "has_confirmed_at": p.confirmed_at is not None,
        "has_date": p.date is not None,
    }


def canon_checkout(c: pesakit.Checkout) -> Dict[str, Any]:
    return {
        "payment_id": c.payment_id,
        "url_has_payment_id": c.payment_id in c.checkout_url,
        "has_expires_at": c.expires_at is not None,
    }


def canon_application(a: pesakit.PaymentApplication) -> Dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "client_id_length": None if a.client_id is None else len(a.client_id),
        "currency_whitelist": list(a.currency_whitelist),
    }


def canon_applications(apps: List[pesakit.PaymentApplication]) -> Dict[str, Any]:
    return {"count": len(apps), "names": [a.name for a in apps]}


def canon_checkout_event(e: pesakit.CheckoutWebhookEvent) -> Dict[str, Any]:
    return {"kind": name_of(e.kind), "kind_raw": e.kind_raw, "payment": canon_payment(e.payment)}


# -- canonical forms: Paga Connect ------------------------------------------------------


def canon_grant(g: pesakit.PagaGrant) -> Dict[str, Any]:
    return {
        "scopes": list(g.scopes),
        "user_data": list(g.user_data),
        "has_authorities": "authorities" in json.loads(g.extra_json),
    }


def canon_paga_details(d: pesakit.PagaUserDetails) -> Dict[str, Any]:
    return {"first_name": d.first_name, "username": d.username, "account_balance": amount(d.account_balance)}


def canon_paga_payment(p: pesakit.PagaPaymentResult) -> Dict[str, Any]:
    return {"has_transaction_id": p.transaction_id is not None, "amount": amount(p.amount), "fee": amount(p.fee)}


def canon_paga_transfer(p: pesakit.PagaPaymentResult) -> Dict[str, Any]:
    return {"has_transaction_id": p.transaction_id is not None, "amount": amount(p.amount)}


# -- values -----------------------------------------------------------------------


REFERENCE = re.compile(r"\$([A-Za-z_]\w*)(?:\.|$)")


def resolve(value: Any, saved: Dict[str, Any]) -> Any:
    """Replaces ``"$name.field"`` strings with saved values, recursively. Only a name
    (letters, digits, ``_``, not starting with a digit) makes a reference: ``"$100.00"``
    (a formatted amount) stays text, as in the Rust runner."""
    if isinstance(value, str) and REFERENCE.match(value):
        name, _, path = value[1:].partition(".")
        if name not in saved:
            raise StepFailed(f"{value}: nothing was saved as {name!r}")
        result = saved[name]
        for part in path.split(".") if path else []:
            result = result[part]
        return result
    if isinstance(value, list):
        return [resolve(v, saved) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, saved) for k, v in value.items()}
    return value


def match(expected: Any, actual: Any, path: str) -> None:
    """``actual`` contains ``expected``: objects every expected key (missing = null),
    lists the same length element-wise, numbers by value, the rest by equality."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            raise StepFailed(f"{path}: expected an object {expected}, got {actual!r}")
        for key, value in expected.items():
            if key == "summary_contains":
                summary = actual.get("summary") or ""
                if value not in summary:
                    raise StepFailed(f"{path}.summary {summary!r} lacks {value!r}")
                continue
            match(value, actual.get(key), f"{path}.{key}")
    elif isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            raise StepFailed(f"{path}: expected {expected!r}, got {actual!r}")
        for i, (e, a) in enumerate(zip(expected, actual)):
            match(e, a, f"{path}[{i}]")
    elif isinstance(expected, bool) or isinstance(actual, bool):
        if type(expected) is not type(actual) or expected != actual:
            raise StepFailed(f"{path}: expected {expected!r}, got {actual!r}")
    elif isinstance(expected, (int, float)) and isinstance(actual, (int, float, Decimal)):
        # JSON numbers by value; a Decimal (payer instructions) exactly.
        if Decimal(str(expected)) != Decimal(str(actual)):
            raise StepFailed(f"{path}: expected {expected!r}, got {actual!r}")
    elif expected != actual:
        raise StepFailed(f"{path}: expected {expected!r}, got {actual!r}")


# -- the runner -------------------------------------------------------------------

CLIENT_MS_OPTIONS = {
    "request_timeout_ms": "request_timeout",
    "connect_timeout_ms": "connect_timeout",
    "initial_backoff_ms": "initial_backoff",
    "max_backoff_ms": "max_backoff",
    "max_retry_after_ms": "max_retry_after",
    "refresh_skew_ms": "refresh_skew",
    "poll_interval_ms": "poll_interval",
}
RUNNER_DEFAULTS = {"initial_backoff_ms": 10, "max_backoff_ms": 50, "poll_interval_ms": 20}


class Runner:
    """Runs one scenario's steps against one emulator."""

    def __init__(self, sandbox: Sandbox, scenario: Dict[str, Any]) -> None:
        self.sandbox = sandbox
        self.gateway: str = scenario.get("gateway", "paypack")
        if self.gateway not in ("paypack", "checkout", "paga"):
            raise StepFailed(f"unknown gateway {self.gateway!r}")
        self.store = DictStore()
        self.overrides: Dict[str, Any] = dict(scenario.get("client") or {})
        self.client: Optional[pesakit.PaypackClient] = None
        self.checkout: Optional[pesakit.CheckoutClient] = None
        self.paga: Optional[pesakit.PagaClient] = None
        self.saved: Dict[str, Any] = {}
        # Checkout scenarios with "oauth": the dashboard sign-in, once, before any step.
        self.oauth: Optional[Dict[str, Any]] = sandbox.oauth_sign_in() if scenario.get("oauth") else None

    # The client is created at its first use, so `seed_tokens` can fill the store first.
    def sync_client(self) -> pesakit.PaypackClient:
        if self.client is None:
            o = {**RUNNER_DEFAULTS, **self.overrides}
            options: Dict[str, Any] = {}
            for key, value in o.items():
                if key in CLIENT_MS_OPTIONS:
                    options[CLIENT_MS_OPTIONS[key]] = dt.timedelta(milliseconds=value)
                elif key == "max_retries":
                    options["max_retries"] = value
                elif key not in ("client_id", "client_secret"):
                    raise StepFailed(f"unknown client option {key!r}")
            self.client = pesakit.PaypackClient(
                o.get("client_id", DEFAULT_CLIENT_ID),
                o.get("client_secret", DEFAULT_CLIENT_SECRET),
                base_url=self.sandbox.paypack_url,
                allow_insecure_loopback=True,
                token_store=self.store,
                **options,
            )
        return self.client

    def async_client(self) -> pesakit.AsyncPaypackClient:
        # One client: the async face of the same token cache and connection pool.
        return self.sync_client().as_async()

    def checkout_client(self) -> pesakit.CheckoutClient:
        if self.checkout is None:
            o = {**RUNNER_DEFAULTS, **self.overrides}
            options: Dict[str, Any] = {}
            for key, value in o.items():
                if key == "poll_interval_ms":
                    continue  # the checkout client does not poll
                if key in CLIENT_MS_OPTIONS:
                    options[CLIENT_MS_OPTIONS[key]] = dt.timedelta(milliseconds=value)
                elif key == "max_retries":
                    options["max_retries"] = value
                elif key != "client_token":
                    raise StepFailed(f"unknown checkout client option {key!r}")
            oauth = None
            if self.oauth is not None:
                oauth = pesakit.CheckoutOAuth(
                    self.oauth["access_token"],
                    OAUTH_CLIENT_ID,
                    refresh_token=self.oauth["refresh_token"],
                    client_secret=OAUTH_CLIENT_SECRET,
                )
            self.checkout = pesakit.CheckoutClient(
                self.sandbox.checkout_url,
                client_token=o.get("client_token", CHECKOUT_TOKEN),
                client_id=CHECKOUT_CLIENT_ID,
                webhook_secret=CHECKOUT_WEBHOOK_SECRET,
                oauth=oauth,
                allow_insecure_loopback=True,
                token_store=self.store,
                **options,
            )
        return self.checkout

    def paga_client(self) -> pesakit.PagaClient:
        if self.paga is None:
            o = {**RUNNER_DEFAULTS, **self.overrides}
            options: Dict[str, Any] = {}
            for key, value in o.items():
                if key in ("poll_interval_ms", "max_retry_after_ms"):
                    continue  # the Paga client neither polls nor waits out Retry-After
                if key in CLIENT_MS_OPTIONS:
                    options[CLIENT_MS_OPTIONS[key]] = dt.timedelta(milliseconds=value)
                elif key == "max_retries":
                    options["max_retries"] = value
                elif key == "pkce":
                    options["pkce"] = bool(value)
                elif key == "token_request_style":
                    options["token_request_style"] = value
                else:
                    raise StepFailed(f"unknown Paga client option {key!r}")
            self.paga = pesakit.PagaClient(
                PAGA_CLIENT_ID,
                PAGA_CLIENT_SECRET,
                PAGA_REDIRECT_URI,
                environment=self.sandbox.paga_url,
                allow_insecure_loopback=True,
                token_store=self.store,
                **options,
            )
        return self.paga

    def ensure_client(self) -> None:
        """Creates the scenario's client now (before concurrent calls share it)."""
        if self.gateway == "checkout":
            self.checkout_client()
        elif self.gateway == "paga":
            self.paga_client()
        else:
            self.sync_client()

    # -- call ---------------------------------------------------------------------

    @staticmethod
    def cash_args(args: Dict[str, Any]) -> Dict[str, Any]:
        return dict(
            amount=args["amount"], number=args["number"],
            idempotency_key=args.get("idempotency_key"), webhook_mode=args.get("webhook_mode"),
            validate=args.get("validate", True),
        )

    @staticmethod
    def tx_filter(args: Dict[str, Any]) -> Dict[str, Any]:
        return {k: args.get(k) for k in ("offset", "limit", "kind", "client")}

    @staticmethod
    def event_filter(args: Dict[str, Any]) -> Dict[str, Any]:
        return {k: args.get(k) for k in ("reference", "kind", "client", "status", "offset", "limit")}

    @staticmethod
    def pager_result(ids: List[str]) -> Dict[str, Any]:
        return {"count": len(ids), "unique": len(set(ids))}

    @staticmethod
    def checkout_args(args: Dict[str, Any]) -> Dict[str, Any]:
        return dict(
            amount=args["amount"], currency=args["currency"], reference=args["reference"],
            reference_label=args.get("reference_label"), exponent=args.get("exponent"),
        )

    @staticmethod
    def application_args(args: Dict[str, Any]) -> Dict[str, Any]:
        return dict(
            name=args["name"], secret=args["secret"], callback_url=args.get("callback_url"),
            currency_whitelist=args.get("currency_whitelist") or (),
        )

    async def checkout_call_async(self, name: str, args: Dict[str, Any]) -> Any:
        c = self.checkout_client().as_async()
        if name == "create_checkout":
            return canon_checkout(await c.create_checkout(**self.checkout_args(args)))
        if name == "get_payment":
            return canon_payment(await c.get_payment(args["id"]))
        if name == "payer_instructions":
            return await c.payer_instructions(args["payment_id"], args["provider"], args["method"])
        if name == "payment_applications":
            return canon_applications(await c.payment_applications())
        if name == "payment_application":
            return canon_application(await c.payment_application(args["id"]))
        if name == "create_payment_application":
            return canon_application(await c.create_payment_application(**self.application_args(args)))
        raise StepFailed(f"unknown checkout call {name!r}")

    def checkout_call_blocking(self, name: str, args: Dict[str, Any]) -> Any:
        c = self.checkout_client()
        if name == "create_checkout":
            return canon_checkout(c.create_checkout(**self.checkout_args(args)))
        if name == "get_payment":
            return canon_payment(c.get_payment(args["id"]))
        if name == "payer_instructions":
            return c.payer_instructions(args["payment_id"], args["provider"], args["method"])
        if name == "payment_applications":
            return canon_applications(c.payment_applications())
        if name == "payment_application":
            return canon_application(c.payment_application(args["id"]))
        if name == "create_payment_application":
            return canon_application(c.create_payment_application(**self.application_args(args)))
        raise StepFailed(f"unknown checkout call {name!r}")

    @staticmethod
    def merchant_payment_args(args: Dict[str, Any]) -> Dict[str, Any]:
        return dict(
            user=args["user"], reference_number=args["reference_number"], amount=args["amount"],
            customer_reference=args["customer_reference"], product_code=args.get("product_code"),
            currency=args.get("currency"),
        )

    @staticmethod
    def money_transfer_args(args: Dict[str, Any]) -> Dict[str, Any]:
        return dict(
            user=args["user"], reference_number=args["reference_number"], amount=args["amount"],
            recipient=args["recipient"], skip_messaging=bool(args.get("skip_messaging", False)),
        )

    async def paga_call_async(self, name: str, args: Dict[str, Any]) -> Any:
        c = self.paga_client().as_async()
        if name == "user_details":
            return canon_paga_details(await c.user_details(args["user"]))
        if name == "merchant_payment":
            return canon_paga_payment(await c.merchant_payment(**self.merchant_payment_args(args)))
        if name == "money_transfer":
            return canon_paga_transfer(await c.money_transfer(**self.money_transfer_args(args)))
        if name == "one_time_token":
            return {"is_object": isinstance(await c.one_time_token(args["user"], args["reference_number"]), dict)}
        raise StepFailed(f"unknown Paga call {name!r}")

    def paga_call_blocking(self, name: str, args: Dict[str, Any]) -> Any:
        c = self.paga_client()
        if name == "user_details":
            return canon_paga_details(c.user_details(args["user"]))
        if name == "merchant_payment":
            return canon_paga_payment(c.merchant_payment(**self.merchant_payment_args(args)))
        if name == "money_transfer":
            return canon_paga_transfer(c.money_transfer(**self.money_transfer_args(args)))
        if name == "one_time_token":
            return {"is_object": isinstance(c.one_time_token(args["user"], args["reference_number"]), dict)}
        raise StepFailed(f"unknown Paga call {name!r}")

    async def call_async(self, name: str, args: Dict[str, Any]) -> Any:
        if self.gateway == "checkout":
            return await self.checkout_call_async(name, args)
        if self.gateway == "paga":
            return await self.paga_call_async(name, args)
        c = self.async_client()
        if name == "authorize":
            return {"expires_in_future": await c.authorize() > dt.datetime.now(dt.timezone.utc)}
        if name == "profile":
            return canon_profile(await c.profile())
        if name == "cashin":
            return canon_tx(await c.cashin(**self.cash_args(args)))
        if name == "cashout":
            return canon_tx(await c.cashout(**self.cash_args(args)))
        if name == "find":
            return canon_tx(await c.find(args["reference"]))
        if name == "wait_for_completion":
            timeout = dt.timedelta(milliseconds=args["timeout_ms"])
            return canon_tx(await c.wait_for_completion(args["reference"], timeout))
        if name == "list_transactions":
            return canon_tx_page(await c.list_transactions(**self.tx_filter(args)))
        if name == "list_events":
            return canon_event_page(await c.list_events(**self.event_filter(args)))
        if name == "transactions":
            return self.pager_result([t.reference async for t in c.transactions(**self.tx_filter(args))])
        if name == "events":
            return self.pager_result([e.id async for e in c.events(**self.event_filter(args))])
        raise StepFailed(f"unknown call {name!r}")

    def call_blocking(self, name: str, args: Dict[str, Any]) -> Any:
        if self.gateway == "checkout":
            return self.checkout_call_blocking(name, args)
        if self.gateway == "paga":
            return self.paga_call_blocking(name, args)
        c = self.sync_client()
        if name == "authorize":
            return {"expires_in_future": c.authorize() > dt.datetime.now(dt.timezone.utc)}
        if name == "profile":
            return canon_profile(c.profile())
        if name == "cashin":
            return canon_tx(c.cashin(**self.cash_args(args)))
        if name == "cashout":
            return canon_tx(c.cashout(**self.cash_args(args)))
        if name == "find":
            return canon_tx(c.find(args["reference"]))
        if name == "wait_for_completion":
            return canon_tx(c.wait_for_completion(args["reference"], dt.timedelta(milliseconds=args["timeout_ms"])))
        if name == "list_transactions":
            return canon_tx_page(c.list_transactions(**self.tx_filter(args)))
        if name == "list_events":
            return canon_event_page(c.list_events(**self.event_filter(args)))
        if name == "transactions":
            return self.pager_result([t.reference for t in c.transactions(**self.tx_filter(args))])
        if name == "events":
            return self.pager_result([e.id for e in c.events(**self.event_filter(args))])
        raise StepFailed(f"unknown call {name!r}")

    async def outcome(self, step: Dict[str, Any], name: str, args: Dict[str, Any]) -> Any:
        """The canonical result, or the PesakitError raised."""
        try:
            if step.get("blocking"):
                return self.call_blocking(name, args)
            return await self.call_async(name, args)
        except pesakit.PesakitError as e:
            return e

    def check(self, step: Dict[str, Any], outcome: Any) -> None:
        expect = resolve(step["expect"], self.saved) if "expect" in step else None
        expect_error = resolve(step["expect_error"], self.saved) if "expect_error" in step else None
        if isinstance(outcome, pesakit.PesakitError):
            if expect_error is None:
                raise StepFailed(f"unexpected error: {outcome!r}")
            match(expect_error, canon_error(outcome), "error")
            return
        if expect_error is not None:
            raise StepFailed(f"expected an error, got {outcome}")
        if expect is not None:
            match(expect, outcome, "result")
        if "save" in step:
            self.saved[step["save"]] = outcome

    async def step_call(self, step: Dict[str, Any]) -> None:
        name = step["call"]
        args = resolve(step.get("args") or {}, self.saved)
        concurrency = int(step.get("concurrency", 1))
        if concurrency > 1:
            self.ensure_client()
            outcomes = await asyncio.gather(*[self.outcome(step, name, args) for _ in range(concurrency)])
            for outcome in outcomes:
                self.check(step, outcome)
            return
        outcome: Any = None
        for _ in range(int(step.get("repeat", 1))):
            outcome = await self.outcome(step, name, args)
        self.check(step, outcome)

    # -- connect (the browser part of Paga Connect) ------------------------------

    async def step_connect(self, step: Dict[str, Any]) -> None:
        if self.gateway != "paga":
            raise StepFailed("connect steps belong to Paga scenarios")
        c = resolve(step["connect"], self.saved)
        client = self.paga_client()
        scopes, user_data = c.get("scopes") or [], c.get("user_data") or []
        authorization = client.authorization_url(scopes, user_data)
        location = self.sandbox.paga_redirect(authorization.url(), sandbox_user=c.get("sandbox_user"))
        state = c.get("state", "valid")
        if state == "forged":
            authorization = client.authorization_url(scopes, user_data)
        elif state != "valid":
            raise StepFailed(f"unknown state {state!r}")
        try:
            outcome: Any = canon_grant(await client.as_async().handle_callback(location, authorization, c["user"]))
        except pesakit.PesakitError as e:
            outcome = e
        self.check(step, outcome)

    # -- control ------------------------------------------------------------------

    def step_control(self, step: Dict[str, Any]) -> None:
        step = resolve(step, self.saved)
        kind = step["control"]
        box = self.sandbox
        if kind == "settle":
            box.settle(step["reference"], step.get("status"))
        elif kind == "fault":
            box.control("POST", "/_sandbox/faults", step["fault"])
        elif kind == "clear_faults":
            box.clear_faults()
        elif kind == "clear_requests":
            box.clear_requests()
        elif kind == "expire_tokens":
            box.expire_tokens(step["which"])
        elif kind == "revoke_tokens":
            box.revoke_tokens(step["which"])
        elif kind == "config":
            box.control("POST", "/_sandbox/paypack/config", step["config"])
        elif kind == "payment_status":
            box.control(
                "POST", f"/_sandbox/checkout/payments/{step['payment_id']}/status", {"status": step["status"]}
            )
        elif kind == "oauth_expire":
            box.oauth_expire(step.get("which"))
        elif kind == "paga_expire_tokens":
            box.paga_expire_tokens(step["which"])
        elif kind == "seed_tokens":
            answer = box.raw_authorize()
            now = int(time.time())
            utc = dt.timezone.utc
            tokens = pesakit.TokenSet(
                answer["access"],
                dt.datetime.fromtimestamp(now + int(step["expires_in_secs"]), utc),
                refresh_token=answer["refresh"],
                obtained_at=dt.datetime.fromtimestamp(now - 900, utc),
            )
            self.store.save(f"paypack|{box.paypack_url}|{DEFAULT_CLIENT_ID}", tokens)
            box.clear_requests()
        else:
            raise StepFailed(f"unknown control {kind!r}")

    # -- assert -------------------------------------------------------------------

    def step_assert(self, step: Dict[str, Any]) -> None:
        step = resolve(step, self.saved)
        kind = step["assert"]
        if kind == "ledger":
            count = len(self.sandbox.ledger()["transactions"])
            if count != step["count"]:
                raise StepFailed(f"ledger: expected {step['count']} transactions, got {count}")
            return
        prefix = {"checkout": "/checkout", "paga": "/paga"}.get(self.gateway, "/paypack/api") + step["path"]
        selected = [
            r for r in self.sandbox.requests()
            if r["method"].upper() == step["method"].upper() and r["path"].startswith(prefix)
        ]
        if kind == "requests":
            if len(selected) != step["count"]:
                raise StepFailed(
                    f"{step['method']} {step['path']} requests: expected {step['count']}, got {len(selected)}"
                )
        elif kind == "statuses":
            match(step["equals"], [r["status"] for r in selected], "statuses")
        elif kind == "header":
            index = step["index"]
            header = step["header"].lower()
            if index >= len(selected):
                raise StepFailed(f"no request {index} among {len(selected)} {step['method']} {step['path']}")
            headers = {k.lower(): v for k, v in selected[index]["headers"].items()}
            value = headers.get(header)
            if value is None:
                raise StepFailed(f"no header {header} on request {index}")
            if "equals" in step and value != step["equals"]:
                raise StepFailed(f"header {header}: expected {step['equals']!r}, got {value!r}")
            if "matches" in step and not re.search(step["matches"], value):
                raise StepFailed(f"header {header} = {value!r} does not match {step['matches']!r}")
        else:
            raise StepFailed(f"unknown assert {kind!r}")

    # -- webhook ------------------------------------------------------------------

    @staticmethod
    def webhook_body(w: Dict[str, Any]) -> bytes:
        if "body_text" in w:
            return w["body_text"].encode()  # type: ignore[no-any-return]
        return json.dumps(w["body"], separators=(",", ":"), ensure_ascii=False).encode()

    @staticmethod
    def tamper_amount(body: bytes) -> bytes:
        """The first digit after the first ``"amount":`` replaced by the next digit."""
        at = body.index(b'"amount":') + len(b'"amount":')
        digit = next(i for i in range(at, len(body)) if chr(body[i]).isdigit())
        new = b"0" if body[digit:digit + 1] == b"9" else bytes([body[digit] + 1])
        return body[:digit] + new + body[digit + 1:]

    def step_checkout_webhook(self, step: Dict[str, Any]) -> None:
        w = step["webhook"]
        verifier = pesakit.CheckoutWebhookVerifier(w["secret"])
        body = self.webhook_body(w)
        mode = w["signature"]
        now = int(time.time())
        ts = now - 3600 if mode == "stale" else now
        signature: Optional[str] = verifier.sign(ts, body)
        timestamp: Optional[str] = str(ts)
        if mode in ("valid", "stale"):
            pass
        elif mode == "tamper_body":
            if "tamper" in w:
                body = body.replace(w["tamper"].encode(), w["tamper_with"].encode(), 1)
            else:
                body = self.tamper_amount(body)
        elif mode == "tamper_signature":
            assert signature is not None
            signature = ("1" if signature[0] == "0" else "0") + signature[1:]
        elif mode == "missing":
            signature = None
        elif mode == "missing_timestamp":
            timestamp = None
        elif mode == "wrong_secret":
            signature = pesakit.CheckoutWebhookVerifier("not-the-secret").sign(ts, body)
        else:
            raise StepFailed(f"unknown signature mode {mode!r}")
        try:
            outcome: Any = canon_checkout_event(
                verifier.verify_and_parse(body, signature, timestamp, event=w.get("event"))
            )
        except pesakit.PesakitError as e:
            outcome = e
        self.check(step, outcome)

    def step_webhook(self, step: Dict[str, Any]) -> None:
        if self.gateway == "checkout":
            self.step_checkout_webhook(step)
            return
        w = step["webhook"]
        verifier = pesakit.PaypackWebhookVerifier(w["secret"])
        body = self.webhook_body(w)
        signature: Optional[str] = verifier.sign(body)
        mode = w["signature"]
        if mode == "valid":
            pass
        elif mode == "tamper_body":
            if "tamper" in w:
                body = body.replace(w["tamper"].encode(), w["tamper_with"].encode(), 1)
            else:
                body = self.tamper_amount(body)
        elif mode == "tamper_signature":
            assert signature is not None
            signature = ("B" if signature[0] == "A" else "A") + signature[1:]
        elif mode == "missing":
            signature = None
        elif mode == "wrong_secret":
            signature = pesakit.PaypackWebhookVerifier("not-the-secret").sign(body)
        else:
            raise StepFailed(f"unknown signature mode {mode!r}")
        try:
            outcome: Any = canon_event(verifier.verify_and_parse(body, signature))
        except pesakit.PesakitError as e:
            outcome = e
        self.check(step, outcome)

    # -- scenario -----------------------------------------------------------------

    async def run(self, steps: List[Dict[str, Any]]) -> None:
        for i, step in enumerate(steps):
            kinds = [k for k in ("call", "control", "assert", "webhook", "new_client", "connect") if k in step]
            try:
                if len(kinds) != 1:
                    raise StepFailed(
                        f"a step has exactly one of call/control/assert/webhook/new_client/connect, not {kinds}"
                    )
                if "call" in step:
                    await self.step_call(step)
                elif "connect" in step:
                    await self.step_connect(step)
                elif "control" in step:
                    self.step_control(step)
                elif "assert" in step:
                    self.step_assert(step)
                elif "webhook" in step:
                    self.step_webhook(step)
                else:
                    self.close()
            except StepFailed as e:
                raise StepFailed(f"step {i} {json.dumps(step)}: {e}") from None

    def close(self) -> None:
        """Drops the clients (the store stays, for ``new_client``)."""
        if self.client is not None:
            self.client.close()
        if self.checkout is not None:
            self.checkout.close()
        if self.paga is not None:
            self.paga.close()
        self.client = None
        self.checkout = None
        self.paga = None


def run_scenario(path: Path, gateway: str) -> None:
    scenario = json.loads(path.read_text())
    declared = scenario.get("gateway", "paypack")
    assert declared == gateway, f"{path} is a {declared!r} scenario in the {gateway} directory"
    sandbox = Sandbox()
    try:
        if "sandbox" in scenario:
            sandbox.control("POST", f"/_sandbox/{gateway}/config", scenario["sandbox"])
        runner = Runner(sandbox, scenario)
        try:
            asyncio.run(runner.run(scenario["steps"]))
        finally:
            runner.close()
    finally:
        sandbox.close()


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path) -> None:
    run_scenario(path, "paypack")


@pytest.mark.parametrize("path", CHECKOUT_SCENARIOS, ids=[p.stem for p in CHECKOUT_SCENARIOS])
def test_checkout_scenario(path: Path) -> None:
    run_scenario(path, "checkout")


@pytest.mark.parametrize("path", PAGA_SCENARIOS, ids=[p.stem for p in PAGA_SCENARIOS])
def test_paga_scenario(path: Path) -> None:
    run_scenario(path, "paga")
