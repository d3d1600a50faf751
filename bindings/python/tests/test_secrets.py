"""The secrets sweep through the Python package: clients configured with recognisable
secrets are driven down every path (successes, token refresh/expiry/revocation, 401s,
every injected fault kind, validation errors, webhook failures, the Paga OAuth dance),
blocking and asyncio alike, and nothing Python code gets to see — ``str()``/``repr()``
of clients, errors (and every field of ``PesakitError``), token sets and the other
objects, formatted tracebacks, lines through a ``pesakit.Logger`` and records through
the ``logging`` module — may contain a secret: the configured ones, or the tokens and
codes the emulator issued (read back from the token store and the request log).

Secrets are matched by any 16-character window, so a cut-off token counts as a leak, and
any JWT header (``eyJhbGciOi``) is one too: Paypack's tokens are JWTs."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import traceback
import urllib.parse
from typing import Any, Callable, Iterable, List, Optional, Set, Tuple

import pytest

import pesakit
from conftest import DictStore
from sandbox_helper import (
    CHECKOUT_CLIENT_ID,
    OAUTH_CLIENT_ID,
    OAUTH_CLIENT_SECRET,
    OAUTH_PASSWORD,
    PAGA_CLIENT_ID,
    PAGA_CLIENT_SECRET,
    PAGA_DENYING_USER,
    PAGA_RECIPIENT_PHONE,
    PAGA_REDIRECT_URI,
    PAGA_SCOPES,
    Sandbox,
)

PAYPACK_ID = "leakcheck-paypack-app"
PAYPACK_SECRET = "sk-LEAKCHECK-paypack-secret-7f3a9c"
PAYPACK_WRONG_SECRET = "sk-LEAKCHECK-paypack-wrong-51d2e8"
PAYPACK_WEBHOOK_SECRET = "whsec-LEAKCHECK-paypack-b4c1d9"
CHECKOUT_TOKEN = "ct-LEAKCHECK-checkout-token-2e9f41"
CHECKOUT_LIMITED_TOKEN = "ct-LEAKCHECK-limited-token-8a7c03"
CHECKOUT_UNKNOWN_TOKEN = "ct-LEAKCHECK-unknown-token-6b2d5f"
CHECKOUT_WEBHOOK_SECRET = "whsec-LEAKCHECK-checkout-c0ffee"
APP_WEBHOOK_SECRET = "whsec-LEAKCHECK-new-app-9d8e7f"
PAGA_WRONG_SECRET = "sk-LEAKCHECK-paga-wrong-1f0b2d"
WRONG_WEBHOOK_SECRET = "whsec-LEAKCHECK-wrong-4a6b8c"
NUMBER = "0788123456"
WINDOW = 16

CONFIGURED = [
    PAYPACK_SECRET, PAYPACK_WRONG_SECRET, PAYPACK_WEBHOOK_SECRET, CHECKOUT_TOKEN,
    CHECKOUT_LIMITED_TOKEN, CHECKOUT_UNKNOWN_TOKEN, CHECKOUT_WEBHOOK_SECRET, APP_WEBHOOK_SECRET,
    PAGA_CLIENT_SECRET, PAGA_WRONG_SECRET, WRONG_WEBHOOK_SECRET, OAUTH_CLIENT_SECRET, OAUTH_PASSWORD,
]

#: Every fault kind of the emulator, before and after the handler ran.
FAULTS = [
    dict(kind="status", status=500),
    dict(kind="status", status=500, after_handler=True),
    dict(kind="status", status=503, retry_after=0),
    dict(kind="status", status=429, retry_after=0),
    dict(kind="html", status=502, after_handler=True),
    dict(kind="drop_before"),
    dict(kind="drop_after"),
    dict(kind="malformed_json"),
    dict(kind="empty"),
    dict(kind="slow_body", delay_ms=400),
    dict(kind="delay", delay_ms=600),
]
#: Short timeouts and retries for the clients that meet faults.
FAULTED = dict(request_timeout=0.25, initial_backoff=0.01, max_backoff=0.05)


class ListLogger(pesakit.Logger):
    def __init__(self) -> None:
        self.lines: List[str] = []
        self._lock = threading.Lock()

    def log(self, level: pesakit.LogLevel, message: str) -> None:
        with self._lock:
            self.lines.append(f"{level}: {message}")


class ListHandler(logging.Handler):
    """Keeps every formatted record of the ``logging`` integration."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s %(args)s"))
        self.lines: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class Sweep:
    """Everything Python code could print, and every secret none of it may contain."""

    def __init__(self, name: str) -> None:
        self.texts: List[Tuple[str, str]] = []
        self.secrets: Set[str] = set(CONFIGURED)
        self.store = DictStore()
        self.pk_logger = ListLogger()
        self.std_logger = logging.getLogger(f"pesakit.sweep.{name}")
        self.std_logger.setLevel(logging.DEBUG)
        self.std_logger.propagate = False
        self.handler = ListHandler()
        self.std_logger.addHandler(self.handler)

    def logger(self, n: int) -> Any:
        """Alternately a ``pesakit.Logger`` subclass and a ``logging.Logger``."""
        return self.pk_logger if n % 2 == 0 else self.std_logger

    def secret(self, value: Optional[str]) -> None:
        if value:
            self.secrets.add(value)

    def show(self, what: str, value: Any) -> None:
        self.texts.append((what, str(value)))
        self.texts.append((what, repr(value)))

    def error(self, what: str, e: BaseException) -> None:
        self.show(what, e)
        for name in ("summary", "gateway_message", "gateway_code", "body", "idempotency_key", "field_errors", "kind", "status"):
            self.show(f"{what}.{name}", getattr(e, name, None))
        self.texts.append((what, "".join(traceback.format_exception(e))))
        self.texts.append((what, str(e.args)))

    def call(self, what: str, fn: Callable[[], Any]) -> Any:
        """Runs ``fn``; keeps its error or its value's ``repr``."""
        try:
            value = fn()
        except Exception as e:  # noqa: BLE001 - whatever is raised is printed somewhere
            self.error(what, e)
            return e
        self.show(what, value)
        return value

    def acall(self, what: str, make: Callable[[], Any]) -> Any:
        """``call`` for a coroutine, run on a fresh event loop."""
        async def main() -> Any:
            return await make()
        return self.call(what, lambda: asyncio.run(main()))

    def harvest(self, sandbox: Sandbox) -> None:
        for t in list(self.store.saved):
            self.show("TokenSet", t)
            self.secret(t.access_token())
            self.secret(t.refresh_token())
        for r in sandbox.requests():
            auth = r["headers"].get("authorization")
            if auth:
                self.secret(auth.split(" ", 1)[-1])
            for part in (r.get("query"), r.get("body")):
                if not part:
                    continue
                for k, v in urllib.parse.parse_qsl(part):
                    if k in ("refresh_token", "code", "code_verifier", "client_secret", "password"):
                        self.secret(v)
            for prefix in ("/paypack/api/auth/refresh/", "/paypack/api/auth/agents/refresh/"):
                if r["path"].startswith(prefix):
                    self.secret(r["path"][len(prefix):])

    def assert_clean(self, min_secrets: int) -> None:
        self.texts += [("pesakit.Logger", line) for line in self.pk_logger.lines]
        self.texts += [("logging", line) for line in self.handler.lines]
        assert len(self.secrets) >= min_secrets, self.secrets
        assert self.pk_logger.lines and self.handler.lines, "both loggers received lines"
        windows: Set[str] = set()
        short = [s for s in self.secrets if len(s) <= WINDOW]
        for s in self.secrets:
            windows.update(s[i:i + WINDOW] for i in range(max(1, len(s) - WINDOW + 1)))
        leaks = []
        for what, text in self.texts:
            hit = (
                "eyJhbGciOi" in text
                or any(s in text for s in short)
                or any(text[i:i + WINDOW] in windows for i in range(len(text) - WINDOW + 1))
            )
            if hit:
                leaks.append(f"{what}: {text}")
        assert not leaks, f"{len(leaks)} texts leak a secret:\n" + "\n".join(leaks[:30])
        print(f"secrets sweep: {len(self.texts)} texts ({len(self.pk_logger.lines)} + {len(self.handler.lines)} "
              f"log lines) checked against {len(self.secrets)} secrets")


