"""``CheckoutClient`` (blocking) and ``AsyncCheckoutClient`` (asyncio): the hosted-checkout
gateway.

Both wrap the one generated ``CheckoutClient``: every call goes to the Rust core, which
owns the minor-unit conversion, the scoped client token, OAuth refresh, retries,
validation and parsing. This module only turns Python arguments into the generated
records and gives the client Python's shape (keyword arguments, seconds, context
managers, a ``dict`` for payer instructions).
"""

from __future__ import annotations

import datetime as _dt
import decimal
import json
from typing import Any, Dict, Iterable, List, Optional, Type, TypeVar

from ._handle import _Async, _Blocking, _Handle
from . import _convert, _logging, _native
from ._convert import AmountLike, Seconds

_C = TypeVar("_C", bound="_CheckoutBase")

_DEFAULTS = _native.CheckoutOptions()


def _options(
    *,
    client_id: Optional[str],
    allow_insecure_loopback: bool,
    request_timeout: Seconds,
    connect_timeout: Seconds,
    max_retries: int,
    initial_backoff: Seconds,
    max_backoff: Seconds,
    max_retry_after: Seconds,
    refresh_skew: Seconds,
) -> "_native.CheckoutOptions":
    return _native.CheckoutOptions(
        client_id=_convert.text(client_id, "client_id"),
        **_convert.transport_settings(
            allow_insecure_loopback,
            max_retries,
            connect_timeout=connect_timeout,
            request_timeout=request_timeout,
            initial_backoff=initial_backoff,
            max_backoff=max_backoff,
            max_retry_after=max_retry_after,
            refresh_skew=refresh_skew,
        ),
    )


def _oauth(oauth: Optional["_native.CheckoutOAuth"]) -> Optional["_native.CheckoutOAuth"]:
    if oauth is None or isinstance(oauth, _native.CheckoutOAuth):
        return oauth
    raise TypeError(f"oauth must be a pesakit.CheckoutOAuth, not {type(oauth).__name__}")


def _instructions(text: str) -> Dict[str, Any]:
    # The core hands over the gateway's `data` object as JSON text. Numbers with a
    # fraction become Decimal, as every amount in pesakit is: never a float.
    value: Dict[str, Any] = json.loads(text, parse_float=decimal.Decimal)
    return value


