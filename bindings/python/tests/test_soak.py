"""The short version of the FFI soak (scripts/soak runs the long one): the same mix of
calls as ``bindings/python/soak/pesakit_soak.py``, ``SOAK_CALLS`` of them (default
20,000), with no unexpected outcome and the Python TokenStore and Logger really called.
Memory growth is judged by the long run only."""

from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType

from sandbox_helper import Sandbox, repo_root


def load_soak() -> ModuleType:
    path = repo_root() / "bindings" / "python" / "soak" / "pesakit_soak.py"
    spec = importlib.util.spec_from_file_location("pesakit_soak", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["pesakit_soak"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_short_soak_has_no_unexpected_outcome_and_calls_the_callbacks(sandbox: Sandbox) -> None:
    soak = load_soak()
    calls = int(os.environ.get("SOAK_CALLS", "20000"))
    summary = soak.run(sandbox.url, calls)
    print(summary.report())
    assert summary.unexpected == []
    assert summary.calls == calls == sum(summary.outcomes.values())
    for kind in ("http_ok", "http_404", "http_500", "local_error", "webhook_ok", "webhook_bad"):
        assert any(k.startswith(kind + ":") and k.endswith(":sync") for k in summary.outcomes), (kind, summary.outcomes)
    for kind in ("http_ok", "http_404", "http_500", "local_error"):
        assert any(k.startswith(kind + ":") and k.endswith(":async") for k in summary.outcomes), (kind, summary.outcomes)
    # Tokens were expired before every block: the client in use renewed and saved them.
    blocks = -(-calls // soak.BLOCK)
    assert summary.store["save"] >= blocks
    # Every new Paypack client (two per set) loaded from the store once.
    assert summary.store["load"] >= 2 * summary.clients_created
    assert summary.logger["debug"] > calls // 3
