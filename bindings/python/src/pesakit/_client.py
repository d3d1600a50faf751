"""``PaypackClient`` (blocking) and ``AsyncPaypackClient`` (asyncio).

Both wrap the one generated ``PaypackClient``: every call goes to the Rust core, which
owns authentication, token refresh, retries, validation and parsing. This module only
turns Python arguments into the generated records and gives the client Python's shape
(keyword arguments, seconds, context managers, iterators).
"""

from __future__ import annotations

import datetime as _dt
from typing import (
    Any,
    Generic,
    List,
    Optional,
    Type,
    TypeVar,
    Union,
)

from ._handle import _Async, _Blocking, _Handle
from . import _columns, _convert, _logging, _native
from ._convert import AmountLike, Seconds

_T = TypeVar("_T")
_C = TypeVar("_C", bound="_ClientBase")

_DEFAULTS = _native.PaypackOptions()

#: The Paypack API base URL used unless ``base_url`` (or ``PAYPACK_BASE_URL``) says otherwise.
DEFAULT_BASE_URL: str = _DEFAULTS.base_url

KindLike = Union["_native.TransactionKind", str]
StatusLike = Union["_native.TransactionStatus", str]
WebhookModeLike = Union["_native.WebhookMode", str]


class Pager(Generic[_T]):
    """Iterates a filter's items with ``for``, fetching one page at a time.

    Each item is yielded once. An error is raised from the iteration step that met it,
    after which the pager is finished.
    """

    __slots__ = ("_pager", "_page")

    def __init__(self, pager: Any) -> None:
        self._pager: Any = pager
        # The rest of the page in hand, last item first: a page crosses from Rust in one
        # call instead of one call per item.
        self._page: List[Any] = []

    def __iter__(self) -> "Pager[_T]":
        return self

    def __next__(self) -> _T:
        if self._page:
            return self._page.pop()  # type: ignore[no-any-return]
        if self._pager is None:
            raise StopIteration
        page = self._pager.next_batch_blocking()
        if not page:
            self._pager = None
            raise StopIteration
        page.reverse()
        self._page = page
        return page.pop()  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<pesakit.Pager {'finished' if self._pager is None else 'open'}>"


class AsyncPager(Generic[_T]):
    """Iterates a filter's items with ``async for``, fetching one page at a time.

    Each item is yielded once. An error is raised from the iteration step that met it,
    after which the pager is finished.
    """

    __slots__ = ("_pager", "_page")

    def __init__(self, pager: Any) -> None:
        self._pager: Any = pager
        self._page: List[Any] = []  # as in Pager

    def __aiter__(self) -> "AsyncPager[_T]":
        return self

    async def __anext__(self) -> _T:
        if self._page:
            return self._page.pop()  # type: ignore[no-any-return]
        if self._pager is None:
            raise StopAsyncIteration
        page = await self._pager.next_batch()
        if not page:
            self._pager = None
            raise StopAsyncIteration
        page.reverse()
        self._page = page
        return page.pop()  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<pesakit.AsyncPager {'finished' if self._pager is None else 'open'}>"


def _options(
    *,
    base_url: str,
    allow_insecure_loopback: bool,
    webhook_mode: Optional[WebhookModeLike],
    request_timeout: Seconds,
    connect_timeout: Seconds,
    max_retries: int,
    initial_backoff: Seconds,
    max_backoff: Seconds,
    max_retry_after: Seconds,
    refresh_skew: Seconds,
    poll_interval: Seconds,
) -> "_native.PaypackOptions":
    if not isinstance(base_url, str):
        raise TypeError(f"base_url must be a str, not {type(base_url).__name__}")
    return _native.PaypackOptions(
        base_url=base_url,
        webhook_mode=_convert.choice(_native.WebhookMode, webhook_mode, "webhook_mode"),
        **_convert.transport_settings(
            allow_insecure_loopback,
            max_retries,
            connect_timeout=connect_timeout,
            request_timeout=request_timeout,
            initial_backoff=initial_backoff,
            max_backoff=max_backoff,
            max_retry_after=max_retry_after,
            refresh_skew=refresh_skew,
            poll_interval=poll_interval,
        ),
    )


