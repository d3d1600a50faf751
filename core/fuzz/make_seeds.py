#!/usr/bin/env python3
"""Writes the fuzz seed corpora under core/fuzz/seeds/<target>/.

Sources: the conformance fixtures (tests/conformance/**/*.json: webhook bodies, fault
statuses), the wire references' examples (/work/shared/reference/*.md, transcribed
below), and, with --sandbox URL, answers captured from a running pesakit-sandbox
(the emulator's real answer shapes). The seed formats are documented in
core/src/fuzzing/targets.rs. Run from anywhere:

    core/fuzz/make_seeds.py [--sandbox http://127.0.0.1:PORT]
"""

import argparse
import base64
import glob
import hashlib
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEEDS = os.path.join(ROOT, "core", "fuzz", "seeds")
NOW = 1_700_000_000

seeds = {}


def add(target, data):
    if isinstance(data, str):
        data = data.encode()
    seeds.setdefault(target, set()).add(data)


def answer(target, mode, body):
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body, separators=(",", ":"))
    if isinstance(body, str):
        body = body.encode()
    add(target, str(mode).encode() + body)


def error(path, status, body, content_type="application/json", retry_after=""):
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    add("error_answers", f"{path}\n{status}\n{content_type}\n{retry_after}\n".encode() + body)


# ---- the conformance fixtures --------------------------------------------------------

for path in sorted(glob.glob(os.path.join(ROOT, "tests", "conformance", "**", "*.json"), recursive=True)):
    scenario = json.load(open(path))
    for step in scenario["steps"]:
        hook = step.get("webhook")
        if hook:
            body = hook.get("body_text")
            if body is None:
                body = json.dumps(hook["body"], separators=(",", ":"))
            if scenario["gateway"] == "paypack":
                for mode in ("1", "0", "3"):
                    add("paypack_webhook", f"{mode}\nnot-a-signature==\n{body}")
                add("ffi_webhooks", f"2\n\n\n\n\n{body}")
            else:
                event = hook.get("event", "payment.completed")
                for mode, ts in (("1", NOW), ("1", NOW - 301), ("2", NOW + 299), ("0", NOW)):
                    add("checkout_webhook", f"{mode}\n00ff\n{ts}\n{event}\n{body}")
                add("ffi_webhooks", f"3\n\n{NOW}\n{event}\n{NOW} 300\n{body}")
        fault = step.get("fault")
        if fault and fault.get("status"):
            gateway = scenario["gateway"]
            which = {"paypack": 0, "checkout": 3, "paga": 7}[gateway]
            add_retry = str(fault.get("retry_after", ""))
            if fault.get("kind") == "html":
                error(which, fault["status"], "<html><body>502 Bad Gateway</body></html>", "text/html; charset=UTF-8", add_retry)
            else:
                error(which, fault["status"], {"message": "injected fault"}, retry_after=add_retry)

# ---- the references' examples ----------------------------------------------------------

EVENT = {
    "event_id": "f6e775c6-1b2c-4d3e-9f00-0123456789ab", "event_kind": "transaction:processed",
    "created_at": "2022-01-03T15:22:29.430397Z",
    "data": {"ref": "0c7e9e6e-5d1a-4b8e-9c1f-1d2e3f4a5b6c", "kind": "CASHIN", "fee": 18.4,
             "merchant": "4Q6UHJ", "client": "0780633340", "amount": 800, "status": "successful",
             "created_at": "2022-01-03T17:22:02.7422568+02:00",
             "processed_at": "2022-01-03T17:22:29.43022813+02:00"},
}
answer("paypack_answers", 0, {"access": "a.b.c", "refresh": "r.s.t", "expires": 1639736486})
answer("paypack_answers", 0, {"access": "tok", "expires": "900"})
answer("paypack_answers", 1, {"ref": "r1", "status": "pending", "amount": 100, "provider": "mtn",
                              "kind": "CASHIN", "created_at": "2021-12-17T12:06:32.421455842+02:00"})
answer("paypack_answers", 1, {"ref": "r2", "status": "success", "amount": "100.5", "fee": 2.3, "kind": "CASHOUT",
                              "client": 250780000000, "merchant": "4Q6UHJ",
                              "timestamp": "2022-01-03T17:22:29.1234567+02:00", "user_ref": "o1", "metadata": {"a": [1]}})
