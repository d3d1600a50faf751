"""``PagaClient`` (blocking) and ``AsyncPagaClient`` (asyncio): Paga Connect.

Both wrap the one generated ``PagaClient``: every call goes to the Rust core, which owns
the OAuth 2.0 authorization-code flow (state, PKCE, the code exchange), each user's
tokens and their refresh (one at a time per user), retries, validation and parsing. This
module only turns Python arguments into the generated records and gives the client
Python's shape (keyword arguments, seconds, context managers, a ``dict`` for the
one-time token).
"""

from __future__ import annotations

import decimal
import json
from typing import Any, Dict, Iterable, List, Optional, Union

from ._handle import _Async, _Blocking, _Handle
from . import _convert, _logging, _native
from ._convert import AmountLike, Seconds


_DEFAULTS = _native.PagaOptions()

#: ``"test"`` (``https://beta.mypaga.com``), ``"live"`` (``https://www.mypaga.com``), any
#: other base URL as a ``str``, or a :class:`PagaEnvironment`.
EnvironmentLike = Union[str, "_native.PagaEnvironment"]
#: ``"form_body"`` (RFC 6749, the default) or ``"query_string"`` (as Paga's own
#: libraries send token requests), or a :class:`PagaTokenRequestStyle`.
TokenRequestStyleLike = Union[str, "_native.PagaTokenRequestStyle"]
#: Wire names (``"MERCHANT_PAYMENT"``): an iterable of ``str``, or one ``str`` of names
#: separated by spaces, commas or ``+``.
NamesLike = Union[str, Iterable[str]]


def _environment(value: EnvironmentLike) -> "_native.PagaEnvironment":
    if isinstance(value, _native.PagaEnvironment):
        return value
    if not isinstance(value, str):
        raise TypeError(
            f"environment must be 'test', 'live' or a base URL str, not {type(value).__name__}"
        )
    word = value.strip().lower()
    if word == "test":
        return _native.PagaEnvironment.TEST()
    if word == "live":
        return _native.PagaEnvironment.LIVE()
    return _native.PagaEnvironment.CUSTOM(base_url=value)


def _names(value: NamesLike, name: str) -> List[str]:
    if isinstance(value, str):
        return [n for n in value.replace(",", " ").replace("+", " ").split() if n]
    if isinstance(value, (bytes, bytearray)):
        raise TypeError(f"{name} must be str names, not bytes")
    try:
        items = list(value)
    except TypeError:
        raise TypeError(f"{name} must be an iterable of str, not {type(value).__name__}") from None
    result = []
    for item in items:
        if isinstance(item, str):
            result.append(item)
        elif hasattr(item, "name") and isinstance(getattr(item, "name"), str):
            result.append(item.name)  # an enum member named by its wire name
        else:
            raise TypeError(f"{name} must hold str names, not {type(item).__name__}")
    return result


def _options(
    *,
    environment: EnvironmentLike,
    token_request_style: TokenRequestStyleLike,
    pkce: bool,
    allow_insecure_loopback: bool,
    request_timeout: Seconds,
    connect_timeout: Seconds,
    max_retries: int,
    initial_backoff: Seconds,
    max_backoff: Seconds,
    refresh_skew: Seconds,
) -> "_native.PagaOptions":
    return _native.PagaOptions(
        environment=_environment(environment),
        token_request_style=_convert.choice(
            _native.PagaTokenRequestStyle, token_request_style, "token_request_style"
        ),
        pkce=bool(pkce),
        **_convert.transport_settings(
            allow_insecure_loopback,
            max_retries,
            connect_timeout=connect_timeout,
            request_timeout=request_timeout,
            initial_backoff=initial_backoff,
            max_backoff=max_backoff,
            refresh_skew=refresh_skew,
        ),
    )


def _authorization(value: "_native.PagaAuthorization") -> "_native.PagaAuthorization":
    if isinstance(value, _native.PagaAuthorization):
        return value
    raise TypeError(
        f"authorization must be the PagaAuthorization of authorization_url(), "
        f"not {type(value).__name__}"
    )


