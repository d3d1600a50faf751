"""pesakit: one payments client, written once in Rust, for Python backends.

Paypack (Rwanda)::

    import pesakit
    from decimal import Decimal

    with pesakit.PaypackClient.from_env() as client:
        tx = client.cashin(Decimal("1000"), "0788123456")
        done = client.wait_for_completion(tx.reference, timeout=120)

and hosted checkouts (a white-label checkout gateway)::

    with pesakit.CheckoutClient.from_env() as client:
        checkout = client.create_checkout(Decimal("100.50"), "USD", "order-1001")
        payment = client.get_payment(checkout.payment_id)

:class:`PaypackClient` and :class:`CheckoutClient` block; :class:`AsyncPaypackClient`
and :class:`AsyncCheckoutClient` have the same calls for asyncio. Every failure is a
:class:`PesakitError` whose ``kind`` (an :class:`ErrorKind`) a program can branch on,
and whose ``str()`` is a sentence a person understands. Money is
:class:`decimal.Decimal`, never ``float``; timestamps are timezone-aware UTC
``datetime`` values.
"""

from __future__ import annotations

from . import _native
from . import _patches as _patches  # str()/repr() of PesakitError and the records
from . import _shutdown as _shutdown  # safe interpreter exit after async calls
from ._client import (
    DEFAULT_BASE_URL,
    AsyncPager,
    AsyncPaypackClient,
    Pager,
    PaypackClient,
)
from ._checkout import AsyncCheckoutClient, CheckoutClient
from ._convert import AmountLike, Seconds
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
    normalize_rw_phone,
    pesakit_version,
)

#: The version of the pesakit library inside this package.
__version__: str = pesakit_version()

__all__ = [
    "AmountLike",
    "AsyncCheckoutClient",
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
    "normalize_rw_phone",
    "pesakit_version",
]