answer("paypack_answers", 2, {"offset": 0, "limit": 20, "cashin": 1800, "cashout": 0, "fee": 41.4, "total": 2,
                              "transactions": [EVENT["data"], {"ref": "x", "status": "failed", "amount": 1000}]})
answer("paypack_answers", 3, {"amount": 1000, "client": "078xxxxxxx", "event-kind": "transaction:created",
                              "kind": "CASHIN", "limit": 20, "offset": 0, "ref": "r", "status": "failed",
                              "total": 250, "transactions": [EVENT]})
answer("paypack_answers", 4, {"id": "4Q6UHJ", "name": "Shop", "in_rate": 0.023, "out_rate": 0.023,
                              "airtel_in_rate": 0.025, "airtel_out_rate": 0.025, "balance": 200000,
                              "mtn_balance": 100000, "airtel_balance": 100000})
add("paypack_webhook", "1\n\n" + json.dumps(EVENT))
add("paypack_webhook", "2\n\n" + json.dumps(dict(EVENT, event_kind=None, kind="transaction:created")))
add("paypack_webhook", "0\n" + base64.b64encode(b"\0" * 32).decode() + "\n" + json.dumps(EVENT))

PAYMENT = {"id": "9b0c7a52-3f7e-4a51-9d1e-2f1c6a3e1d7b", "userId": 1, "status": "OPEN", "reference": "order-1001",
           "referenceLabel": "Order", "currencyCode": "USD", "settlementCurrencyCode": None,
           "amount": {"value": 100.0, "amount": 10000, "formatted": "100.00 USD"},
           "receivedAmount": None, "settledAmount": None, "foundAt": None, "confirmedAt": None,
           "date": "2026-01-02T10:00:00+00:00"}
APP = {"id": 1, "name": "Demo shop", "clientId": "demo0checkout0client0id000000001", "userId": 1,
       "site": {"id": 1, "url": None}, "currencyWhitelist": ["USD", "BTC"], "allowUnderpay": False,
       "allowOverpay": True, "callbackUrl": "https://shop.example/hook", "createdAt": "2026-01-02T10:00:00+00:00"}
answer("checkout_answers", 0, {"data": {"checkoutUrl": "https://pay.example.com/checkout/"
                                        "2f1c6a3e-1d7b-4c8e-9a55-0b7d2c1e4f60?expires=1700003600&signature=ab12"}})
answer("checkout_answers", 1, {"data": PAYMENT})
answer("checkout_answers", 2, {"data": {"provider": "bitcoin", "method": "onchain", "address": "bc1q",
                                        "amount": PAYMENT["amount"], "qrCode": "data:image/svg+xml;base64,PHN2Zz4=",
                                        "expiresAt": "2026-01-02T11:00:00+00:00", "extra": {"memo": "order-1001"}}})
answer("checkout_answers", 3, {"data": [APP, dict(APP, id="2", currencyWhitelist=[])]})
answer("checkout_answers", 4, {"data": APP})
answer("checkout_answers", 5, {"token_type": "Bearer", "expires_in": 3600, "access_token": "eyJ.eyJ.sig",
                               "refresh_token": "def50200abc"})
answer("checkout_answers", 5, {"token_type": "bearer", "expires_in": "60", "access_token": "opaque"})
add("checkout_webhook", f"1\n\n{NOW}\npayment.completed\n" + json.dumps({"payment": PAYMENT}))
add("checkout_webhook", f"2\n\n {NOW - 300} \nPAYMENT.RECEIVED\n" + json.dumps({"payment": dict(PAYMENT, status="RECEIVED")}))

GRANT = {"access_token": "0123456789abcdef0123456789abcdef", "token_type": "bearer",
         "refresh_token": "fedcba9876543210fedcba9876543210", "expires_in": 3600,
         "scope": "MERCHANT_PAYMENT MONEY_TRANSFER USER_DETAILS_REQUEST", "user_data": "FIRST_NAME ACCOUNT_BALANCE",
         "authorities": ["ROLE_USER"], "limitMaximum": 100000}
answer("paga_answers", 0, GRANT)
answer("paga_answers", 0, dict(GRANT, scope="MERCHANT_PAYMENT+MONEY_TRANSFER", user_data=["EMAIL", "USERNAME"]))
answer("paga_answers", 1, {k: v for k, v in GRANT.items() if k != "refresh_token"})
answer("paga_answers", 2, {"merchantPaymentResult": {"amount": 1500.5, "transactionId": "T1", "confirmationCode": "C1",
                                                     "agentCommission": 0, "fee": 0, "currency": "NGN",
                                                     "exchangeRate": None, "errorCode": "0", "errorMessage": None}})
