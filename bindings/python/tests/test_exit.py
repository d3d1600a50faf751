"""Interpreter exit must never abort the process, whatever pesakit is doing.

CPython ends a thread that takes the interpreter lock after finalization began, and on
a thread inside pesakit that aborts the process ("FATAL: exception not rethrown"). It
happened when an async call resumed its coroutine from a worker just as the program
ended (about one exit in seven), and at every exit while a daemon thread was in a call
whose logger or token store is Python. ``pesakit._shutdown`` closes the library's gate
to Python at exit (``pesakit_host_closing``) and waits for the calls already inside.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

from pesakit import _native, _shutdown

from conftest import make_client
from sandbox_helper import Sandbox

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


# Daemon threads (or a daemon thread's event loop) keep calling, with a logger and a token
# store written in Python, when the main thread ends the program. Half the workers make a
# new client for every call, so the store is read and written, and clients are dropped,
# while the program exits.
DAEMONS = """
import asyncio, os, sys, threading, time
import pesakit

class Store(pesakit.TokenStore):
    def __init__(self): self.saved = {}
    def load(self, key): return self.saved.get(key)
    def save(self, key, tokens): self.saved[key] = tokens
    def clear(self, key): self.saved.pop(key, None)

lines = []
def log(level, message):
    lines.append(message)
    time.sleep(0)  # hands the interpreter lock over inside the callback

def client(kind):
    return kind.from_env(logger=log, token_store=Store())

ref, mode, workers = os.environ["REF"], os.environ["MODE"], int(os.environ["WORKERS"])
done = [0]

def blocking(fresh):
    shared = client(pesakit.PaypackClient)
    while True:
        assert (client(pesakit.PaypackClient) if fresh else shared).find(ref).reference == ref
        done[0] += 1

async def calls(fresh):
    shared = client(pesakit.AsyncPaypackClient)
    while True:
        found = await (client(pesakit.AsyncPaypackClient) if fresh else shared).find(ref)
        assert found.reference == ref
        done[0] += 1

async def tasks():
    await asyncio.gather(*(calls(i % 2 == 1) for i in range(workers)))

if mode == "blocking":
    for i in range(workers):
        threading.Thread(target=blocking, args=(i % 2 == 1,), daemon=True).start()
else:
    threading.Thread(target=asyncio.run, args=(tasks(),), daemon=True).start()
while done[0] < 40:
    time.sleep(0.001)
assert lines, "the logger was called"
print("exiting")
"""


def exits_cleanly(script: Path, env: Dict[str, str], runs: int, prints: str) -> List[str]:
    """Runs ``script`` ``runs`` times in fresh interpreters; asserts that each exits with
    status 0 having printed ``prints``, and returns their standard errors."""
    errors = []
    for attempt in range(runs):
        done = subprocess.run(
            [sys.executable, str(script)], cwd=script.parent, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, f"run {attempt}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        assert done.stdout.strip() == prints
        errors.append(done.stderr)
    return errors


def test_the_continuation_callback_goes_through_the_library() -> None:
    assert _native._uniffi_continuation_callback is _shutdown._gated_continuation


@pytest.mark.parametrize(
    "mode, workers, speedups",
    [("blocking", 1, "1"), ("blocking", 8, "1"), ("async", 8, "1"), ("async", 8, "0")],
    ids=["one-daemon-thread", "eight-daemon-threads", "daemon-event-loop", "daemon-event-loop-generated-helper"],
)
def test_exiting_while_daemons_are_in_calls_never_aborts(
    sandbox: Sandbox, tmp_path: Path, mode: str, workers: int, speedups: str
) -> None:
    script = tmp_path / "daemons.py"
    script.write_text(DAEMONS)
    with make_client(sandbox) as setup:
        ref = setup.cashin("100", "0788123456").reference
    sandbox.settle(ref)
    env = sandbox.paypack_environment(REF=ref, MODE=mode, WORKERS=str(workers), PESAKIT_PYTHON_SPEEDUPS=speedups)
    for stderr in exits_cleanly(script, env, runs=10, prints="exiting"):
        assert "FATAL" not in stderr, stderr


def test_exiting_right_after_async_calls_never_aborts(sandbox: Sandbox, tmp_path: Path) -> None:
    script = tmp_path / "exit.py"
    script.write_text(SCRIPT)
    exits_cleanly(script, sandbox.paypack_environment(), runs=20, prints="3")
