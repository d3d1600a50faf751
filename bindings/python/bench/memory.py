"""Memory from Python (group ``memory``).

    python memory.py --base-url http://127.0.0.1:PORT [--client python|requests|httpx]
        [--requests 5000] [--concurrency 16] --out FILE

In a fresh process of its own (so nothing else measured shares its heap):

* ``idle_rss_kb``: resident set size (``VmRSS``) once the client is built, authorized and
  has answered one ``find`` (its pool holds a connection), then sits idle;
* ``load_rss_kb``: the peak resident set (``VmHWM``) after ``--requests`` ``find`` calls
  at ``--concurrency`` (threads sharing one client, as in ``loadgen.py``; the httpx
  alternative uses asyncio tasks).

Also printed on stderr: the bare interpreter's RSS before the import, for reference.
One line ``{"group":"memory","client":…,"idle_rss_kb":N,"load_rss_kb":M}``.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from typing import List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--client", default="python", choices=("python", "requests", "httpx"))
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--reference")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    reference = args.reference or _common.settled_reference(args.base_url)
    bare_kb = _common.rss_kb()

    import loadgen

    gen_args = loadgen.parse_args([
        "--client", {"python": "python-sync"}.get(args.client, args.client),
        "--base-url", args.base_url, "--op", "find", "--concurrency", str(args.concurrency),
        "--requests", str(args.requests), "--warmup", "0",
    ])
    idle: List[int] = []
    if args.client == "python":
        import pesakit

        client = pesakit.PaypackClient(
            _common.CLIENT_ID, _common.CLIENT_SECRET,
            base_url=_common.paypack_url(args.base_url), allow_insecure_loopback=True,
        )
        client.find(reference)
        gc.collect()
        idle.append(_common.rss_kb())
        del client  # loadgen builds its own, as in the per-call runs
    else:
        # The alternatives: one call through the same load generator, then idle.
        one = loadgen.parse_args([
            "--client", args.client, "--base-url", args.base_url, "--op", "find",
            "--requests", "1", "--warmup", "0",
        ])
        loadgen.measure(one, reference)
        gc.collect()
        idle.append(_common.rss_kb())
    (_, _, errors), _ = loadgen.measure(gen_args, reference)
    if errors:
        raise SystemExit(f"{errors} calls failed under load")
    record = {
        "group": "memory",
        "client": args.client,
        "idle_rss_kb": idle[0],
        "load_rss_kb": _common.rss_kb("VmHWM"),
    }
    _common.log(f"memory {args.client}: bare interpreter {bare_kb} KiB before any import")
    _common.emit(args.out, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