@pytest.fixture
def box() -> Iterable[Sandbox]:
    s = Sandbox(
        "--app", f"{PAYPACK_ID}:{PAYPACK_SECRET}",
        "--webhook-secret", PAYPACK_WEBHOOK_SECRET,
        "--checkout-token", f"{CHECKOUT_TOKEN}:*",
        "--checkout-token", f"{CHECKOUT_LIMITED_TOKEN}:payments.get",
        "--checkout-webhook-secret", CHECKOUT_WEBHOOK_SECRET,
    )
    try:
        yield s
    finally:
        s.close()


def paypack(box: Sandbox, sweep: Sweep, n: int, *, cls: Any = pesakit.PaypackClient,
            store: Optional[DictStore] = None, secret: str = PAYPACK_SECRET, **options: Any) -> Any:
    settings: dict = dict(base_url=box.paypack_url, allow_insecure_loopback=True, initial_backoff=0.01,
                          max_backoff=0.05, poll_interval=0.02)
    settings.update(options)
    client = cls(PAYPACK_ID, secret, token_store=store or sweep.store, logger=sweep.logger(n), **settings)
    sweep.show("paypack client", client)
    sweep.show("native paypack client", client._native_client)
    return client


def test_paypack_never_leaks_a_secret(box: Sandbox) -> None:
    sweep = Sweep("paypack")
    client = paypack(box, sweep, 0)
    aclient = paypack(box, sweep, 1, cls=pesakit.AsyncPaypackClient, store=sweep.store.sibling())

    sweep.call("authorize", client.authorize)
    tx = sweep.call("cashin", lambda: client.cashin("1000", NUMBER))
    atx = sweep.acall("async cashin", lambda: aclient.cashin("500", NUMBER))
    box.settle(tx.reference, "successful")
    box.settle(atx.reference, "failed")
    sweep.call("wait", lambda: client.wait_for_completion(tx.reference, timeout=10))
    sweep.call("find", lambda: client.find(tx.reference))
    sweep.acall("async find", lambda: aclient.find(atx.reference))
    sweep.call("list", client.list_transactions)
    sweep.call("events", client.list_events)
    sweep.call("profile", client.profile)
    sweep.call("cashout", lambda: client.cashout("100", "0723456789"))

    for action, which in [("expire", "access"), ("revoke", "access"), ("expire", "all"), ("revoke", "all")]:
        getattr(box, f"{action}_tokens")(which)
        assert not isinstance(sweep.call(f"profile after {action} {which}", client.profile), Exception)
        assert not isinstance(sweep.acall(f"async profile after {action} {which}", aclient.profile), Exception)

    wrong = paypack(box, sweep, 1, store=sweep.store.sibling(), secret=PAYPACK_WRONG_SECRET)
    e = sweep.call("wrong secret", wrong.profile)
    assert isinstance(e, pesakit.PesakitError.Authentication) and e.status == 401
    e = sweep.acall("async wrong secret", paypack(
        box, sweep, 0, cls=pesakit.AsyncPaypackClient, store=sweep.store.sibling(), secret=PAYPACK_WRONG_SECRET,
    ).profile)
    assert isinstance(e, pesakit.PesakitError.Authentication)
    box.fault(path="/paypack/api/merchants/me", kind="status", status=401, count=2)
    sweep.call("401 twice", client.profile)

    for number, amount, key in [("12345", "1000", None), (NUMBER, "0", None), (NUMBER, "1000", "x" * 40)]:
        e = sweep.call("invalid cashin", lambda: client.cashin(amount, number, idempotency_key=key))
        assert isinstance(e, pesakit.PesakitError.Validation)
        sweep.acall("async invalid cashin", lambda: aclient.cashin(amount, number, idempotency_key=key))
    for reference in ("..", "no-such-reference"):
        sweep.call("find", lambda: client.find(reference))
    sweep.call("cashout beyond the balance", lambda: client.cashout("100000000", NUMBER))

    for n, fault in enumerate(FAULTS):
        for target, path in [("authorize", "/paypack/api/auth/agents/authorize"),
                             ("refresh", "/paypack/api/auth/"), ("data", "/paypack/api/merchants/me")]:
            c = paypack(box, sweep, n, cls=pesakit.AsyncPaypackClient if n % 2 else pesakit.PaypackClient,
                        store=sweep.store.sibling(), **FAULTED)
            run = (lambda f: sweep.acall(target, f)) if n % 2 else (lambda f: sweep.call(target, f))
            if target != "authorize":
                run(c.authorize)
            if target == "refresh":
                box.expire_tokens("access")
            box.fault(path=path, count=4, **fault)
            run(c.profile)
            box.clear_faults()
            run(c.authorize)

    sweep.harvest(box)
    sweep.assert_clean(20)