class _CheckoutBase(_Handle):
    """What the blocking and the async checkout client share: configuration and lifetime."""

    __slots__ = ()

    def __init__(
        self,
        base_url: str,
        *,
        client_token: Optional[str] = None,
        client_id: Optional[str] = None,
        webhook_secret: Optional[str] = None,
        oauth: Optional["_native.CheckoutOAuth"] = None,
        allow_insecure_loopback: bool = False,
        request_timeout: Seconds = _DEFAULTS.request_timeout_ms / 1000,
        connect_timeout: Seconds = _DEFAULTS.connect_timeout_ms / 1000,
        max_retries: int = _DEFAULTS.max_retries,
        initial_backoff: Seconds = _DEFAULTS.initial_backoff_ms / 1000,
        max_backoff: Seconds = _DEFAULTS.max_backoff_ms / 1000,
        max_retry_after: Seconds = _DEFAULTS.max_retry_after_ms / 1000,
        refresh_skew: Seconds = _DEFAULTS.refresh_skew_ms / 1000,
        token_store: Optional["_native.TokenStore"] = None,
        logger: Optional[_logging.LoggerLike] = None,
    ) -> None:
        """A client for the hosted-checkout gateway at ``base_url``.

        Nothing is sent until the first call. Durations are seconds (``int`` or
        ``float``) or :class:`datetime.timedelta`. At least one of ``client_token`` and
        ``oauth`` is required.

        :param base_url: the gateway's base URL, without ``/api`` (required: the gateway
            is white-label); ``https://``, or ``http://`` to a loopback address when
            ``allow_insecure_loopback`` is set (the emulator).
        :param client_token: the static, scoped client token of a payment application,
            for :meth:`create_checkout`, :meth:`get_payment` and
            :meth:`payer_instructions`.
        :param client_id: the payment application's 32-character public client id, sent
            as ``clientId`` when creating checkouts.
        :param webhook_secret: the payment application's webhook secret, for
            :meth:`webhook_verifier`.
        :param oauth: a :class:`CheckoutOAuth` with the dashboard's OAuth tokens, for
            the payment-application calls; refreshed when they expire.
        :param allow_insecure_loopback: permit plain ``http://`` to loopback addresses.
        :param request_timeout: how long one try of a request may take.
        :param connect_timeout: how long to wait for a connection.
        :param max_retries: how many times a safe request may be repeated.
        :param initial_backoff: the wait before the first retry.
        :param max_backoff: the longest wait between tries.
        :param max_retry_after: the longest ``Retry-After`` waited out.
        :param refresh_skew: how long before expiry the OAuth token is renewed.
        :param token_store: where the OAuth tokens persist (a :class:`TokenStore`
            subclass; tokens already stored win over ``oauth``'s, being newer after a
            refresh); in memory, per client, when ``None``.
        :param logger: receives log lines (never a secret): a :class:`Logger`, a
            :class:`logging.Logger` or a callable ``(level, message)``.
        :raises PesakitError.Configuration: when the configuration is refused.
        """
        if not isinstance(base_url, str):
            raise TypeError(f"base_url must be a str, not {type(base_url).__name__}")
        options = _options(
            client_id=client_id,
            allow_insecure_loopback=allow_insecure_loopback,
            request_timeout=request_timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            initial_backoff=initial_backoff,
            max_backoff=max_backoff,
            max_retry_after=max_retry_after,
            refresh_skew=refresh_skew,
        )
        self._native_client: Optional[_native.CheckoutClient] = _native.CheckoutClient(
            base_url,
            client_token=_convert.text(client_token, "client_token"),
            webhook_secret=_convert.text(webhook_secret, "webhook_secret"),
            oauth=_oauth(oauth),
            options=options,
            token_store=token_store,
            logger=_logging.adapt(logger),
        )

    @classmethod
    def from_env(
        cls: Type[_C],
        *,
        client_id: Optional[str] = None,
        oauth: Optional["_native.CheckoutOAuth"] = None,
        allow_insecure_loopback: bool = False,
        request_timeout: Seconds = _DEFAULTS.request_timeout_ms / 1000,
        connect_timeout: Seconds = _DEFAULTS.connect_timeout_ms / 1000,
        max_retries: int = _DEFAULTS.max_retries,
        initial_backoff: Seconds = _DEFAULTS.initial_backoff_ms / 1000,
        max_backoff: Seconds = _DEFAULTS.max_backoff_ms / 1000,
        max_retry_after: Seconds = _DEFAULTS.max_retry_after_ms / 1000,
        refresh_skew: Seconds = _DEFAULTS.refresh_skew_ms / 1000,
        token_store: Optional["_native.TokenStore"] = None,
        logger: Optional[_logging.LoggerLike] = None,
    ) -> _C:
        """A client configured from the environment.

        Reads ``PAYMENT_BASE_URL``, ``PAYMENT_CLIENT_ID``, ``PAYMENT_CLIENT_TOKEN``,
        ``WEBHOOK_SECRET`` and ``PAYMENT_ALLOW_INSECURE_LOOPBACK=1`` (for pointing it at
        the emulator), each only when set. ``client_id`` given here wins over
        ``PAYMENT_CLIENT_ID``; ``allow_insecure_loopback=True`` permits loopback
        ``http://`` whatever the environment says. The other options are those of the
        constructor.

        :raises PesakitError.Configuration: when the base URL or every credential is
            missing, or the configuration is refused.
        """
        options = _options(
            client_id=client_id,
            allow_insecure_loopback=allow_insecure_loopback,
            request_timeout=request_timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            initial_backoff=initial_backoff,
            max_backoff=max_backoff,
            max_retry_after=max_retry_after,
            refresh_skew=refresh_skew,
        )
        native = _native.CheckoutClient.from_env(
            oauth=_oauth(oauth),
            options=options,
            token_store=token_store,
            logger=_logging.adapt(logger),
        )
        return cls._wrap(native)

    def webhook_verifier(self) -> Optional["_native.CheckoutWebhookVerifier"]:
        """The :class:`CheckoutWebhookVerifier` for this application's webhooks, keyed
        with ``webhook_secret`` (or ``WEBHOOK_SECRET``); ``None`` when none was given."""
        return self._client.webhook_verifier()