answer("paga_answers", 2, {"merchantPaymentResult": {"transactionId": None, "errorCode": "10",
                                                     "errorMessage": "Insufficient balance"}})
answer("paga_answers", 3, {"amount": 200, "exchangeRate": None, "fee": 0, "currency": "NGN", "transactionId": "T2",
                           "externalReferenceNumber": "ref-1", "errorCode": "0", "errorMessage": None})
answer("paga_answers", 3, {"transactionId": None, "errorCode": 4, "errorMessage": "Unknown recipient"})
answer("paga_answers", 4, {"detailsResult": {"errorCode": "0", "errorMessage": None, "details": {
    "accountStatus": "ACTIVE", "firstName": "Ada", "lastName": "Obi", "accountBalance": "50000.00",
    "email": "ada@example.ng", "publicId": "PUB-ADA-001", "username": "adaobi",
    "authorities": [{"authority": "ROLE_USER"}]}}})
answer("paga_answers", 5, {"token": "123456", "errorCode": "0"})
answer("paga_answers", 5, {"errorCode": "17", "errorMessage": "Duplicate reference number"})

# Error bodies of every gateway (reference "Errors" sections).
error(0, 401, {"message": "invalid token", "status": 401})
error(0, 404, {"message": "transaction not found"})
error(0, 429, {"message": "slow down"}, retry_after="7")
error(0, 503, "<html><body>503</body></html>", "text/html")
error(1, 401, {"message": "invalid client credentials"})
error(2, 422, {"message": "The given data was invalid.", "errors": {"amount": ["The amount field is required."],
                                                                    "currencyCode": "bad"}})
error(2, 504, "")
error(3, 403, {"message": "Insufficient permissions"})
error(4, 400, {"error": "invalid_grant", "error_description": "The refresh token is invalid.",
               "message": "The refresh token is invalid.", "hint": "Token has been revoked"})
error(5, 401, {"message": "Unauthenticated."})
error(6, 401, {"error": "invalid_client", "error_description": "Bad client credentials"})
error(7, 403, {"error": "insufficient_scope", "error_description": "MERCHANT_PAYMENT not granted"})
error(7, 429, "not json", "text/plain", "Wed, 21 Oct 2015 07:28:00 GMT")

for state in ("s1", "0123456789abcdef" * 4):
    add("paga_callback", f"1\n\nhttps://shop.example/paga/callback?x=1&code=c0de&state={state}")
    add("paga_callback", f"0\n{state}\nhttps://shop.example/paga/callback?code=c0de&state={state}")
    add("paga_callback", f"1\n\nhttps://shop.example/cb?error=access_denied&error_description=no&state={state}")
add("paga_callback", "0\nother\nhttps://shop.example/cb?code=x&state=s1")
add("paga_callback", "1\n\nnot a url")

for exponent, text in (("2", "1250.50"), ("0", "800"), ("8", "0.00012345"), ("3", "\"18.4\""), ("2", "1e3"),
                       ("2", "-5"), ("9", "79228162514264337593543950335"), ("1", "0.1"), ("2", "12,5")):
    add("amount", exponent + text)
for text in ("2021-12-17T12:06:32.421455842+02:00", "2022-01-03T15:22:29.430397Z", "2022-01-03 17:22:29Z",
             "2022-01-03T17:22:29", "2022-01-03T17:22:29.1234567891+02:00", "1639736486", "\"2024-05-01T10:00:00+00:00\"",
             "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3MDAwMDAwMDB9.sig", "null"):
    add("timestamp", text)
for text in ("0781234567", "+250 788 123 456", "250721234567", "(078) 123-4567", "0741234567", "USD", "BTC",
             "successful", "transaction:processed"):
    add("phone", text)

# ---- the emulator's answers -------------------------------------------------------------