def checkout(box: Sandbox, sweep: Sweep, n: int, *, cls: Any = pesakit.CheckoutClient,
             store: Optional[DictStore] = None, **options: Any) -> Any:
    settings: dict = dict(client_token=CHECKOUT_TOKEN, client_id=CHECKOUT_CLIENT_ID,
                          webhook_secret=CHECKOUT_WEBHOOK_SECRET, allow_insecure_loopback=True,
                          initial_backoff=0.01, max_backoff=0.05)
    settings.update(options)
    client = cls(box.checkout_url, token_store=store or sweep.store, logger=sweep.logger(n), **settings)
    sweep.show("checkout client", client)
    sweep.show("native checkout client", client._native_client)
    sweep.show("checkout verifier", client.webhook_verifier())
    return client


def sign_in(box: Sandbox, sweep: Sweep) -> pesakit.CheckoutOAuth:
    tokens = box.oauth_sign_in()
    sweep.secret(tokens["access_token"])
    sweep.secret(tokens["refresh_token"])
    oauth = pesakit.CheckoutOAuth(tokens["access_token"], OAUTH_CLIENT_ID, refresh_token=tokens["refresh_token"],
                                  client_secret=OAUTH_CLIENT_SECRET)
    sweep.show("CheckoutOAuth", oauth)
    return oauth