def _merchant_payment(
    reference_number: str,
    amount: AmountLike,
    customer_reference: str,
    product_code: Optional[str],
    currency: Optional[str],
) -> "_native.PagaMerchantPaymentRequest":
    return _native.PagaMerchantPaymentRequest(
        reference_number=_convert.required_text(reference_number, "reference_number"),
        amount=_convert.amount(amount),
        customer_reference=_convert.required_text(customer_reference, "customer_reference"),
        product_code=_convert.text(product_code, "product_code"),
        currency=_convert.text(currency, "currency"),
    )


def _money_transfer(
    reference_number: str, amount: AmountLike, recipient: str, skip_messaging: bool
) -> "_native.PagaMoneyTransferRequest":
    return _native.PagaMoneyTransferRequest(
        reference_number=_convert.required_text(reference_number, "reference_number"),
        amount=_convert.amount(amount),
        recipient=_convert.required_text(recipient, "recipient"),
        skip_messaging=bool(_convert.flag(skip_messaging, "skip_messaging")),
    )


def _json_object(text: str) -> Dict[str, Any]:
    # Numbers with a fraction become Decimal, as every amount in pesakit is.
    value: Dict[str, Any] = json.loads(text, parse_float=decimal.Decimal)
    return value


class _PagaBase(_Handle):
    """What the blocking and the async Paga client share: configuration and lifetime."""

    __slots__ = ()

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        environment: EnvironmentLike = "test",
        token_request_style: TokenRequestStyleLike = "form_body",
        pkce: bool = False,
        allow_insecure_loopback: bool = False,
        request_timeout: Seconds = _DEFAULTS.request_timeout_ms / 1000,
        connect_timeout: Seconds = _DEFAULTS.connect_timeout_ms / 1000,
        max_retries: int = _DEFAULTS.max_retries,
        initial_backoff: Seconds = _DEFAULTS.initial_backoff_ms / 1000,
        max_backoff: Seconds = _DEFAULTS.max_backoff_ms / 1000,
        refresh_skew: Seconds = _DEFAULTS.refresh_skew_ms / 1000,
        token_store: Optional["_native.TokenStore"] = None,
        logger: Optional[_logging.LoggerLike] = None,
    ) -> None:
        """A client for the merchant's Paga Connect OAuth client, sending users back to
        ``redirect_uri``.

        Nothing is sent until the first call. Durations are seconds (``int`` or
        ``float``) or :class:`datetime.timedelta`.

        :param client_id: the merchant's Paga Connect client id.
        :param client_secret: its secret; never printed or logged.
        :param redirect_uri: where Paga sends users back (your callback URL), exactly as
            registered with Paga.
        :param environment: ``"test"`` (``https://beta.mypaga.com``, the default),
            ``"live"`` (``https://www.mypaga.com``), any other base URL (the emulator's
            ``http://127.0.0.1:PORT/paga``, a proxy) or a :class:`PagaEnvironment`.
        :param token_request_style: ``"form_body"`` (RFC 6749, the default) or
            ``"query_string"`` (parameters in the query with an empty body, as Paga's
            own libraries send token requests).
        :param pkce: add a PKCE (S256) pair to every authorization.
        :param allow_insecure_loopback: permit plain ``http://`` to loopback addresses.
        :param request_timeout: how long one try of a request may take.
        :param connect_timeout: how long to wait for a connection.
        :param max_retries: how many times a safe request may be repeated.
        :param initial_backoff: the wait before the first retry.
        :param max_backoff: the longest wait between tries.
        :param refresh_skew: how long before expiry a user's token is refreshed.
        :param token_store: where users' tokens persist (a :class:`TokenStore`
            subclass; keys are ``paga|{base url}|{client id}|{user}``); in memory, per
            client, when ``None``.
        :param logger: receives log lines (never a secret): a :class:`Logger`, a
            :class:`logging.Logger` or a callable ``(level, message)``.
        :raises PesakitError.Configuration: when the configuration is refused.
        """
        options = _options(
            environment=environment,
            token_request_style=token_request_style,
            pkce=pkce,
            allow_insecure_loopback=allow_insecure_loopback,
            request_timeout=request_timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            initial_backoff=initial_backoff,
            max_backoff=max_backoff,
            refresh_skew=refresh_skew,
        )
        self._native_client: Optional[_native.PagaClient] = _native.PagaClient(
            _convert.required_text(client_id, "client_id"),
            _convert.required_text(client_secret, "client_secret"),
            _convert.required_text(redirect_uri, "redirect_uri"),
            options=options,
            token_store=token_store,
            logger=_logging.adapt(logger),
        )

    def authorization_url(
        self, scopes: NamesLike, user_data: NamesLike = ()
    ) -> "_native.PagaAuthorization":
        """Starts an authorization: send the user to the returned
        :class:`PagaAuthorization`'s ``url()`` and keep the object (or its ``state()``
        and ``pkce_verifier()``, for :meth:`PagaAuthorization.restore`) in their session
        until they come back. Nothing is sent.

        :param scopes: the operations asked for, by wire name (``"MERCHANT_PAYMENT"``,
            ``"MONEY_TRANSFER"``, ``"USER_DETAILS_REQUEST"``, …); unknown names pass as
            given.
        :param user_data: the user's fields asked for (``"FIRST_NAME"``,
            ``"ACCOUNT_BALANCE"``, …).
        """
        return self._client.authorization_url(
            _names(scopes, "scopes"), _names(user_data, "user_data")
        )

    def forget_user(self, user: str) -> None:
        """Forgets ``user``'s tokens (the token store's entry too): they must approve
        again before the next call for them."""
        self._client.forget_user(_convert.required_text(user, "user"))