class CheckoutClient(_CheckoutBase, _Blocking):
    """The blocking hosted-checkout client.

    Create one per payment application and reuse it: it owns one connection pool (and
    one OAuth token), and it is safe to use from many threads at once. Every method
    blocks the calling thread and raises :class:`PesakitError` on failure. Use it as a
    context manager (``with CheckoutClient(...) as client:``) or call :meth:`close`.

    Retry rules (the Rust core's): :meth:`create_checkout` and
    :meth:`create_payment_application` are retried only when the request certainly did
    not arrive (the gateway has no idempotency key), so a timeout or a 5xx is raised at
    once; reads are retried on lost connections, timeouts, 429, 502, 503 and 504; a 403
    (the client token lacks the scope) never is; an OAuth call answered 401 is retried
    once after refreshing the OAuth token.
    """

    __slots__ = ()

    def as_async(self) -> "AsyncCheckoutClient":
        """An :class:`AsyncCheckoutClient` sharing this client's connection pool and tokens."""
        return AsyncCheckoutClient._wrap(self._client)

    def create_checkout(
        self,
        amount: AmountLike,
        currency: str,
        reference: str,
        *,
        reference_label: Optional[str] = None,
        redirect_url: Optional[str] = None,
        expires_at: Optional[_dt.datetime] = None,
        product_id: Optional[str] = None,
        settlement_currency: Optional[str] = None,
        site_id: Optional[str] = None,
        exponent: Optional[int] = None,
    ) -> "_native.Checkout":
        """Creates a checkout and returns it: send the payer to ``checkout_url``.

        Needs the client token's scope ``payments.create``. Not retried once the request
        may have arrived: after a timeout or a server error, look ``reference`` up
        (webhooks, dashboard) before creating another.

        :param amount: in major units, a :class:`~decimal.Decimal`, ``int`` or decimal
            ``str`` (a ``float`` raises ``TypeError``); sent in minor units by the
            currency's exponent (``Decimal("100.50")`` USD is ``10050``). More decimal
            digits than the currency has is a ``PesakitError.Validation``, never rounded.
        :param currency: the currency code (``"USD"``, ``"RWF"``, ``"BTC"``, …).
        :param reference: the merchant's reference (an order number).
        :param reference_label: a label for the reference (default: the reference).
        :param redirect_url: where the hosted page sends the payer afterwards.
        :param expires_at: when the checkout expires, a timezone-aware ``datetime``.
        :param product_id: the merchant's product id.
        :param settlement_currency: the currency to settle in, when different.
        :param site_id: a site id, sent instead of the client id.
        :param exponent: the currency's minor-unit digits, for a currency pesakit does
            not know.
        """
        request = _convert.checkout_request(
            amount, currency, reference,
            reference_label=reference_label, redirect_url=redirect_url, expires_at=expires_at,
            product_id=product_id, settlement_currency=settlement_currency, site_id=site_id,
            exponent=exponent,
        )
        return self._client.create_checkout_blocking(request)

    def get_payment(self, id: str) -> "_native.Payment":
        """The payment ``id`` (the client token's scope ``payments.get``)."""
        return self._client.get_payment_blocking(_convert.required_text(id, "id"))

    def payer_instructions(self, payment_id: str, provider: str, method: str) -> Dict[str, Any]:
        """What the payer must do to pay ``payment_id`` with ``provider`` / ``method``
        (``"bitcoin"`` / ``"onchain"``, …) as a ``dict`` parsed from the gateway's JSON:
        its shape depends on the provider (an address, an amount, a QR code…). Numbers
        with a fraction are :class:`~decimal.Decimal`, never ``float``. Needs the client
        token's scope ``payments.user-instructions.get``; retried like every read."""
        text = self._client.payer_instructions_blocking(
            _convert.required_text(payment_id, "payment_id"),
            _convert.required_text(provider, "provider"),
            _convert.required_text(method, "method"),
        )
        return _instructions(text)

    def payment_applications(self) -> List["_native.PaymentApplication"]:
        """Every payment application, in the gateway's order (OAuth)."""
        return self._client.payment_applications_blocking()

    def payment_application(self, id: str) -> "_native.PaymentApplication":
        """The payment application ``id`` (OAuth)."""
        return self._client.payment_application_blocking(_convert.required_text(id, "id"))

    def create_payment_application(
        self,
        name: str,
        secret: str,
        *,
        url: Optional[str] = None,
        callback_url: Optional[str] = None,
        currency_whitelist: Iterable[str] = (),
        allow_underpay: Optional[bool] = None,
        allow_overpay: Optional[bool] = None,
    ) -> "_native.PaymentApplication":
        """Creates a payment application whose webhooks are signed with ``secret``
        (OAuth). Not retried once the request may have arrived.

        :param name: 3 to 255 characters.
        :param secret: the webhook secret; never printed or logged.
        :param url: its website.
        :param callback_url: where its webhooks go.
        :param currency_whitelist: the accepted currency codes (empty: all).
        :param allow_underpay: accept underpayments.
        :param allow_overpay: accept overpayments.
        """
        app = _convert.new_payment_application(
            name, url=url, callback_url=callback_url, currency_whitelist=currency_whitelist,
            allow_underpay=allow_underpay, allow_overpay=allow_overpay,
        )
        return self._client.create_payment_application_blocking(
            app, _convert.required_text(secret, "secret")
        )


