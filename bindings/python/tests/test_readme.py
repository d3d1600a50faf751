"""Every ```python block of the READMEs runs against the emulator, so none can rot.

Blocks come from bindings/python/README.md and the repository's README.md. Each runs
alone, in a fresh interpreter, outside the source tree, with the emulator configured
through the environment that ``from_env()`` reads (and, for Paga Connect, which has no
``from_env()``, ``PAGA_CLIENT_ID``, ``PAGA_CLIENT_SECRET`` and ``PAGA_BASE_URL``, which
the README's block reads itself).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

from sandbox_helper import (
    CHECKOUT_CLIENT_ID,
    CHECKOUT_TOKEN,
    CHECKOUT_WEBHOOK_SECRET,
    DEFAULT_CLIENT_SECRET,
    PAGA_CLIENT_ID,
    PAGA_CLIENT_SECRET,
    Sandbox,
    repo_root,
)

READMES = [Path("bindings/python/README.md"), Path("README.md")]
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks() -> List[Tuple[str, str]]:
    found = []
    for relative in READMES:
        path = repo_root() / relative
        if not path.exists():
            continue
        for i, match in enumerate(BLOCK.finditer(path.read_text()), start=1):
            line = path.read_text()[: match.start()].count("\n") + 1
            found.append((f"{relative}:{line}#{i}", match.group(1)))
    return found


BLOCKS = blocks()


def test_the_python_readme_has_sync_and_async_quickstarts() -> None:
    ours = [code for name, code in BLOCKS if name.startswith("bindings/python/README.md")]
    assert any("PaypackClient.from_env()" in code for code in ours)
    assert any("AsyncPaypackClient.from_env()" in code and "asyncio.run" in code for code in ours)
    assert any(
        "CheckoutClient.from_env()" in code and "create_checkout" in code and "get_payment" in code
        and "webhook_verifier()" in code and "verify_and_parse" in code
        for code in ours
    )
    assert any(
        "PagaClient(" in code and "authorization_url" in code and "handle_callback" in code
        and "merchant_payment" in code
        for code in ours
    )


@pytest.fixture
def settling_sandbox() -> Iterator[Sandbox]:
    """An emulator that settles transactions by itself, as the real gateway does."""
    box = Sandbox(settle_after_ms=200)
    try:
        yield box
    finally:
        box.close()


@pytest.mark.parametrize("name, code", BLOCKS, ids=[name for name, _ in BLOCKS])
def test_readme_block(name: str, code: str, settling_sandbox: Sandbox, tmp_path: Path) -> None:
    script = tmp_path / "snippet.py"
    script.write_text(code)
    env = settling_sandbox.paypack_environment(
        PAYMENT_BASE_URL=settling_sandbox.checkout_url,
        PAYMENT_CLIENT_ID=CHECKOUT_CLIENT_ID,
        PAYMENT_CLIENT_TOKEN=CHECKOUT_TOKEN,
        WEBHOOK_SECRET=CHECKOUT_WEBHOOK_SECRET,
        PAYMENT_ALLOW_INSECURE_LOOPBACK="1",
        PAGA_CLIENT_ID=PAGA_CLIENT_ID,
        PAGA_CLIENT_SECRET=PAGA_CLIENT_SECRET,
        PAGA_BASE_URL=settling_sandbox.paga_url,
    )
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, f"{name} failed:\n{code}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    for secret in (DEFAULT_CLIENT_SECRET, CHECKOUT_TOKEN, CHECKOUT_WEBHOOK_SECRET, PAGA_CLIENT_SECRET):
        assert secret not in done.stdout + done.stderr