class PagaClient(_PagaBase, _Blocking):
    """The blocking Paga Connect client: send users to Paga once, handle their return,
    then charge them, pay them and read their details by the key (``user``) you stored
    their tokens under.

    Create one per OAuth client and reuse it: it owns one connection pool and every
    user's tokens, and it is safe to use from many threads at once. Every method blocks
    and raises :class:`PesakitError` on failure. Use it as a context manager or call
    :meth:`close`.

    Retry rules (the Rust core's): merchant payments and money transfers are retried
    only when the request certainly did not arrive (Paga documents no idempotency), so a
    timeout or a 5xx is raised at once; reads are retried; a 401 refreshes the user's
    token and retries once. Paga's own refusals (a non-``"0"`` ``errorCode``) raise
    ``PesakitError.Gateway`` with ``gateway_code``; a missing scope raises
    ``PesakitError.Permission``.
    """

    __slots__ = ()

    def as_async(self) -> "AsyncPagaClient":
        """An :class:`AsyncPagaClient` sharing this client's connection pool and tokens."""
        return AsyncPagaClient._wrap(self._client)

    def handle_callback(
        self, callback_url: str, authorization: "_native.PagaAuthorization", user: str
    ) -> "_native.PagaGrant":
        """Handles the user's return to your ``redirect_uri``: checks the ``state`` kept
        in ``authorization``, turns an ``error=`` redirect into an error, exchanges the
        code and stores the tokens under ``user``.

        :param callback_url: the full URL the user came back on (with its query).
        :param authorization: what :meth:`authorization_url` returned for this user.
        :param user: your key for this user (their id in your system).
        :returns: a :class:`PagaGrant` (the scopes and user data granted).
        :raises PesakitError.Authentication: a forged state (nothing is sent), a user
            who declined (``gateway_code`` ``"access_denied"``), a refused code.
        """
        return self._client.handle_callback_blocking(
            _convert.required_text(callback_url, "callback_url"),
            _authorization(authorization),
            _convert.required_text(user, "user"),
        )

    def merchant_payment(
        self,
        user: str,
        reference_number: str,
        amount: AmountLike,
        customer_reference: str,
        *,
        product_code: Optional[str] = None,
        currency: Optional[str] = None,
    ) -> "_native.PagaPaymentResult":
        """Charges ``user`` (scope ``MERCHANT_PAYMENT``). Not retried once the request
        may have arrived.

        :param reference_number: your unique reference (see
            :func:`new_paga_reference_number`).
        :param amount: a :class:`~decimal.Decimal`, ``int`` or decimal ``str`` (a
            ``float`` raises ``TypeError``).
        :param customer_reference: your reference for the customer.
        :param product_code: the product code.
        :param currency: the currency (ISO 4217; Paga's default is NGN).
        """
        request = _merchant_payment(
            reference_number, amount, customer_reference, product_code, currency
        )
        return self._client.merchant_payment_blocking(
            _convert.required_text(user, "user"), request
        )

    def money_transfer(
        self,
        user: str,
        reference_number: str,
        amount: AmountLike,
        recipient: str,
        *,
        skip_messaging: bool = False,
    ) -> "_native.PagaPaymentResult":
        """Sends money from the merchant to the Paga user whose phone is ``recipient``,
        on ``user``'s grant (scope ``MONEY_TRANSFER``). Not retried once the request may
        have arrived.

        :param skip_messaging: skip Paga's SMS to the recipient.
        """
        request = _money_transfer(reference_number, amount, recipient, skip_messaging)
        return self._client.money_transfer_blocking(
            _convert.required_text(user, "user"), request
        )

    def user_details(self, user: str) -> "_native.PagaUserDetails":
        """``user``'s details, and balance when ``ACCOUNT_BALANCE`` was granted (scope
        ``USER_DETAILS_REQUEST``)."""
        return self._client.user_details_blocking(_convert.required_text(user, "user"))

    def one_time_token(self, user: str, reference_number: str) -> Dict[str, Any]:
        """A one-time token for ``user``, as a ``dict`` parsed from Paga's JSON (its shape
        is undocumented; numbers with a fraction are :class:`~decimal.Decimal`)."""
        text = self._client.one_time_token_blocking(
            _convert.required_text(user, "user"),
            _convert.required_text(reference_number, "reference_number"),
        )
        return _json_object(text)


