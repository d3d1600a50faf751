"""Fixtures: a fresh emulator per test, and clients pointed at it."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from typing import Any, Awaitable, Dict, Iterator, List, Optional, TypeVar

import pytest

import pesakit
from sandbox_helper import (
    CHECKOUT_CLIENT_ID,
    CHECKOUT_TOKEN,
    CHECKOUT_WEBHOOK_SECRET,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    Sandbox,
)

_T = TypeVar("_T")

#: Fast retries and polling, so tests of failure paths stay quick.
FAST = dict(initial_backoff=0.01, max_backoff=0.05, poll_interval=0.02)
#: The same for the checkout clients (which do not poll).
CHECKOUT_FAST = dict(initial_backoff=0.01, max_backoff=0.05)


class DictStore(pesakit.TokenStore):
    """Keeps token sets in a dict, and remembers every set it was given (in a list that
    ``sibling`` stores share)."""

    def __init__(self, saved: Optional[List[pesakit.TokenSet]] = None) -> None:
        self.tokens: Dict[str, pesakit.TokenSet] = {}
        self.saved: List[pesakit.TokenSet] = [] if saved is None else saved
        self.loads = 0
        self._lock = threading.Lock()

    def sibling(self) -> "DictStore":
        """An empty store (a new client authorizes afresh) recording into the same list."""
        return DictStore(self.saved)

    def load(self, key: str) -> Optional[pesakit.TokenSet]:
        with self._lock:
            self.loads += 1
            return self.tokens.get(key)

    def save(self, key: str, tokens: pesakit.TokenSet) -> None:
        with self._lock:
            self.tokens[key] = tokens
            self.saved.append(tokens)

    def clear(self, key: str) -> None:
        with self._lock:
            self.tokens.pop(key, None)


def mixed_transactions(client: Any, sandbox: Sandbox) -> List[str]:
    """Four transactions through ``client`` (blocking, or ``Api``): settled successful and
    failed, a cash-out, and one left pending; fractional amounts, both providers. Their
    references, oldest first (each leaves one or two events)."""
    refs = [
        client.cashin(Decimal("100"), "0788123456").reference,
        client.cashin(Decimal("2500.50"), "0728123456").reference,
        client.cashout(Decimal("150"), "0780000000").reference,
        client.cashin(Decimal("333.33"), "0791234567").reference,
    ]
    for ref in refs[:3]:
        sandbox.settle(ref)
    return refs


def run(awaitable: Awaitable[_T]) -> _T:
    """Runs a coroutine to completion on a fresh event loop."""

    async def main() -> _T:
        return await awaitable

    return asyncio.run(main())


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh emulator that settles transactions only through the control API."""
    box = Sandbox()
    try:
        yield box
    finally:
        box.close()


def make_client(sandbox: Sandbox, **options: Any) -> pesakit.PaypackClient:
    """A blocking client for the emulator's default application."""
    settings: dict = dict(base_url=sandbox.paypack_url, allow_insecure_loopback=True, **FAST)
    settings.update(options)
    client_id = settings.pop("client_id", DEFAULT_CLIENT_ID)
    client_secret = settings.pop("client_secret", DEFAULT_CLIENT_SECRET)
    return pesakit.PaypackClient(client_id, client_secret, **settings)


def make_async_client(sandbox: Sandbox, **options: Any) -> pesakit.AsyncPaypackClient:
    """An asyncio client for the emulator's default application."""
    settings: dict = dict(base_url=sandbox.paypack_url, allow_insecure_loopback=True, **FAST)
    settings.update(options)
    client_id = settings.pop("client_id", DEFAULT_CLIENT_ID)
    client_secret = settings.pop("client_secret", DEFAULT_CLIENT_SECRET)
    return pesakit.AsyncPaypackClient(client_id, client_secret, **settings)


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[pesakit.PaypackClient]:
    """A blocking client pointed at ``sandbox``."""
    with make_client(sandbox) as c:
        yield c


@pytest.fixture
def aclient(sandbox: Sandbox) -> Iterator[pesakit.AsyncPaypackClient]:
    """An asyncio client pointed at ``sandbox``."""
    c = make_async_client(sandbox)
    try:
        yield c
    finally:
        c.close()


class Api:
    """Calls a client's operation the same way whether the client is blocking or async,
    so one test body checks both APIs."""

    def __init__(self, sandbox: Sandbox, mode: str) -> None:
        self.mode = mode
        self.sandbox = sandbox
        self.client: Any = make_client(sandbox) if mode == "sync" else make_async_client(sandbox)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        if self.mode == "sync" or name in ("transactions", "events"):
            return method
        return lambda *args, **kwargs: run(method(*args, **kwargs))

    def drain(self, pager: Any) -> list:
        """Every item of a ``transactions()`` / ``events()`` pager."""
        if self.mode == "sync":
            return [item for item in pager]

        async def collect() -> list:
            return [item async for item in pager]

        return run(collect())


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest, sandbox: Sandbox) -> Iterator[Api]:
    """The blocking client, then the async one, over the same test body."""
    a = Api(sandbox, request.param)
    try:
        yield a
    finally:
        a.client.close()


# -- hosted checkout ------------------------------------------------------------------


def checkout_settings(sandbox: Sandbox, options: dict) -> dict:
    settings: dict = dict(
        client_token=CHECKOUT_TOKEN, client_id=CHECKOUT_CLIENT_ID,
        webhook_secret=CHECKOUT_WEBHOOK_SECRET, allow_insecure_loopback=True, **CHECKOUT_FAST,
    )
    settings.update(options)
    return settings


def make_checkout_client(sandbox: Sandbox, **options: Any) -> pesakit.CheckoutClient:
    """A blocking checkout client for the emulator's default payment application."""
    return pesakit.CheckoutClient(sandbox.checkout_url, **checkout_settings(sandbox, options))


def make_async_checkout_client(sandbox: Sandbox, **options: Any) -> pesakit.AsyncCheckoutClient:
    """An asyncio checkout client for the emulator's default payment application."""
    return pesakit.AsyncCheckoutClient(sandbox.checkout_url, **checkout_settings(sandbox, options))


class CheckoutApi:
    """Calls a checkout client's operation the same way whether it is blocking or async."""

    def __init__(self, sandbox: Sandbox, mode: str, **options: Any) -> None:
        self.mode = mode
        self.sandbox = sandbox
        self.client: Any = (
            make_checkout_client(sandbox, **options) if mode == "sync"
            else make_async_checkout_client(sandbox, **options)
        )

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        if self.mode == "sync" or name in ("webhook_verifier", "close", "base_url"):
            return method
        return lambda *args, **kwargs: run(method(*args, **kwargs))

    def close(self) -> None:
        self.client.close()


@pytest.fixture(params=["sync", "async"])
def checkout(request: pytest.FixtureRequest, sandbox: Sandbox) -> Iterator[CheckoutApi]:
    """The blocking checkout client, then the async one, over the same test body."""
    a = CheckoutApi(sandbox, request.param)
    try:
        yield a
    finally:
        a.close()
