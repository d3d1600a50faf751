"""pesakit: one payments client, written once in Rust, for Python backends.

Paypack (Rwanda)::

    import pesakit
    from decimal import Decimal

    with pesakit.PaypackClient.from_env() as client:
        tx = client.cashin(Decimal("1000"), "0788123456")
        done = client.wait_for_completion(tx.reference, timeout=120)

hosted checkouts (a white-label checkout gateway)::

    with pesakit.CheckoutClient.from_env() as client:
        checkout = client.create_checkout(Decimal("100.50"), "USD", "order-1001")
        payment = client.get_payment(checkout.payment_id)

and Paga Connect (Nigeria: act for a Paga user after they approved once)::

    paga = pesakit.PagaClient(client_id, client_secret, "https://shop.example/paga/callback")
    authorization = paga.authorization_url(["MERCHANT_PAYMENT"])  # send the user to .url()
    paga.handle_callback(callback_url, authorization, user="alice")  # on their return
    paga.merchant_payment("alice", pesakit.new_paga_reference_number(), Decimal("1000"), "customer-42")

:class:`PaypackClient`, :class:`CheckoutClient` and :class:`PagaClient` block;
:class:`AsyncPaypackClient`, :class:`AsyncCheckoutClient` and :class:`AsyncPagaClient`
have the same calls for asyncio. Every failure is a
:class:`PesakitError` whose ``kind`` (an :class:`ErrorKind`) a program can branch on,
and whose ``str()`` is a sentence a person understands. Money is
:class:`decimal.Decimal`, never ``float``; timestamps are timezone-aware UTC
``datetime`` values.
"""

from __future__ import annotations

from . import _native
from . import _patches as _patches  # str()/repr() of PesakitError and the records
from . import _shutdown as _shutdown  # safe interpreter exit after async calls
from . import _speedups as _speedups  # faster reading of values coming from Rust
from . import _wakeups as _wakeups  # async calls resumed without pesakit threads taking the GIL
from . import _webhooks as _webhooks  # webhook verification in one call into the library
from ._client import (
    DEFAULT_BASE_URL,
    AsyncPager,
    AsyncPaypackClient,
    Pager,
    PaypackClient,
)
from ._checkout import AsyncCheckoutClient, CheckoutClient
from ._convert import AmountLike, Seconds
from ._paga import AsyncPagaClient, PagaClient
from ._logging import LoggerLike
from ._native import (
    Checkout,
    CheckoutEventKind,
    CheckoutOAuth,
    CheckoutWebhookEvent,
    CheckoutWebhookVerifier,
    ErrorKind,
    Event,
    EventKind,
    EventPage,
    FieldError,
    InternalError,
    Logger,
    LogLevel,
    Money,
    PagaAuthorization,
    PagaEnvironment,
    PagaGrant,
    PagaPaymentResult,
    PagaTokenRequestStyle,
    PagaUserDetails,
    Payment,
    PaymentApplication,
    PaymentStatus,
    PaypackWebhookVerifier,
    PesakitError,
    Profile,
    TokenSet,
    TokenStore,
    Transaction,
    TransactionKind,
    TransactionPage,
    TransactionStatus,
    WebhookMode,
    new_idempotency_key,
    new_paga_reference_number,
    normalize_rw_phone,
    pesakit_version,
)

#: The version of the pesakit library inside this package.
__version__: str = pesakit_version()

__all__ = [
    "AmountLike",
    "AsyncCheckoutClient",
    "AsyncPagaClient",
    "AsyncPager",
    "AsyncPaypackClient",
    "Checkout",
    "CheckoutClient",
    "CheckoutEventKind",
    "CheckoutOAuth",
    "CheckoutWebhookEvent",
    "CheckoutWebhookVerifier",
    "DEFAULT_BASE_URL",
    "ErrorKind",
    "Event",
    "EventKind",
    "EventPage",
    "FieldError",
    "InternalError",
    "LogLevel",
    "Logger",
    "LoggerLike",
    "Money",
    "PagaAuthorization",
    "PagaClient",
    "PagaEnvironment",
    "PagaGrant",
    "PagaPaymentResult",
    "PagaTokenRequestStyle",
    "PagaUserDetails",
    "Pager",
    "Payment",
    "PaymentApplication",
    "PaymentStatus",
    "PaypackClient",
    "PaypackWebhookVerifier",
    "PesakitError",
    "Profile",
    "Seconds",
    "TokenSet",
    "TokenStore",
    "Transaction",
    "TransactionKind",
    "TransactionPage",
    "TransactionStatus",
    "WebhookMode",
    "__version__",
    "new_idempotency_key",
    "new_paga_reference_number",
    "normalize_rw_phone",
    "pesakit_version",
]
