"""Conversions from idiomatic Python values to the generated records.

Only type conversion lives here: every rule about what a valid amount, phone number or
filter is belongs to the Rust core, which checks it again.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import enum
from typing import Any, Dict, Iterable, List, Optional, Type, TypeVar, Union

from . import _native

#: A duration in seconds (``int`` or ``float``) or a :class:`datetime.timedelta`.
Seconds = Union[float, int, _dt.timedelta]

#: An amount of money: a :class:`decimal.Decimal`, an ``int`` or a decimal string.
#: A ``float`` is refused: money is never a float.
AmountLike = Union[decimal.Decimal, int, str]

_E = TypeVar("_E", bound=enum.Enum)


def validation_error(summary: str) -> "_native.PesakitError":
    """A ``PesakitError.Validation`` raised on the Python side of the boundary."""
    variant: Any = getattr(_native.PesakitError, "Validation")
    error: "_native.PesakitError" = variant(
        kind=_native.ErrorKind.VALIDATION,
        summary=summary,
        status=None,
        gateway_message=None,
        gateway_code=None,
        body=None,
        retry_after_ms=None,
        idempotency_key=None,
        field_errors=[],
    )
    return error


def amount(value: AmountLike, name: str = "amount") -> decimal.Decimal:
    """``value`` as a :class:`~decimal.Decimal`, refusing floats.

    Raises ``TypeError`` for a float or any other type, and
    ``PesakitError.Validation`` for text that is not a finite decimal number.
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a Decimal, int or str, not bool")
    if isinstance(value, float):
        raise TypeError(
            f"{name} must be a Decimal, int or str, not float: money is never a float "
            f"(write Decimal({str(value)!r}) or {str(value)!r})"
        )
    if isinstance(value, decimal.Decimal):
        result = value
    elif isinstance(value, int):
        result = decimal.Decimal(value)
    elif isinstance(value, str):
        # ASCII only: Python's Decimal also reads other scripts' digits, the core does not.
        try:
            if not value.isascii():
                raise decimal.InvalidOperation
            result = decimal.Decimal(value.strip())
        except decimal.InvalidOperation:
            raise validation_error(f"{value!r} is not a decimal amount") from None
    else:
        raise TypeError(f"{name} must be a Decimal, int or str, not {type(value).__name__}")
    if not result.is_finite():
        raise validation_error(f"{value!r} is not a decimal amount")
    return result


def transport_settings(
    allow_insecure_loopback: bool, max_retries: int, **durations: Seconds
) -> Dict[str, Any]:
    """What every client's options record shares, as its keyword arguments:
    ``allow_insecure_loopback``, ``max_retries`` (an ``int``, not negative) and each
    duration given (``request_timeout=2`` becomes ``request_timeout_ms=2000``)."""
    if isinstance(max_retries, bool) or not isinstance(max_retries, int):
        raise TypeError(f"max_retries must be an int, not {type(max_retries).__name__}")
    if max_retries < 0:
        raise ValueError("max_retries must not be negative")
    fields: Dict[str, Any] = {
        "allow_insecure_loopback": bool(allow_insecure_loopback),
        "max_retries": max_retries,
    }
    for name, value in durations.items():
        fields[name + "_ms"] = millis(value, name)
    return fields


def millis(value: Seconds, name: str) -> int:
    """A duration in whole milliseconds, from seconds or a ``timedelta``."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number of seconds or a timedelta, not bool")
    if isinstance(value, _dt.timedelta):
        ms = (value // _dt.timedelta(microseconds=1) + 500) // 1000
    elif isinstance(value, (int, float)):
        if value != value:  # NaN
            raise ValueError(f"{name} must be a number of seconds, not NaN")
        ms = int(round(value * 1000))
    else:
        raise TypeError(
            f"{name} must be a number of seconds or a timedelta, not {type(value).__name__}"
        )
    if ms < 0:
        raise ValueError(f"{name} must not be negative")
    return ms


def instant(value: Optional[_dt.datetime], name: str) -> Optional[_dt.datetime]:
    """A timezone-aware ``datetime`` (or ``None``); naive datetimes are refused."""
    if value is None:
        return None
    if not isinstance(value, _dt.datetime):
        raise TypeError(f"{name} must be a timezone-aware datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(
            f"{name} must be timezone-aware (for example datetime(..., tzinfo=timezone.utc)): "
            "a naive datetime names no instant"
        )
    return value


def choice(enum_type: Type[_E], value: Union[_E, str, None], name: str) -> Optional[_E]:
    """An enum member from itself or from its name in any case (``"cash_in"``)."""
    if value is None or isinstance(value, enum_type):
        return value
    if isinstance(value, str):
        try:
            return enum_type[value.strip().upper()]
        except KeyError:
            pass
        names = ", ".join(repr(m.name.lower()) for m in enum_type)
        raise ValueError(f"{name} must be one of {names}, not {value!r}")
    raise TypeError(
        f"{name} must be a {enum_type.__name__} or its name, not {type(value).__name__}"
    )


def count(value: Optional[int], name: str) -> Optional[int]:
    """A non-negative integer (``offset``, ``limit``) or ``None``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return value