class _ClientBase(_Handle):
    """What the blocking and the async client share: configuration and lifetime."""

    __slots__ = ()

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        allow_insecure_loopback: bool = False,
        webhook_mode: Optional[WebhookModeLike] = None,
        request_timeout: Seconds = _DEFAULTS.request_timeout_ms / 1000,
        connect_timeout: Seconds = _DEFAULTS.connect_timeout_ms / 1000,
        max_retries: int = _DEFAULTS.max_retries,
        initial_backoff: Seconds = _DEFAULTS.initial_backoff_ms / 1000,
        max_backoff: Seconds = _DEFAULTS.max_backoff_ms / 1000,
        max_retry_after: Seconds = _DEFAULTS.max_retry_after_ms / 1000,
        refresh_skew: Seconds = _DEFAULTS.refresh_skew_ms / 1000,
        poll_interval: Seconds = _DEFAULTS.poll_interval_ms / 1000,
        token_store: Optional["_native.TokenStore"] = None,
        logger: Optional[_logging.LoggerLike] = None,
    ) -> None:
        """A client for the Paypack application ``client_id`` / ``client_secret``.

        Nothing is sent until the first call. Durations are seconds (``int`` or
        ``float``) or :class:`datetime.timedelta`.

        :param base_url: the API base URL; ``https://``, or ``http://`` to a loopback
            address when ``allow_insecure_loopback`` is set (the emulator).
        :param allow_insecure_loopback: permit plain ``http://`` to loopback addresses.
        :param webhook_mode: the ``X-Webhook-Mode`` of money calls that choose none
            (:class:`WebhookMode` or ``"development"`` / ``"production"``).
        :param request_timeout: how long one try of a request may take.
        :param connect_timeout: how long to wait for a connection.
        :param max_retries: how many times a safe request may be repeated.
        :param initial_backoff: the wait before the first retry.
        :param max_backoff: the longest wait between tries.
        :param max_retry_after: the longest ``Retry-After`` waited out.
        :param refresh_skew: how long before expiry the access token is renewed.
        :param poll_interval: how often :meth:`wait_for_completion` asks.
        :param token_store: where tokens persist (a :class:`TokenStore` subclass);
            in memory, per client, when ``None``.
        :param logger: receives log lines (never a secret): a :class:`Logger`, a
            :class:`logging.Logger` or a callable ``(level, message)``.
        :raises PesakitError.Configuration: when the configuration is refused.
        """
        if not isinstance(client_id, str) or not isinstance(client_secret, str):
            raise TypeError("client_id and client_secret must be str")
        options = _options(
            base_url=base_url,
            allow_insecure_loopback=allow_insecure_loopback,
            webhook_mode=webhook_mode,
            request_timeout=request_timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            initial_backoff=initial_backoff,
            max_backoff=max_backoff,
            max_retry_after=max_retry_after,
            refresh_skew=refresh_skew,
            poll_interval=poll_interval,
        )
        self._native_client: Optional[_native.PaypackClient] = _native.PaypackClient(
            client_id,
            client_secret,
            options=options,
            token_store=token_store,
            logger=_logging.adapt(logger),
        )

    @classmethod
    def from_env(
        cls: Type[_C],
        *,
        base_url: str = DEFAULT_BASE_URL,
        allow_insecure_loopback: bool = False,
        webhook_mode: Optional[WebhookModeLike] = None,
        request_timeout: Seconds = _DEFAULTS.request_timeout_ms / 1000,
        connect_timeout: Seconds = _DEFAULTS.connect_timeout_ms / 1000,
        max_retries: int = _DEFAULTS.max_retries,
        initial_backoff: Seconds = _DEFAULTS.initial_backoff_ms / 1000,
        max_backoff: Seconds = _DEFAULTS.max_backoff_ms / 1000,
        max_retry_after: Seconds = _DEFAULTS.max_retry_after_ms / 1000,
        refresh_skew: Seconds = _DEFAULTS.refresh_skew_ms / 1000,
        poll_interval: Seconds = _DEFAULTS.poll_interval_ms / 1000,
        token_store: Optional["_native.TokenStore"] = None,
        logger: Optional[_logging.LoggerLike] = None,
    ) -> _C:
        """A client configured from the environment.

        Reads ``PAYPACK_CLIENT_ID``, ``PAYPACK_CLIENT_SECRET``, ``PAYPACK_BASE_URL``
        (which wins over a default ``base_url``) and ``PAYPACK_ALLOW_INSECURE_LOOPBACK=1``
        (for pointing it at the emulator). The other options are those of the
        constructor.

        :raises PesakitError.Configuration: when a credential is missing or the
            configuration is refused.
        """
        options = _options(
            base_url=base_url,
            allow_insecure_loopback=allow_insecure_loopback,
            webhook_mode=webhook_mode,
            request_timeout=request_timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            initial_backoff=initial_backoff,
            max_backoff=max_backoff,
            max_retry_after=max_retry_after,
            refresh_skew=refresh_skew,
            poll_interval=poll_interval,
        )
        native = _native.PaypackClient.from_env(
            options=options, token_store=token_store, logger=_logging.adapt(logger)
        )
        return cls._wrap(native)