class AsyncPagaClient(_PagaBase, _Async):
    """The asyncio Paga Connect client: the same calls as :class:`PagaClient`, awaited.

    Concurrent calls really run concurrently (on asyncio's default loop, the loop's own
    thread does their I/O while it waits; on other loops, the Rust core's worker
    threads do) and share one connection pool; concurrent calls for one user whose
    token expired share one refresh. Use it as ``async with AsyncPagaClient(...) as
    client:`` or call :meth:`aclose`. Cancelling an awaiting task cancels the underlying
    work.
    """

    __slots__ = ()

    def as_sync(self) -> PagaClient:
        """A blocking :class:`PagaClient` sharing this client's connection pool and tokens."""
        return PagaClient._wrap(self._client)

    async def handle_callback(
        self, callback_url: str, authorization: "_native.PagaAuthorization", user: str
    ) -> "_native.PagaGrant":
        """See :meth:`PagaClient.handle_callback`."""
        return await self._client.handle_callback(
            _convert.required_text(callback_url, "callback_url"),
            _authorization(authorization),
            _convert.required_text(user, "user"),
        )

    async def merchant_payment(
        self,
        user: str,
        reference_number: str,
        amount: AmountLike,
        customer_reference: str,
        *,
        product_code: Optional[str] = None,
        currency: Optional[str] = None,
    ) -> "_native.PagaPaymentResult":
        """See :meth:`PagaClient.merchant_payment`."""
        request = _merchant_payment(
            reference_number, amount, customer_reference, product_code, currency
        )
        return await self._client.merchant_payment(_convert.required_text(user, "user"), request)

    async def money_transfer(
        self,
        user: str,
        reference_number: str,
        amount: AmountLike,
        recipient: str,
        *,
        skip_messaging: bool = False,
    ) -> "_native.PagaPaymentResult":
        """See :meth:`PagaClient.money_transfer`."""
        request = _money_transfer(reference_number, amount, recipient, skip_messaging)
        return await self._client.money_transfer(_convert.required_text(user, "user"), request)

    async def user_details(self, user: str) -> "_native.PagaUserDetails":
        """See :meth:`PagaClient.user_details`."""
        return await self._client.user_details(_convert.required_text(user, "user"))

    async def one_time_token(self, user: str, reference_number: str) -> Dict[str, Any]:
        """See :meth:`PagaClient.one_time_token`."""
        text = await self._client.one_time_token(
            _convert.required_text(user, "user"),
            _convert.required_text(reference_number, "reference_number"),
        )
        return _json_object(text)