def cash_request(
    value: AmountLike,
    number: str,
    idempotency_key: Optional[str],
    webhook_mode: Union["_native.WebhookMode", str, None],
    validate: bool,
) -> "_native.CashRequest":
    """The generated ``CashRequest`` for a money call."""
    if not isinstance(number, str):
        raise TypeError(f"number must be a str, not {type(number).__name__}")
    if idempotency_key is not None and not isinstance(idempotency_key, str):
        raise TypeError(f"idempotency_key must be a str, not {type(idempotency_key).__name__}")
    return _native.CashRequest(
        amount=amount(value),
        number=number,
        idempotency_key=idempotency_key,
        webhook_mode=choice(_native.WebhookMode, webhook_mode, "webhook_mode"),
        validate=bool(validate),
    )


def transaction_filter(
    *,
    offset: Optional[int],
    limit: Optional[int],
    from_: Optional[_dt.datetime],
    to: Optional[_dt.datetime],
    kind: Union["_native.TransactionKind", str, None],
    client: Optional[str],
) -> "_native.TransactionFilter":
    """The generated ``TransactionFilter``."""
    return _native.TransactionFilter(
        offset=count(offset, "offset"),
        limit=count(limit, "limit"),
        _from=instant(from_, "from_"),
        to=instant(to, "to"),
        kind=choice(_native.TransactionKind, kind, "kind"),
        client=client,
    )


def event_filter(
    *,
    reference: Optional[str],
    kind: Union["_native.TransactionKind", str, None],
    client: Optional[str],
    status: Union["_native.TransactionStatus", str, None],
    offset: Optional[int],
    limit: Optional[int],
    from_: Optional[_dt.datetime],
    to: Optional[_dt.datetime],
) -> "_native.EventFilter":
    """The generated ``EventFilter``."""
    return _native.EventFilter(
        reference=reference,
        kind=choice(_native.TransactionKind, kind, "kind"),
        client=client,
        status=choice(_native.TransactionStatus, status, "status"),
        offset=count(offset, "offset"),
        limit=count(limit, "limit"),
        _from=instant(from_, "from_"),
        to=instant(to, "to"),
    )


def text(value: Optional[str], name: str) -> Optional[str]:
    """A ``str`` (or ``None``); anything else raises ``TypeError``."""
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"{name} must be a str, not {type(value).__name__}")


def required_text(value: str, name: str) -> str:
    """A ``str``; anything else (``None`` included) raises ``TypeError``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    return value


def flag(value: Optional[bool], name: str) -> Optional[bool]:
    """A ``bool`` (or ``None``)."""
    if value is None or isinstance(value, bool):
        return value
    raise TypeError(f"{name} must be a bool, not {type(value).__name__}")


def checkout_request(
    value: AmountLike,
    currency: str,
    reference: str,
    *,
    reference_label: Optional[str],
    redirect_url: Optional[str],
    expires_at: Optional[_dt.datetime],
    product_id: Optional[str],
    settlement_currency: Optional[str],
    site_id: Optional[str],
    exponent: Optional[int],
) -> "_native.CheckoutRequest":
    """The generated ``CheckoutRequest``. The core converts the amount to minor units."""
    if exponent is not None:
        if isinstance(exponent, bool) or not isinstance(exponent, int):
            raise TypeError(f"exponent must be an int, not {type(exponent).__name__}")
        if exponent < 0:
            raise ValueError("exponent must not be negative")
    return _native.CheckoutRequest(
        amount=amount(value),
        currency=required_text(currency, "currency"),
        reference=required_text(reference, "reference"),
        reference_label=text(reference_label, "reference_label"),
        redirect_url=text(redirect_url, "redirect_url"),
        expires_at=instant(expires_at, "expires_at"),
        product_id=text(product_id, "product_id"),
        settlement_currency=text(settlement_currency, "settlement_currency"),
        site_id=text(site_id, "site_id"),
        exponent=exponent,
    )


def new_payment_application(
    name: str,
    *,
    url: Optional[str],
    callback_url: Optional[str],
    currency_whitelist: Iterable[str],
    allow_underpay: Optional[bool],
    allow_overpay: Optional[bool],
) -> "_native.NewPaymentApplication":
    """The generated ``NewPaymentApplication`` (its secret travels separately)."""
    if isinstance(currency_whitelist, str):
        raise TypeError("currency_whitelist must be a list of currency codes, not one str")
    codes: List[str] = [required_text(c, "each currency_whitelist item") for c in currency_whitelist]
    return _native.NewPaymentApplication(
        name=required_text(name, "name"),
        url=text(url, "url"),
        callback_url=text(callback_url, "callback_url"),
        currency_whitelist=codes,
        allow_underpay=flag(allow_underpay, "allow_underpay"),
        allow_overpay=flag(allow_overpay, "allow_overpay"),
    )