def test_checkout_never_leaks_a_secret(box: Sandbox) -> None:
    sweep = Sweep("checkout")
    client = checkout(box, sweep, 0, oauth=sign_in(box, sweep))
    aclient = checkout(box, sweep, 1, cls=pesakit.AsyncCheckoutClient, oauth=sign_in(box, sweep),
                       store=sweep.store.sibling())

    created = sweep.call("create", lambda: client.create_checkout("100.50", "USD", "order-1"))
    sweep.acall("async create", lambda: aclient.create_checkout("1.50", "USD", "order-2"))
    sweep.call("get", lambda: client.get_payment(created.payment_id))
    sweep.call("instructions", lambda: client.payer_instructions(created.payment_id, "bitcoin", "onchain"))
    sweep.acall("async 404", lambda: aclient.get_payment("no-such-payment"))
    for token in (CHECKOUT_LIMITED_TOKEN, CHECKOUT_UNKNOWN_TOKEN):
        other = checkout(box, sweep, 0, client_token=token)
        e = sweep.call("refused token", lambda: other.create_checkout("5", "USD", "order-3"))
        assert isinstance(e, pesakit.PesakitError) and e.status in (401, 403)
    for amount, currency in (("1.001", "USD"), ("1", ""), ("1", "XYZ")):
        e = sweep.call("invalid checkout", lambda: client.create_checkout(amount, currency, "order-4"))
        assert isinstance(e, pesakit.PesakitError)

    sweep.call("create application", lambda: client.create_payment_application(
        "Leak shop", APP_WEBHOOK_SECRET, callback_url="https://shop.example/hooks", currency_whitelist=["USD"]))
    for name, callback in (("x", None), ("Leak shop", "not a url")):
        e = sweep.call("invalid application", lambda: client.create_payment_application(
            name, APP_WEBHOOK_SECRET, callback_url=callback))
        assert isinstance(e, pesakit.PesakitError)
    sweep.acall("async applications", aclient.payment_applications)
    box.oauth_expire("access")
    assert not isinstance(sweep.call("applications after expiry", client.payment_applications), Exception)
    assert not isinstance(sweep.acall("async applications after expiry", aclient.payment_applications), Exception)
    box.oauth_expire("all")
    assert isinstance(sweep.call("refresh refused", client.payment_applications), pesakit.PesakitError)

    for n, fault in enumerate(FAULTS):
        c = checkout(box, sweep, n, oauth=sign_in(box, sweep), store=sweep.store.sibling(), **FAULTED)
        sweep.call("applications", c.payment_applications)
        box.oauth_expire("access")
        box.fault(path="/checkout/oauth/token", count=4, **fault)
        sweep.call(f"OAuth refresh with {fault}", c.payment_applications)
        box.clear_faults()
        box.fault(path="/checkout/api/payment", count=4, **fault)
        sweep.call(f"create with {fault}", lambda: c.create_checkout("7", "USD", "order-f"))
        sweep.call(f"get with {fault}", lambda: c.get_payment(created.payment_id))
        box.clear_faults()

    sweep.harvest(box)
    sweep.assert_clean(20)


def approve(box: Sandbox, sweep: Sweep, authorization: Any, user: Optional[str] = None) -> str:
    sweep.secret(authorization.pkce_verifier())
    sweep.show("PagaAuthorization", authorization)
    callback = box.paga_redirect(authorization.url(), sandbox_user=user)
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query)).get("code")
    sweep.secret(code)
    return callback


