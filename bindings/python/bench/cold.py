"""Cold start from Python (group ``cold``).

    python cold.py --base-url http://127.0.0.1:PORT [--runs|--repeat 10] --out FILE [--reference REF]

Starts ``--runs`` fresh interpreters (this venv's python, ``-I -S``-free: site-packages
must load). In each, timed inside the child with ``time.perf_counter``:

* ``import_ms``: ``import pesakit`` (loading the native library, the generated module and
  the hand-written package);
* ``first_call_ms``: constructing a ``PaypackClient`` and its first ``find`` — the
  token request and a new connection included.

Medians over the runs, one line ``{"group":"cold","client":"python",…}``. The same is
measured for the hand-written alternatives (clients ``requests``: ``import requests``,
then a ``Session``, authorize and find; ``httpx``: ``import httpx``, then a sync
``httpx.Client``, authorize and find) so the table can compare. The clients take turns
(one interpreter each, then again), so that a change in how busy the machine is during
the runs weighs on every client alike.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

_CHILD = {
    "python": """
import sys, time
t0 = time.perf_counter()
import pesakit
t1 = time.perf_counter()
client = pesakit.PaypackClient({id!r}, {secret!r}, base_url={api!r}, allow_insecure_loopback=True)
client.find({ref!r})
t2 = time.perf_counter()
print((t1 - t0) * 1000, (t2 - t1) * 1000)
""",
    "requests": """
import sys, time
t0 = time.perf_counter()
import requests
t1 = time.perf_counter()
s = requests.Session()
r = s.post({api!r} + "/auth/agents/authorize", json={{"client_id": {id!r}, "client_secret": {secret!r}}})
r.raise_for_status()
r = s.get({api!r} + "/transactions/find/" + {ref!r}, headers={{"Authorization": "Bearer " + r.json()["access"]}})
r.raise_for_status(); r.json()
t2 = time.perf_counter()
print((t1 - t0) * 1000, (t2 - t1) * 1000)
""",
    "httpx": """
import sys, time
t0 = time.perf_counter()
import httpx
t1 = time.perf_counter()
s = httpx.Client()
r = s.post({api!r} + "/auth/agents/authorize", json={{"client_id": {id!r}, "client_secret": {secret!r}}})
r.raise_for_status()
r = s.get({api!r} + "/transactions/find/" + {ref!r}, headers={{"Authorization": "Bearer " + r.json()["access"]}})
r.raise_for_status(); r.json()
t2 = time.perf_counter()
print((t1 - t0) * 1000, (t2 - t1) * 1000)
""",
}


def _run(code: str, env: Dict[str, str], client: str) -> Tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"{client} cold run failed:\n{out.stderr}")
    import_ms, first_ms = map(float, out.stdout.split())
    return import_ms, first_ms


def measure(clients: List[str], api: str, reference: str, runs: int) -> Dict[str, Dict[str, float]]:
    """Each client's medians. The clients take turns, one fresh interpreter each per
    turn, so that a machine getting busier or quieter during the runs weighs on all of
    them alike."""
    codes = {
        client: _CHILD[client].format(
            id=_common.CLIENT_ID, secret=_common.CLIENT_SECRET, api=api, ref=reference
        )
        for client in clients
    }
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="0")
    for client in clients:  # one unmeasured run each warms the page cache and .pyc files
        _run(codes[client], env, client)
    times: Dict[str, List[Tuple[float, float]]] = {client: [] for client in clients}
    for _ in range(runs):
        for client in clients:
            times[client].append(_run(codes[client], env, client))
    return {
        client: {
            "import_ms": round(_common.median([i for i, _ in measured]), 3),
            "first_call_ms": round(_common.median([f for _, f in measured]), 3),
        }
        for client, measured in times.items()
    }


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--runs", "--repeat", dest="runs", type=int, default=10,
                        help="fresh interpreters per client (after one unmeasured)")
    parser.add_argument("--reference")
    parser.add_argument("--out")
    parser.add_argument("--clients", default="python,requests,httpx",
                        help="comma-separated: python, requests, httpx")
    args = parser.parse_args(argv)
    reference = args.reference or _common.settled_reference(args.base_url)
    api = _common.paypack_url(args.base_url)
    clients = args.clients.split(",")
    for client, medians in measure(clients, api, reference, args.runs).items():
        record: Dict[str, object] = {"group": "cold", "client": client}
        record.update(medians)
        _common.emit(args.out, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
