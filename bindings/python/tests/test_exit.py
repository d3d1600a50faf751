"""Interpreter exit right after async calls must never abort the process.

An async call resumes its coroutine from a native worker thread; if the interpreter
shut down while that callback was running, the process used to abort ("FATAL:
exception not rethrown"), about one exit in seven. ``pesakit._shutdown`` counts those
callbacks and waits for them at exit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pesakit
from pesakit import _native, _shutdown

from sandbox_helper import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox

SCRIPT = """
import asyncio
import pesakit

async def main():
    async with pesakit.AsyncPaypackClient.from_env() as client:
        txs = await asyncio.gather(*(client.cashin("1000", "0788123456") for _ in range(3)))
        pages = await asyncio.gather(*(client.list_transactions(limit=5) for _ in range(3)))
        assert all(p.total >= 3 for p in pages), pages
        print(len(txs))

asyncio.run(main())
"""


def test_the_continuation_callback_is_counted() -> None:
    assert _native._uniffi_continuation_callback is _shutdown._counted_continuation


def test_exiting_right_after_async_calls_never_aborts(sandbox: Sandbox, tmp_path: Path) -> None:
    script = tmp_path / "exit.py"
    script.write_text(SCRIPT)
    env = dict(os.environ)
    env.update(
        PAYPACK_CLIENT_ID=DEFAULT_CLIENT_ID,
        PAYPACK_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
        PAYPACK_BASE_URL=sandbox.paypack_url,
        PAYPACK_ALLOW_INSECURE_LOOPBACK="1",
    )
    for attempt in range(20):
        done = subprocess.run(
            [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, f"run {attempt}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        assert done.stdout.strip() == "3"
    assert pesakit.pesakit_version()
