"""Fixtures: a fresh emulator per test, and clients pointed at it."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Iterator, TypeVar

import pytest

import pesakit
from sandbox_helper import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox

_T = TypeVar("_T")

#: Fast retries and polling, so tests of failure paths stay quick.
FAST = dict(initial_backoff=0.01, max_backoff=0.05, poll_interval=0.02)


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