def test_paga_never_leaks_a_secret(box: Sandbox) -> None:
    sweep = Sweep("paga")
    for n, style in enumerate(("form_body", "query_string")):
        def make(secret: str = PAGA_CLIENT_SECRET, store: Optional[DictStore] = None,
                 cls: Any = pesakit.PagaClient, **options: Any) -> Any:
            settings: dict = dict(environment=box.paga_url, token_request_style=style, pkce=True,
                                  allow_insecure_loopback=True, initial_backoff=0.01, max_backoff=0.05)
            settings.update(options)
            c = cls(PAGA_CLIENT_ID, secret, PAGA_REDIRECT_URI, token_store=store or sweep.store,
                    logger=sweep.logger(n), **settings)
            sweep.show("paga client", c)
            sweep.show("native paga client", c._native_client)
            return c

        client = make()
        user = f"user-{style}"
        auth = client.authorization_url(PAGA_SCOPES, ["FIRST_NAME"])
        sweep.texts.append(("authorization url", auth.url()))
        callback = approve(box, sweep, auth)
        grant = sweep.call("callback", lambda: client.handle_callback(callback, auth, user))
        assert isinstance(grant, pesakit.PagaGrant)
        sweep.call("used code", lambda: client.handle_callback(callback, auth, user))
        other = client.authorization_url(PAGA_SCOPES)
        sweep.secret(other.pkce_verifier())
        sweep.call("wrong state", lambda: client.handle_callback(callback, other, user))
        fresh = client.authorization_url(PAGA_SCOPES)
        cb = approve(box, sweep, fresh)
        sweep.call("wrong verifier", lambda: client.handle_callback(
            cb, pesakit.PagaAuthorization.restore(fresh.url(), fresh.state(), other.pkce_verifier()), user))
        denied = client.authorization_url(PAGA_SCOPES)
        cb = approve(box, sweep, denied, user=PAGA_DENYING_USER)
        sweep.call("denied", lambda: client.handle_callback(cb, denied, user))

        reference = pesakit.new_paga_reference_number()
        sweep.call("pay", lambda: client.merchant_payment(user, reference, "100", "customer-1"))
        sweep.call("duplicate", lambda: client.merchant_payment(user, reference, "100", "customer-1"))
        sweep.call("details", lambda: client.user_details(user))
        box.paga_expire_tokens("access")
        sent = sweep.call("transfer after expiry", lambda: client.money_transfer(
            user, pesakit.new_paga_reference_number(), "10", PAGA_RECIPIENT_PHONE, skip_messaging=True))
        assert not isinstance(sent, Exception)
        aclient = make(cls=pesakit.AsyncPagaClient)
        sweep.acall("async details", lambda: aclient.user_details(user))
        sweep.call("invalid payment", lambda: client.merchant_payment(user, reference, "0", "customer-1"))
        box.paga_expire_tokens("all")
        assert isinstance(sweep.call("refresh refused", lambda: client.user_details(user)), pesakit.PesakitError)
        sweep.acall("async unknown user", lambda: aclient.user_details("never-connected"))

        wrong = make(secret=PAGA_WRONG_SECRET, store=sweep.store.sibling())
        req = wrong.authorization_url(PAGA_SCOPES)
        e = sweep.call("wrong client secret", lambda: wrong.handle_callback(approve(box, sweep, req), req, user))
        assert isinstance(e, pesakit.PesakitError) and e.status == 401

        for fault in FAULTS:
            c = make(store=sweep.store.sibling(), **FAULTED)
            for target in ("exchange", "refresh", "operation"):
                req = c.authorization_url(PAGA_SCOPES)
                cb = approve(box, sweep, req)
                if target != "exchange":
                    c.handle_callback(cb, req, user)
                if target == "refresh":
                    box.paga_expire_tokens("access")
                path = "/paga/paga-webservices/oauth2/" + ("secure/" if target == "operation" else "token")
                box.fault(path=path, count=4, **fault)
                if target == "exchange":
                    sweep.call(f"exchange with {fault}", lambda: c.handle_callback(cb, req, user))
                else:
                    sweep.call(f"{target} with {fault}", lambda: c.user_details(user))
                box.clear_faults()

    sweep.harvest(box)
    sweep.assert_clean(20)