class AsyncCheckoutClient(_CheckoutBase, _Async):
    """The asyncio hosted-checkout client: the same calls as :class:`CheckoutClient`,
    awaited.

    Concurrent calls really run concurrently (on asyncio's default loop, the loop's own
    thread does their I/O while it waits; on other loops, the Rust core's worker
    threads do) and share one connection pool and one OAuth token (one refresh at a
    time). Use it as ``async with AsyncCheckoutClient(...) as client:`` or call
    :meth:`aclose`.
    Cancelling an awaiting task cancels the underlying work.
    """

    __slots__ = ()

    def as_sync(self) -> CheckoutClient:
        """A blocking :class:`CheckoutClient` sharing this client's connection pool and tokens."""
        return CheckoutClient._wrap(self._client)

    async def create_checkout(
        self,
        amount: AmountLike,
        currency: str,
        reference: str,
        *,
        reference_label: Optional[str] = None,
        redirect_url: Optional[str] = None,
        expires_at: Optional[_dt.datetime] = None,
        product_id: Optional[str] = None,
        settlement_currency: Optional[str] = None,
        site_id: Optional[str] = None,
        exponent: Optional[int] = None,
    ) -> "_native.Checkout":
        """See :meth:`CheckoutClient.create_checkout`."""
        request = _convert.checkout_request(
            amount, currency, reference,
            reference_label=reference_label, redirect_url=redirect_url, expires_at=expires_at,
            product_id=product_id, settlement_currency=settlement_currency, site_id=site_id,
            exponent=exponent,
        )
        return await self._client.create_checkout(request)

    async def get_payment(self, id: str) -> "_native.Payment":
        """See :meth:`CheckoutClient.get_payment`."""
        return await self._client.get_payment(_convert.required_text(id, "id"))

    async def payer_instructions(
        self, payment_id: str, provider: str, method: str
    ) -> Dict[str, Any]:
        """See :meth:`CheckoutClient.payer_instructions`."""
        text = await self._client.payer_instructions(
            _convert.required_text(payment_id, "payment_id"),
            _convert.required_text(provider, "provider"),
            _convert.required_text(method, "method"),
        )
        return _instructions(text)

    async def payment_applications(self) -> List["_native.PaymentApplication"]:
        """See :meth:`CheckoutClient.payment_applications`."""
        return await self._client.payment_applications()

    async def payment_application(self, id: str) -> "_native.PaymentApplication":
        """See :meth:`CheckoutClient.payment_application`."""
        return await self._client.payment_application(_convert.required_text(id, "id"))

    async def create_payment_application(
        self,
        name: str,
        secret: str,
        *,
        url: Optional[str] = None,
        callback_url: Optional[str] = None,
        currency_whitelist: Iterable[str] = (),
        allow_underpay: Optional[bool] = None,
        allow_overpay: Optional[bool] = None,
    ) -> "_native.PaymentApplication":
        """See :meth:`CheckoutClient.create_payment_application`."""
        app = _convert.new_payment_application(
            name, url=url, callback_url=callback_url, currency_whitelist=currency_whitelist,
            allow_underpay=allow_underpay, allow_overpay=allow_overpay,
        )
        return await self._client.create_payment_application(
            app, _convert.required_text(secret, "secret")
        )
