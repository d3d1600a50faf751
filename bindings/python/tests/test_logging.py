"""Log lines reach Python loggers and never carry a secret."""

from __future__ import annotations

import logging
import threading
from typing import List, Tuple

import pesakit
from conftest import make_async_client, make_client, run
from sandbox_helper import DEFAULT_CLIENT_SECRET, Sandbox
from conftest import DictStore

NUMBER = "0788123456"


class ListLogger(pesakit.Logger):
    def __init__(self) -> None:
        self.lines: List[Tuple[pesakit.LogLevel, str]] = []
        self._lock = threading.Lock()

    def log(self, level: pesakit.LogLevel, message: str) -> None:
        with self._lock:
            self.lines.append((level, message))


def exercise(sandbox: Sandbox, client: pesakit.PaypackClient) -> None:
    """Authorize, refresh, re-login, money calls and failures: every path that handles tokens."""
    client.authorize()
    tx = client.cashin("1000", NUMBER)
    sandbox.settle(tx.reference, "successful")
    client.find(tx.reference)
    sandbox.expire_tokens("access")
    client.profile()  # refresh
    sandbox.revoke_tokens("all")
    client.list_transactions()  # refresh fails, fresh login
    sandbox.fault(path="/paypack/api/merchants/me", kind="status", status=503, count=1)
    client.profile()  # a retry
    try:
        client.find("no-such-reference")
    except pesakit.PesakitError.NotFound:
        pass


def secrets_of(store: DictStore) -> List[str]:
    values = [DEFAULT_CLIENT_SECRET]
    for tokens in store.saved:
        values.append(tokens.access_token())
        refresh = tokens.refresh_token()
        if refresh:
            values.append(refresh)
    return values


def assert_no_secret(lines: List[str], secrets: List[str]) -> None:
    assert lines, "the logger received nothing"
    for line in lines:
        for secret in secrets:
            assert secret not in line, f"a secret leaked into the log: {line!r}"
            # Not even a recognisable part of a token (its signature segment).
            assert secret.split(".")[-1] not in line


def test_logger_subclass_gets_lines_without_secrets(sandbox: Sandbox) -> None:
    logger, store = ListLogger(), DictStore()
    with make_client(sandbox, logger=logger, token_store=store) as client:
        exercise(sandbox, client)
    assert len(store.saved) >= 3  # authorize, refresh, fresh login
    levels = {level for level, _ in logger.lines}
    assert pesakit.LogLevel.DEBUG in levels
    assert_no_secret([line for _, line in logger.lines], secrets_of(store))


def test_plain_callable_logger(sandbox: Sandbox) -> None:
    lines: List[Tuple[pesakit.LogLevel, str]] = []
    store = DictStore()
    with make_client(sandbox, logger=lambda level, message: lines.append((level, message)), token_store=store) as client:
        exercise(sandbox, client)
    assert all(isinstance(level, pesakit.LogLevel) and isinstance(m, str) for level, m in lines)
    assert_no_secret([m for _, m in lines], secrets_of(store))


def test_stdlib_logger(sandbox: Sandbox) -> None:
    records: List[logging.LogRecord] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    log = logging.getLogger("pesakit.test")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    handler = Capture()
    log.addHandler(handler)
    store = DictStore()
    try:
        with make_client(sandbox, logger=log, token_store=store) as client:
            exercise(sandbox, client)
    finally:
        log.removeHandler(handler)
    assert {r.levelno for r in records} >= {logging.DEBUG}
    assert all(r.name == "pesakit.test" for r in records)
    assert_no_secret([r.getMessage() for r in records], secrets_of(store))


def test_async_client_logs_too(sandbox: Sandbox) -> None:
    logger, store = ListLogger(), DictStore()

    async def main() -> None:
        async with make_async_client(sandbox, logger=logger, token_store=store) as client:
            await client.authorize()
            await client.cashin("1000", NUMBER)
            sandbox.expire_tokens("access")
            await client.profile()

    run(main())
    assert_no_secret([line for _, line in logger.lines], secrets_of(store))


def test_a_raising_logger_is_ignored(sandbox: Sandbox) -> None:
    def broken(level: pesakit.LogLevel, message: str) -> None:
        raise RuntimeError("logger down")

    with make_client(sandbox, logger=broken) as client:
        assert client.profile().name