def call(method, url, body=None, headers=None, form=False):
    headers = dict(headers or {})
    data = None
    if body is not None:
        if form:
            data = urllib.parse.urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
    headers.setdefault("Accept", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=headers)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def capture(base):
    pp = base + "/paypack/api"
    _, _, body = call("POST", pp + "/auth/agents/authorize",
                      {"client_id": "demo-client-id", "client_secret": "demo-client-secret"})
    answer("paypack_answers", 0, body)
    tokens = json.loads(body)
    _, _, body = call("GET", pp + "/auth/refresh/" + tokens["refresh"])
    answer("paypack_answers", 0, body)
    auth = {"Authorization": "Bearer " + tokens["access"]}
    refs = []
    for number, kind in (("0781234567", "cashin"), ("0721234567", "cashout"), ("0780000000", "cashin")):
        _, _, body = call("POST", f"{pp}/transactions/{kind}", {"amount": 1500.5, "number": number}, auth)
        answer("paypack_answers", 1, body)
        refs.append(json.loads(body)["ref"])
    time.sleep(0.5)  # the sandbox runs with --settle-after-ms 50
    for ref in refs:
        _, _, body = call("GET", f"{pp}/transactions/find/{ref}", headers=auth)
        answer("paypack_answers", 1, body)
    for status, hdrs, body in (call("GET", pp + "/transactions/list?limit=2", headers=auth),):
        answer("paypack_answers", 2, body)
    _, _, body = call("GET", pp + "/events/transactions", headers=auth)
    answer("paypack_answers", 3, body)
    for item in json.loads(body)["transactions"][:2]:
        add("paypack_webhook", "1\n\n" + json.dumps(item))
    _, _, body = call("GET", pp + "/merchants/me", headers=auth)
    answer("paypack_answers", 4, body)
    for status, hdrs, body in (call("GET", pp + "/transactions/find/nope", headers=auth),
                               call("GET", pp + "/merchants/me"),
                               call("POST", pp + "/transactions/cashin", {"amount": -1}, auth)):
        error(0, status, body, hdrs.get("Content-Type", ""))
    status, hdrs, body = call("POST", pp + "/auth/agents/authorize", {"client_id": "x", "client_secret": "y"})
    error(1, status, body, hdrs.get("Content-Type", ""))

    co = base + "/checkout"
    tok = {"Authorization": "Bearer demo-checkout-token"}
    _, _, body = call("POST", co + "/api/payment/checkout",
                      {"amount": 10000, "currencyCode": "USD", "reference": "order-1", "referenceLabel": "Order 1",
                       "clientId": "demo0checkout0client0id000000001"}, tok)
    answer("checkout_answers", 0, body)
    url = json.loads(body)["data"]["checkoutUrl"]
    pid = re.search(r"/([0-9a-f-]{36})\?", url).group(1)
    _, _, body = call("GET", f"{co}/api/payment/{pid}", headers=tok)
    answer("checkout_answers", 1, body)
    add("checkout_webhook", f"1\n\n{NOW}\npayment.found\n" + json.dumps({"payment": json.loads(body)["data"]}))
    for provider, method in (("bitcoin", "lightning"), ("ethereum", "erc20")):
        _, _, body = call("GET", f"{co}/api/payment/{pid}/provider/{provider}/method/{method}", headers=tok)
        answer("checkout_answers", 2, body)
    status, hdrs, body = call("POST", co + "/api/payment/checkout", {"amount": "x"}, tok)
    error(2, status, body, hdrs.get("Content-Type", ""))
    status, hdrs, body = call("GET", f"{co}/api/payment/{pid}", headers={"Authorization": "Bearer nope"})
    error(3, status, body, hdrs.get("Content-Type", ""))
    status, hdrs, body = call("POST", co + "/api/payment/checkout", {},
                              {"Authorization": "Bearer demo-limited-token"})
    error(2, status, body, hdrs.get("Content-Type", ""))
    _, _, body = call("POST", co + "/oauth/token",
                      {"grant_type": "password", "username": "demo@pesakit.dev", "password": "demo-password",
                       "client_id": "demo-oauth-client", "client_secret": "demo-oauth-secret"}, form=True)
    answer("checkout_answers", 5, body)
    oauth = json.loads(body)
    _, _, body = call("POST", co + "/oauth/token",
                      {"grant_type": "refresh_token", "refresh_token": oauth["refresh_token"],
                       "client_id": "demo-oauth-client", "client_secret": "demo-oauth-secret"}, form=True)
    answer("checkout_answers", 5, body)
    oauth = json.loads(body)
    status, hdrs, body = call("POST", co + "/oauth/token",
                              {"grant_type": "refresh_token", "refresh_token": "used",
                               "client_id": "demo-oauth-client", "client_secret": "demo-oauth-secret"}, form=True)
    error(4, status, body, hdrs.get("Content-Type", ""))
    bearer = {"Authorization": "Bearer " + oauth["access_token"]}
    _, _, body = call("POST", co + "/api/payment-applications",
                      {"name": "Fuzz shop", "secret": "s3cret", "currencyWhitelist": ["USD"], "allowUnderpay": True,
                       "callbackUrl": "https://shop.example/hook"}, bearer)
    answer("checkout_answers", 4, body)
    _, _, body = call("GET", co + "/api/payment-applications", headers=bearer)
    answer("checkout_answers", 3, body)
    status, hdrs, body = call("GET", co + "/api/payment-applications", headers=tok)
    error(5, status, body, hdrs.get("Content-Type", ""))

    pg = base + "/paga/paga-webservices"
    redirect = "https://shop.example/paga/callback?x=1"
    query = urllib.parse.urlencode({"client_id": "demo-paga-client", "response_type": "code",
                                    "redirect_uri": redirect, "state": "st4te",
                                    "scope": "MERCHANT_PAYMENT MONEY_TRANSFER USER_DETAILS_REQUEST",
                                    "user_data": "FIRST_NAME EMAIL ACCOUNT_BALANCE"})
    _, hdrs, _ = call("GET", f"{pg}/oauth2/authorization?{query}")
    location = hdrs.get("Location")
    add("paga_callback", "1\n\n" + location)
    add("paga_callback", "0\nst4te\n" + location)
    code = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)["code"][0]
    basic = {"Authorization": "Basic " + base64.b64encode(b"demo-paga-client:demo-paga-secret").decode()}
    _, _, body = call("POST", pg + "/oauth2/token",
                      {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect}, basic, form=True)
    answer("paga_answers", 0, body)
    grant = json.loads(body)
    status, hdrs, body = call("POST", pg + "/oauth2/token",
                              {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect},
                              basic, form=True)
    error(6, status, body, hdrs.get("Content-Type", ""))
    _, _, body = call("POST", pg + "/oauth2/token",
                      {"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}, basic, form=True)
    answer("paga_answers", 1, body)
    user = {"Authorization": "Bearer " + json.loads(body)["access_token"]}
    for path in ("merchantPayment/referenceNumber/r1/amount/1500/merchantCustomerReference/c1",
                 "merchantPayment/referenceNumber/r1/amount/1500/merchantCustomerReference/c1",
                 "merchantPayment/referenceNumber/r2/amount/900000/merchantCustomerReference/c1/currency/usd"):
        _, _, body = call("POST", f"{pg}/oauth2/secure/{path}", headers=user)
        answer("paga_answers", 2, body)
    for recipient in ("08030000002", "08039999999"):
        q = urllib.parse.urlencode({"amount": "250.75", "referenceNumber": "t-" + recipient, "skipMessaging": "true",
                                    "recipientCredential": recipient})
        _, _, body = call("POST", f"{pg}/oauth2/secure/moneyTransfer/v2?{q}", headers=user)
        answer("paga_answers", 3, body)
    _, _, body = call("POST", pg + "/oauth2/secure/getUserDetails", headers=user)
    answer("paga_answers", 4, body)
    _, _, body = call("POST", pg + "/oauth2/secure/getOneTimeToken/referenceNumber/otp-1", headers=user)
    answer("paga_answers", 5, body)
    status, hdrs, body = call("POST", pg + "/oauth2/secure/getUserDetails", headers={"Authorization": "Bearer x"})
    error(7, status, body, hdrs.get("Content-Type", ""))


parser = argparse.ArgumentParser()
parser.add_argument("--sandbox", help="base URL of a running pesakit-sandbox to capture answers from")
args = parser.parse_args()
if args.sandbox:
    capture(args.sandbox.rstrip("/"))

# A cut-short copy of some answers (what a dropped connection or a proxy leaves).
for target in ("paypack_answers", "checkout_answers", "paga_answers"):
    for data in sorted(seeds[target])[::3]:
        add(target, data[: max(2, len(data) // 2)])

for target, items in sorted(seeds.items()):
    folder = os.path.join(SEEDS, target)
    os.makedirs(folder, exist_ok=True)
    for data in sorted(items):
        name = hashlib.sha1(data).hexdigest()[:16]
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    print(f"{target}: {len(items)} seeds")
