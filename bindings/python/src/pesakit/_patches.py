"""Makes the generated types print (and construct) the way Python users expect.

* The generated ``PesakitError`` variants print their fields (``kind=..., summary=...``).
  Here ``str(e)`` of every variant becomes ``e.summary``, the sentence the Rust core
  wrote, and ``repr(e)`` names the variant and keeps every field, for logs and debuggers.
* The generated records are dataclasses whose fields are set in a hand-written
  ``__init__``, so their dataclass ``repr`` shows no field at all (``Transaction()``,
  also inside lists). Their ``repr`` becomes their generated ``str``, which lists every
  field. No record carries a secret: tokens live in the opaque ``TokenSet`` and
  ``CheckoutOAuth``, and a payment application's webhook secret is passed beside its
  ``NewPaymentApplication``, never inside it. (The objects ``CheckoutClient``,
  ``CheckoutOAuth`` and the webhook verifiers print through their Rust ``Debug``, which
  redacts.)
* ``field_errors`` (the gateway's complaints per input field) is the newest field of
  ``PesakitError``; constructing a variant without it (as code written before it existed
  does, for example a ``TokenStore`` raising ``PesakitError.TokenStore(...)``) gives an
  empty list instead of a ``TypeError``.

Nothing else changes: no value, field or behaviour of a call.
"""

from __future__ import annotations

from typing import Any, Callable, List, Type

from . import _native

_FIELDS = (
    "kind",
    "summary",
    "status",
    "gateway_message",
    "gateway_code",
    "body",
    "retry_after_ms",
    "idempotency_key",
    "field_errors",
)


def _str(self: BaseException) -> str:
    summary = getattr(self, "summary", None)
    if isinstance(summary, str):
        return summary
    return BaseException.__str__(self)


def _repr(self: BaseException) -> str:
    fields = ", ".join(f"{name}={getattr(self, name, None)!r}" for name in _FIELDS)
    return f"PesakitError.{type(self).__name__}({fields})"


def _field_errors_optional(generated: Callable[..., None]) -> Callable[..., None]:
    def __init__(self: BaseException, *args: Any, **kwargs: Any) -> None:
        if len(args) < len(_FIELDS) and "field_errors" not in kwargs:
            kwargs["field_errors"] = []
        generated(self, *args, **kwargs)

    __init__.__doc__ = generated.__doc__
    __init__._pesakit_patched = True  # type: ignore[attr-defined]
    return __init__


def variants() -> List[Type[BaseException]]:
    """Every variant class of the generated ``PesakitError``."""
    return [
        cls
        for cls in vars(_native.PesakitError).values()
        if isinstance(cls, type) and issubclass(cls, _native.PesakitError)
    ]


RECORDS = (
    "CashRequest",
    "Checkout",
    "CheckoutOptions",
    "CheckoutRequest",
    "CheckoutWebhookEvent",
    "Event",
    "EventFilter",
    "EventPage",
    "FieldError",
    "Money",
    "NewPaymentApplication",
    "PagaGrant",
    "PagaMerchantPaymentRequest",
    "PagaMoneyTransferRequest",
    "PagaOptions",
    "PagaPaymentResult",
    "PagaUserDetails",
    "Payment",
    "PaymentApplication",
    "PaypackOptions",
    "Profile",
    "Transaction",
    "TransactionFilter",
    "TransactionPage",
)


def install() -> None:
    """Installs ``__str__``/``__repr__`` on ``PesakitError``, its variants and the records."""
    _native.PesakitError.__str__ = _str  # type: ignore[method-assign]
    _native.PesakitError.__repr__ = _repr  # type: ignore[method-assign]
    for cls in variants():
        cls.__str__ = _str  # type: ignore[method-assign]
        cls.__repr__ = _repr  # type: ignore[method-assign]
        if not getattr(cls.__init__, "_pesakit_patched", False):
            cls.__init__ = _field_errors_optional(cls.__init__)  # type: ignore[method-assign]
    for name in RECORDS:
        record = getattr(_native, name)
        if "__str__" in vars(record):
            record.__repr__ = record.__str__


install()