class PaypackClient(_ClientBase, _Blocking):
    """The blocking Paypack client.

    Create one per application and reuse it: it owns one connection pool and one token,
    and it is safe to use from many threads at once. Every method blocks the calling
    thread and raises :class:`PesakitError` on failure. Use it as a context manager
    (``with PaypackClient(...) as client:``) or call :meth:`close`.

    Retry rules (the Rust core's): ``cashin``/``cashout`` are retried only with their
    idempotency key, so at most one transaction is created; reads are retried on lost
    connections, timeouts, 429, 502, 503 and 504; any call answered 401 is retried once
    after renewing the token.
    """

    __slots__ = ()

    def as_async(self) -> "AsyncPaypackClient":
        """An :class:`AsyncPaypackClient` sharing this client's connection pool and token."""
        return AsyncPaypackClient._wrap(self._client)

    def authorize(self) -> _dt.datetime:
        """Makes sure a valid access token is held (loading, refreshing or authorizing
        only when needed) and returns when it expires (an aware UTC ``datetime``)."""
        return self._client.authorize_blocking()

    def cashin(
        self,
        amount: AmountLike,
        number: str,
        *,
        idempotency_key: Optional[str] = None,
        webhook_mode: Optional[WebhookModeLike] = None,
        validate: bool = True,
    ) -> "_native.Transaction":
        """Asks the customer ``number`` to pay ``amount`` RWF; returns the pending transaction.

        :param amount: a :class:`~decimal.Decimal`, ``int`` or decimal ``str``; a
            ``float`` raises ``TypeError``.
        :param number: the customer's phone (``07…``, ``2507…`` or ``+2507…``).
        :param idempotency_key: at most 32 characters; generated when ``None``. Reuse
            the key of a call whose outcome is unknown (it is on the error) to retry it.
        :param webhook_mode: this call's ``X-Webhook-Mode``; the client's when ``None``.
        :param validate: check the number and the minimum amount before sending.
        """
        request = _convert.cash_request(amount, number, idempotency_key, webhook_mode, validate)
        return self._client.cashin_blocking(request)

    def cashout(
        self,
        amount: AmountLike,
        number: str,
        *,
        idempotency_key: Optional[str] = None,
        webhook_mode: Optional[WebhookModeLike] = None,
        validate: bool = True,
    ) -> "_native.Transaction":
        """Pays ``amount`` RWF out to the customer ``number``; returns the pending
        transaction. Arguments as for :meth:`cashin`."""
        request = _convert.cash_request(amount, number, idempotency_key, webhook_mode, validate)
        return self._client.cashout_blocking(request)

    def find(self, reference: str) -> "_native.Transaction":
        """The processed transaction ``reference``; ``PesakitError.NotFound`` while it
        is unknown or still pending."""
        return self._client.find_blocking(reference)

    def list_transactions(
        self,
        *,
        offset: Optional[int] = None,
        limit: Optional[int] = None,
        from_: Optional[_dt.datetime] = None,
        to: Optional[_dt.datetime] = None,
        kind: Optional[KindLike] = None,
        client: Optional[str] = None,
    ) -> "_native.TransactionPage":
        """One page of transactions, newest first.

        :param from_: only those created at or after this aware ``datetime``.
        :param to: only those created at or before this aware ``datetime``.
        :param kind: :class:`TransactionKind` or ``"cash_in"`` / ``"cash_out"``.
        :param client: only this customer's phone number.
        """
        f = _convert.transaction_filter(
            offset=offset, limit=limit, from_=from_, to=to, kind=kind, client=client
        )
        if _columns.ENABLED:
            return _columns.read(self._client.list_transactions_columns_blocking(f))
        return self._client.list_transactions_blocking(f)

    def list_events(
        self,
        *,
        reference: Optional[str] = None,
        kind: Optional[KindLike] = None,
        client: Optional[str] = None,
        status: Optional[StatusLike] = None,
        offset: Optional[int] = None,
        limit: Optional[int] = None,
        from_: Optional[_dt.datetime] = None,
        to: Optional[_dt.datetime] = None,
    ) -> "_native.EventPage":
        """One page of events, newest first.

        :param status: :class:`TransactionStatus` or ``"pending"`` / ``"successful"``
            / ``"failed"``. Other filters as for :meth:`list_transactions`.
        """
        f = _convert.event_filter(
            reference=reference, kind=kind, client=client, status=status,
            offset=offset, limit=limit, from_=from_, to=to,
        )
        if _columns.ENABLED:
            return _columns.read(self._client.list_events_columns_blocking(f))
        return self._client.list_events_blocking(f)

    def transactions(
        self,
        *,
        offset: Optional[int] = None,
        limit: Optional[int] = None,
        from_: Optional[_dt.datetime] = None,
        to: Optional[_dt.datetime] = None,
        kind: Optional[KindLike] = None,
        client: Optional[str] = None,
    ) -> "Pager[_native.Transaction]":
        """Every transaction matching the filters, for ``for``; ``limit`` is the page
        size. Pages are fetched as the loop reads."""
        f = _convert.transaction_filter(
            offset=offset, limit=limit, from_=from_, to=to, kind=kind, client=client
        )
        return Pager(self._client.transactions(f))

    def events(
        self,
        *,
        reference: Optional[str] = None,
        kind: Optional[KindLike] = None,
        client: Optional[str] = None,
        status: Optional[StatusLike] = None,
        offset: Optional[int] = None,
        limit: Optional[int] = None,
        from_: Optional[_dt.datetime] = None,
        to: Optional[_dt.datetime] = None,
    ) -> "Pager[_native.Event]":
        """Every event matching the filters, for ``for``, each once (deduplicated on
        id); ``limit`` is the page size."""
        f = _convert.event_filter(
            reference=reference, kind=kind, client=client, status=status,
            offset=offset, limit=limit, from_=from_, to=to,
        )
        return Pager(self._client.events(f))

    def profile(self) -> "_native.Profile":
        """The merchant profile: name, fee rates, balances."""
        return self._client.profile_blocking()

    def wait_for_completion(self, reference: str, timeout: Seconds) -> "_native.Transaction":
        """Waits until ``reference`` is processed (successful or failed) and returns it;
        ``PesakitError.Timeout`` after ``timeout`` (seconds or ``timedelta``)."""
        return self._client.wait_for_completion_blocking(
            reference, _convert.millis(timeout, "timeout")
        )


