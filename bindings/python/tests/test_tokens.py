"""Token persistence through a TokenStore written in Python."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Dict, Optional

import pytest

import pesakit
from conftest import DictStore, make_async_client, make_client, run
from sandbox_helper import DEFAULT_CLIENT_ID, Sandbox


class JsonFileStore(pesakit.TokenStore):
    """Keeps each account's tokens as TokenSet.to_json() text in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> Dict[str, str]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def load(self, key: str) -> Optional[pesakit.TokenSet]:
        stored = self._read().get(key)
        return None if stored is None else pesakit.TokenSet.from_json(stored)

    def save(self, key: str, tokens: pesakit.TokenSet) -> None:
        data = self._read()
        data[key] = tokens.to_json()
        self.path.write_text(json.dumps(data))

    def clear(self, key: str) -> None:
        data = self._read()
        data.pop(key, None)
        self.path.write_text(json.dumps(data))


class BrokenStore(pesakit.TokenStore):
    """Raises an arbitrary exception from every method."""

    def load(self, key: str) -> Optional[pesakit.TokenSet]:
        raise RuntimeError("the keychain is locked")

    def save(self, key: str, tokens: pesakit.TokenSet) -> None:
        raise OSError("disk full")

    def clear(self, key: str) -> None:
        raise KeyError(key)


class SaveFailsStore(DictStore):
    def save(self, key: str, tokens: pesakit.TokenSet) -> None:
        raise ValueError("cannot write")


class PesakitErrorStore(DictStore):
    def load(self, key: str) -> Optional[pesakit.TokenSet]:
        raise pesakit.PesakitError.TokenStore(
            pesakit.ErrorKind.TOKEN_STORE, "vault sealed", None, None, None, None, None, None
        )


def test_a_second_client_reuses_stored_tokens(sandbox: Sandbox) -> None:
    store = DictStore()
    with make_client(sandbox, token_store=store) as first:
        first.profile()
    key = f"paypack|{sandbox.paypack_url}|{DEFAULT_CLIENT_ID}"
    assert list(store.tokens) == [key]
    with make_client(sandbox, token_store=store) as second:
        second.profile()
        second.list_transactions()

    async def third() -> None:
        async with make_async_client(sandbox, token_store=store) as client:
            await client.profile()

    run(third())
    authorizations = [
        r for r in sandbox.requests()
        if r["method"] == "POST" and r["path"] == "/paypack/api/auth/agents/authorize"
    ]
    assert len(authorizations) == 1
    assert store.loads >= 3


def test_tokens_persist_through_a_json_file(sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    with make_client(sandbox, token_store=JsonFileStore(path)) as client:
        expires = client.authorize()
    stored = json.loads(path.read_text())
    assert len(stored) == 1
    with make_client(sandbox, token_store=JsonFileStore(path)) as client:
        assert client.authorize() == expires
        assert client.profile().name
    assert sandbox.authorize_count() == 1


def test_refreshed_tokens_are_saved(sandbox: Sandbox) -> None:
    store = DictStore()
    with make_client(sandbox, token_store=store) as client:
        client.authorize()
        sandbox.expire_tokens("access")
        client.profile()
    assert len(store.saved) == 2
    assert store.saved[0].access_token() != store.saved[1].access_token()
    assert sandbox.authorize_count() == 1
    assert sandbox.count("GET", "/paypack/api/auth/") == 1  # one refresh


@pytest.mark.parametrize("store", [BrokenStore(), SaveFailsStore(), PesakitErrorStore()], ids=lambda s: type(s).__name__)
def test_a_failing_store_is_a_token_store_error(sandbox: Sandbox, store: pesakit.TokenStore) -> None:
    with make_client(sandbox, token_store=store) as client:
        with pytest.raises(pesakit.PesakitError.TokenStore) as info:
            client.profile()
    e = info.value
    assert e.kind is pesakit.ErrorKind.TOKEN_STORE
    assert str(e) == e.summary and e.summary

    async def main() -> None:
        async with make_async_client(sandbox, token_store=store) as client:
            with pytest.raises(pesakit.PesakitError.TokenStore):
                await client.profile()

    run(main())
    # The process is alive and a healthy client still works.
    with make_client(sandbox) as client:
        assert client.profile().name


def test_token_set_round_trip_and_repr() -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    tokens = pesakit.TokenSet(
        "access-SECRET-1", now + dt.timedelta(minutes=15), refresh_token="refresh-SECRET-2",
        refresh_expires_at=now + dt.timedelta(days=5), obtained_at=now,
    )
    for text in (repr(tokens), str(tokens)):
        assert "SECRET" not in text
        assert "redacted" in text
    again = pesakit.TokenSet.from_json(tokens.to_json())
    assert again.access_token() == "access-SECRET-1"
    assert again.refresh_token() == "refresh-SECRET-2"
    assert again.expires_at() == now + dt.timedelta(minutes=15)
    assert again.refresh_expires_at() == now + dt.timedelta(days=5)
    assert again.obtained_at() == now
    assert "SECRET" not in repr(again)
    with pytest.raises(pesakit.PesakitError.TokenStore):
        pesakit.TokenSet.from_json("not json")


def test_client_repr_shows_no_secret(sandbox: Sandbox) -> None:
    store = DictStore()
    with make_client(sandbox, token_store=store) as client:
        client.authorize()
        [tokens] = store.saved
        for text in (repr(client), str(client), repr(client.as_async())):
            assert "demo-client-secret" not in text
            assert tokens.access_token() not in text
            assert sandbox.paypack_url in text
    verifier = pesakit.PaypackWebhookVerifier("whsec-SECRET")
    assert "SECRET" not in repr(verifier)