def test_webhooks_and_printing_never_leak_a_secret() -> None:
    sweep = Sweep("printing")
    sweep.secrets.update({"access-LEAKCHECK-printed-token", "refresh-LEAKCHECK-printed-token"})
    body = (b'{"event_id":"e1","event_kind":"transaction:processed","created_at":"2024-05-01T10:00:00Z",'
            b'"data":{"ref":"r1","kind":"CASHIN","amount":1000,"status":"successful","client":"0788123456"}}')
    verifier = pesakit.PaypackWebhookVerifier(PAYPACK_WEBHOOK_SECRET)
    wrong = pesakit.PaypackWebhookVerifier(WRONG_WEBHOOK_SECRET)
    sweep.show("paypack verifier", verifier)
    good = verifier.sign(body)
    sweep.call("valid", lambda: verifier.verify_and_parse(body, good))
    for what, fn in [
        ("wrong secret", lambda: wrong.verify(body, good)),
        ("bad signature", lambda: verifier.verify(body, "not-base64!")),
        ("missing", lambda: verifier.verify(body, None)),
        ("tampered", lambda: verifier.verify(b"{}", good)),
        ("not JSON", lambda: verifier.verify_and_parse(b"nope", verifier.sign(b"nope"))),
        ("empty secret", lambda: pesakit.PaypackWebhookVerifier("")),
    ]:
        assert isinstance(sweep.call(what, fn), pesakit.PesakitError), what

    verifier = pesakit.CheckoutWebhookVerifier(CHECKOUT_WEBHOOK_SECRET)
    wrong = pesakit.CheckoutWebhookVerifier(WRONG_WEBHOOK_SECRET)
    sweep.show("checkout verifier", verifier)
    body = b'{"payment":{"id":"p1","status":"CONFIRMED"}}'
    now = int(time.time())
    sig = verifier.sign(now, body)
    sweep.call("valid checkout", lambda: verifier.verify_and_parse(body, sig, str(now), "payment.completed"))
    for what, fn in [
        ("wrong secret", lambda: wrong.verify_and_parse(body, sig, str(now), "payment.completed")),
        ("bad signature", lambda: verifier.verify_and_parse(body, "0" * 64, str(now))),
        ("stale", lambda: verifier.verify_and_parse(body, verifier.sign(now - 3600, body), str(now - 3600))),
        ("no timestamp", lambda: verifier.verify_and_parse(body, sig, None)),
    ]:
        assert isinstance(sweep.call(what, fn), pesakit.PesakitError), what

    import datetime as dt
    tokens = pesakit.TokenSet("access-LEAKCHECK-printed-token", dt.datetime.now(dt.timezone.utc),
                              refresh_token="refresh-LEAKCHECK-printed-token")
    sweep.show("TokenSet", tokens)
    sweep.show("CheckoutOAuth", pesakit.CheckoutOAuth("access-LEAKCHECK-printed-token", "c",
                                                      refresh_token="refresh-LEAKCHECK-printed-token",
                                                      client_secret=WRONG_WEBHOOK_SECRET))
    sweep.call("unreadable stored tokens", lambda: pesakit.TokenSet.from_json(
        '{"access_token": "access-LEAKCHECK-printed-token", "expires_at": 5}'))
    # A base URL carrying credentials is refused without printing them.
    for url in (f"https://user:{PAYPACK_WEBHOOK_SECRET}@example.com/api?x=1",
                f"http://user:{PAYPACK_WEBHOOK_SECRET}@example.com/api",
                f"https://user:{PAYPACK_WEBHOOK_SECRET}@exa mple.com/api"):
        e = sweep.call("credentials in the URL", lambda: pesakit.PaypackClient("x", PAYPACK_SECRET, base_url=url))
        assert isinstance(e, pesakit.PesakitError.Configuration)
        e = sweep.call("credentials in the checkout URL", lambda: pesakit.CheckoutClient(url, client_token=CHECKOUT_TOKEN))
        assert isinstance(e, pesakit.PesakitError.Configuration)
    # Constructors that refuse their configuration do not print the secret they were given.
    sweep.call("no client id", lambda: pesakit.PaypackClient(" ", PAYPACK_SECRET))
    sweep.call("no redirect", lambda: pesakit.PagaClient("x", PAGA_WRONG_SECRET, "not a url"))
    sweep.pk_logger.lines.append("nothing logged here")
    sweep.std_logger.debug("nothing logged here")
    sweep.assert_clean(5)