class AsyncPaypackClient(_ClientBase, _Async):
    """The asyncio Paypack client: the same calls as :class:`PaypackClient`, awaited.

    Concurrent calls really run concurrently (on asyncio's default loop, the loop's own
    thread does their I/O while it waits; on other loops, the Rust core's worker
    threads do) and share one connection pool and one token (one refresh at a time).
    Use it as ``async with AsyncPaypackClient(...) as client:`` or call :meth:`aclose`.
    Cancelling an awaiting task cancels the underlying work.
    """

    __slots__ = ()

    def as_sync(self) -> PaypackClient:
        """A blocking :class:`PaypackClient` sharing this client's connection pool and token."""
        return PaypackClient._wrap(self._client)

    async def authorize(self) -> _dt.datetime:
        """See :meth:`PaypackClient.authorize`."""
        return await self._client.authorize()

    async def cashin(
        self,
        amount: AmountLike,
        number: str,
        *,
        idempotency_key: Optional[str] = None,
        webhook_mode: Optional[WebhookModeLike] = None,
        validate: bool = True,
    ) -> "_native.Transaction":
        """See :meth:`PaypackClient.cashin`."""
        request = _convert.cash_request(amount, number, idempotency_key, webhook_mode, validate)
        return await self._client.cashin(request)

    async def cashout(
        self,
        amount: AmountLike,
        number: str,
        *,
        idempotency_key: Optional[str] = None,
        webhook_mode: Optional[WebhookModeLike] = None,
        validate: bool = True,
    ) -> "_native.Transaction":
        """See :meth:`PaypackClient.cashout`."""
        request = _convert.cash_request(amount, number, idempotency_key, webhook_mode, validate)
        return await self._client.cashout(request)

    async def find(self, reference: str) -> "_native.Transaction":
        """See :meth:`PaypackClient.find`."""
        return await self._client.find(reference)

    async def list_transactions(
        self,
        *,
        offset: Optional[int] = None,
        limit: Optional[int] = None,
        from_: Optional[_dt.datetime] = None,
        to: Optional[_dt.datetime] = None,
        kind: Optional[KindLike] = None,
        client: Optional[str] = None,
    ) -> "_native.TransactionPage":
        """See :meth:`PaypackClient.list_transactions`."""
        f = _convert.transaction_filter(
            offset=offset, limit=limit, from_=from_, to=to, kind=kind, client=client
        )
        if _columns.ENABLED:
            return _columns.read(await self._client.list_transactions_columns(f))
        return await self._client.list_transactions(f)

    async def list_events(
        self,
        *,
        reference: Optional[str] = None,
        kind: Optional[KindLike] = None,
        client: Optional[str] = None,
        status: Optional[StatusLike] = None,
        offset: Optional[int] = None,
        limit: Optional[int] = None,
        from_: Optional[_dt.datetime] = None,
        to: Optional[_dt.datetime] = None,
    ) -> "_native.EventPage":
        """See :meth:`PaypackClient.list_events`."""
        f = _convert.event_filter(
            reference=reference, kind=kind, client=client, status=status,
            offset=offset, limit=limit, from_=from_, to=to,
        )
        if _columns.ENABLED:
            return _columns.read(await self._client.list_events_columns(f))
        return await self._client.list_events(f)

    def transactions(
        self,
        *,
        offset: Optional[int] = None,
        limit: Optional[int] = None,
        from_: Optional[_dt.datetime] = None,
        to: Optional[_dt.datetime] = None,
        kind: Optional[KindLike] = None,
        client: Optional[str] = None,
    ) -> "AsyncPager[_native.Transaction]":
        """Every transaction matching the filters, for ``async for``; ``limit`` is the
        page size. Pages are fetched as the loop reads."""
        f = _convert.transaction_filter(
            offset=offset, limit=limit, from_=from_, to=to, kind=kind, client=client
        )
        return AsyncPager(self._client.transactions(f))

    def events(
        self,
        *,
        reference: Optional[str] = None,
        kind: Optional[KindLike] = None,
        client: Optional[str] = None,
        status: Optional[StatusLike] = None,
        offset: Optional[int] = None,
        limit: Optional[int] = None,
        from_: Optional[_dt.datetime] = None,
        to: Optional[_dt.datetime] = None,
    ) -> "AsyncPager[_native.Event]":
        """Every event matching the filters, for ``async for``, each once
        (deduplicated on id); ``limit`` is the page size."""
        f = _convert.event_filter(
            reference=reference, kind=kind, client=client, status=status,
            offset=offset, limit=limit, from_=from_, to=to,
        )
        return AsyncPager(self._client.events(f))

    async def profile(self) -> "_native.Profile":
        """See :meth:`PaypackClient.profile`."""
        return await self._client.profile()

    async def wait_for_completion(
        self, reference: str, timeout: Seconds
    ) -> "_native.Transaction":
        """See :meth:`PaypackClient.wait_for_completion`."""
        return await self._client.wait_for_completion(
            reference, _convert.millis(timeout, "timeout")
        )

