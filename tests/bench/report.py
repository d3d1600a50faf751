#!/usr/bin/env python3
"""The benchmark report: reads every result file of a ``scripts/bench`` run, takes
medians (and ratios within each round, then their medians), and writes
``docs/benchmarks.md`` and ``docs/benchmarks.png``.

    report.py criterion DIR          criterion's estimates under DIR as JSON lines
    report.py render --results DIR --md FILE --png FILE

The JSON lines are described in ``tests/bench/README.md``. ``render`` needs matplotlib
(``tests/bench/setup-report`` makes a venv with it); ``criterion`` needs only Python.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import statistics
import subprocess
import sys
from collections import defaultdict
from typing import Any, Dict, Iterable, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))

PESAKIT = ["rust", "python-sync", "python-async", "kotlin", "kotlin-async"]
ALTERNATIVES = ["requests", "httpx", "paypack-js"]
CLIENTS = ["floor"] + PESAKIT + ALTERNATIVES
OPS = ["find", "cashin"]
CONCURRENCY = [1, 16, 256]

# Goals of the benchmarks issue.
RUST_VS_FLOOR = 1.3
FOREIGN_VS_FLOOR = 2.0
VS_ALTERNATIVES_C16 = 5.0
LIBRARY_BYTES = 4_000_000


# ---- criterion ----------------------------------------------------------------------


def criterion_lines(directory: str) -> Iterable[Dict[str, Any]]:
    """One contract line per criterion benchmark found under ``directory``."""
    for bench in sorted(glob.glob(os.path.join(directory, "**", "new", "benchmark.json"), recursive=True)):
        meta = json.load(open(bench))
        estimates = json.load(open(os.path.join(os.path.dirname(bench), "estimates.json")))
        ns = estimates["median"]["point_estimate"]
        group, function = meta["group_id"], meta["function_id"]
        if group.startswith("webhook_"):
            size = int(meta["value_str"])
            yield {
                "group": "webhook",
                "client": "rust",
                "scheme": group[len("webhook_"):],
                "body_bytes": size,
                "mb_s": round(size / (ns / 1e9) / 1e6, 1),
                "per_call_us": round(ns / 1e3, 3),
            }
        elif group == "decode_events":
            client = "rust" if function == "typed" else f"rust-{function.replace('_', '-')}"
            yield {
                "group": "decode",
                "client": client,
                "events": 10000,
                "ms": round(ns / 1e6, 3),
                "bytes": (meta.get("throughput") or {}).get("Bytes"),
            }


# ---- reading ------------------------------------------------------------------------


def read_lines(path: str) -> List[Dict[str, Any]]:
    lines = []
    with open(path) as f:
        for raw in f:
            raw = raw.strip()
            if raw.startswith("{"):
                try:
                    lines.append(json.loads(raw))
                except json.JSONDecodeError:
                    pass
    return lines


def median(values: Iterable[float]) -> Optional[float]:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def jit_warmup_text(r: "Results") -> str:
    """How the JIT-compiled clients warmed up in this run (empty if the run does not say)."""
    least = r.meta.get("jit_warmup")
    if not least:
        return ""

    def warmed(prefix: str) -> str:
        calls = [
            line["warmup_calls"]
            for (client, _, _), rounds in r.per_call.items()
            if client.startswith(prefix)
            for line in rounds.values()
            if "warmup_calls" in line
        ]
        return f"{fmt(min(calls), 0)}–{fmt(max(calls), 0)}" if calls else "?"

    return (
        "; the JIT-compiled clients (`paypack-js` on Node, `kotlin` and `kotlin-async` on "
        f"the JVM) warm up with at least {fmt(least, 0)} calls and for at least 8 seconds, "
        "and the Kotlin program then goes on until its JIT is quiet (warm-up calls in this "
        f"run: paypack-js {warmed('paypack-js')}, Kotlin {warmed('kotlin')})"
    )


class Results:
    def __init__(self, directory: str):
        self.meta: Dict[str, Any] = {}
        meta_path = os.path.join(directory, "meta.json")
        if os.path.exists(meta_path):
            self.meta = json.load(open(meta_path))
        # per_call[(client, op, c)] = {round: line}
        self.per_call: Dict[Tuple[str, str, int], Dict[int, Dict[str, Any]]] = defaultdict(dict)
        self.other: List[Dict[str, Any]] = []
        for path in sorted(glob.glob(os.path.join(directory, "per_call-round*.jsonl"))):
            round_no = int(os.path.basename(path)[len("per_call-round"):-len(".jsonl")])
            for line in read_lines(path):
                if line.get("group") == "per_call":
                    key = (line["client"], line["op"], int(line["concurrency"]))
                    self.per_call[key][round_no] = line
        other = os.path.join(directory, "other.jsonl")
        if os.path.exists(other):
            self.other = read_lines(other)

    def group(self, name: str) -> List[Dict[str, Any]]:
        return [line for line in self.other if line.get("group") == name]

    def stat(self, client: str, op: str, c: int, field: str) -> Optional[float]:
        return median(line.get(field) for line in self.per_call.get((client, op, c), {}).values())

    def errors(self, client: str, op: str, c: int) -> int:
        return sum(int(line.get("errors", 0)) for line in self.per_call.get((client, op, c), {}).values())

    def ratio(self, a: str, b: str, op: str, c: int, field: str) -> Optional[float]:
        """Median over rounds of a's field / b's field, both from the same round."""
        ra, rb = self.per_call.get((a, op, c), {}), self.per_call.get((b, op, c), {})
        ratios = []
        for round_no in ra.keys() & rb.keys():
            x, y = ra[round_no].get(field), rb[round_no].get(field)
            if x and y:
                ratios.append(x / y)
        return median(ratios)

    def clients(self) -> List[str]:
        present = {client for client, _, _ in self.per_call}
        return [c for c in CLIENTS if c in present] + sorted(present - set(CLIENTS))


# ---- formatting ---------------------------------------------------------------------


def fmt(value: Optional[float], digits: int = 0, suffix: str = "") -> str:
    if value is None:
        return "–"
    if digits == 0:
        return f"{value:,.0f}{suffix}"
    return f"{value:,.{digits}f}{suffix}"


def times(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.2f}×"


def table(header: List[str], rows: List[List[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out)


def cores(r: "Results") -> int:
    """The logical cores of the machine the run was made on (`meta.json`; runs written
    before it recorded them: this machine's)."""
    return int(r.meta.get("cores") or os.cpu_count() or 1)


def machine(r: "Results") -> List[str]:
    def run(*cmd: str) -> str:
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
            return (done.stdout or done.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "not found"

    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return [
        f"- CPU: {cpu}, {cores(r)} logical cores; memory {memory}",
        f"- OS: {platform.system()} {platform.release()} ({platform.machine()})",
        f"- Load average when the report was written: {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- Tools: {run('rustc', '--version')}; Python {platform.python_version()}; "
        f"Node {run('node', '--version')}; {run('java', '-version')}",
    ]


# ---- the report ---------------------------------------------------------------------


def per_call_section(r: Results) -> List[str]:
    out = [
        "## Per call",
        "",
        "Medians over rounds. `p50`/`p99`: latency of one call in µs, queueing in the client "
        "included. `req/s`: calls answered per second over the whole measured run. "
        "`p50 ÷ floor` and `floor req/s ÷ req/s`: how many times the floor's cost a call takes "
        "(1.00 = as fast as the floor; lower is better). `× requests` etc.: this client's req/s "
        "divided by that alternative's (higher is better). Ratios are taken within each round, "
        "then their median.",
        "",
    ]
    clients = r.clients()
    alternatives = [a for a in ALTERNATIVES if a in clients]
    for op in OPS:
        for c in CONCURRENCY:
            if not any((client, op, c) in r.per_call for client in clients):
                continue
            header = ["client", "p50 µs", "p99 µs", "req/s", "p50 ÷ floor", "floor req/s ÷ req/s"]
            header += [f"× {a}" for a in alternatives] + ["errors"]
            rows = []
            for client in clients:
                if (client, op, c) not in r.per_call:
                    continue
                row = [
                    f"**{client}**" if client in PESAKIT else client,
                    fmt(r.stat(client, op, c, "p50_us")),
                    fmt(r.stat(client, op, c, "p99_us")),
                    fmt(r.stat(client, op, c, "rps")),
                    times(r.ratio(client, "floor", op, c, "p50_us")),
                    times(r.ratio("floor", client, op, c, "rps")),
                ]
                row += ["" if a == client else times(r.ratio(client, a, op, c, "rps")) for a in alternatives]
                row.append(str(r.errors(client, op, c)))
                rows.append(row)
            out += [f"### `{op}`, concurrency {c}", "", table(header, rows), ""]
    return out


def cpu_section(r: Results) -> List[str]:
    """CPU time per call of each client and of the emulator, and what each goal at
    concurrency 16 leaves a client to spend."""
    clients = r.clients()
    measured = [(client, op, c) for client in clients for op in OPS for c in CONCURRENCY
                if r.stat(client, op, c, "client_cpu_us") is not None]
    if not measured:
        return []
    n_cores = cores(r)

    def name(client: str) -> str:
        return f"**{client}**" if client in PESAKIT else client

    out = [
        "## Where the time goes: CPU per call",
        "",
        "Each load generator reads the CPU time of its own process (user and system, every "
        "thread: pesakit's Rust threads, the JVM's compiler and collector, Node's helpers) and "
        "the emulator's (`GET /_sandbox/usage`) just before and just after its measured calls; "
        "the tables give those differences divided by the calls, in µs, medians over rounds.",
        "",
    ]
    columns = [(op, c) for op in OPS for c in CONCURRENCY]
    for field, title in [("client_cpu_us", "Client CPU per call, µs"),
                         ("emulator_cpu_us", "Emulator CPU per call, µs (serving that client)")]:
        rows = [[name(client)] + [fmt(r.stat(client, op, c, field), 1) for op, c in columns]
                for client in clients]
        out += [f"### {title}", "", table(["client"] + [f"{op} c={c}" for op, c in columns], rows), ""]
    out += [
        "### What the goals at concurrency 16 leave a client to spend",
        "",
        f"Client and emulator share this machine's {n_cores} cores, and at concurrency 16 the "
        "clients keep them busy, so a client cannot answer more than "
        f"`{n_cores} cores ÷ (client CPU + emulator CPU)` calls per second (the ceiling). The last "
        "two columns turn each goal into the client CPU per call it allows: "
        f"`{n_cores} cores ÷ the goal's req/s − the emulator's CPU per call`. A client that "
        "spends more than that cannot meet the goal on this machine, however its work is "
        "scheduled. One that reaches less than its ceiling loses the rest waiting (for a "
        "thread to wake, for the interpreter lock: Python's own work runs one thread at a "
        "time).",
        "",
    ]
    for op in OPS:
        floor_rps = r.stat("floor", op, 16, "rps")
        alternative_rps = [(r.stat(a, op, 16, "rps"), a) for a in ALTERNATIVES if (a, op, 16) in r.per_call]
        fastest = max(((rps, a) for rps, a in alternative_rps if rps), default=None)
        header = ["client", "req/s", "client CPU µs", "emulator CPU µs", "ceiling req/s",
                  "req/s ÷ ceiling", "allowed by the floor goal, µs"]
        if fastest:
            header.append(f"allowed by {VS_ALTERNATIVES_C16:g}× {fastest[1]} "
                          f"({fmt(VS_ALTERNATIVES_C16 * fastest[0])} req/s), µs")
        rows = []
        for client in ["floor"] + PESAKIT:
            rps = r.stat(client, op, 16, "rps")
            client_cpu = r.stat(client, op, 16, "client_cpu_us")
            emulator_cpu = r.stat(client, op, 16, "emulator_cpu_us")
            if rps is None or client_cpu is None or emulator_cpu is None:
                continue
            ceiling = n_cores * 1e6 / (client_cpu + emulator_cpu)

            def allowed(goal_rps: Optional[float]) -> str:
                if not goal_rps:
                    return "–"
                budget = n_cores * 1e6 / goal_rps - emulator_cpu
                return fmt(budget, 1) if budget > 0 else "none"

            limit = RUST_VS_FLOOR if client == "rust" else FOREIGN_VS_FLOOR
            row = [name(client), fmt(rps), fmt(client_cpu, 1), fmt(emulator_cpu, 1), fmt(ceiling),
                   times(rps / ceiling),
                   "" if client == "floor" or not floor_rps else allowed(floor_rps / limit)]
            if fastest:
                row.append("" if client == "floor" else allowed(VS_ALTERNATIVES_C16 * fastest[0]))
            rows.append(row)
        if rows:
            out += [f"#### `{op}`, concurrency 16", "", table(header, rows), ""]
    return out


def decode_section(r: Results) -> List[str]:
    lines = r.group("decode")
    if not lines:
        return ["## Decoding a 10,000-event page", "", "No results.", ""]
    by_client: Dict[str, List[Dict[str, Any]]] = defaultdict(list)
    for line in lines:
        by_client[line["client"]].append(line)
    ms = {client: median(l.get("ms") for l in ls) for client, ls in by_client.items()}
    baseline = ms.get("python-json-dataclasses")
    # What python-pesakit (HTTP included) is compared with: fetching the bytes plus
    # decoding them by hand, the sum of the two medians.
    by_hand = "python-http-bytes + json-dataclasses"
    if baseline and ms.get("python-http-bytes"):
        ms[by_hand] = ms["python-http-bytes"] + baseline
        by_client[by_hand] = by_client["python-json-dataclasses"]
    rows = []
    for client, value in ms.items():
        events = by_client[client][0].get("events", "")
        rows.append([
            client,
            str(events),
            fmt(value, 1),
            times(value / ms["rust"]) if ms.get("rust") and value else "–",
            times(value / baseline) if baseline and value else "–",
            times(value / ms[by_hand]) if ms.get(by_hand) and value else "–",
        ])
    return [
        "## Decoding a 10,000-event page",
        "",
        "The emulator's answer to `GET /events/transactions?limit=10000` after seeding 5,000 "
        "settled cash-ins, decoded into typed objects. `rust`: `EventPage::from_json` "
        "(criterion median), the path `Client::list_events` takes; `rust-serde-json-value` "
        "decodes the same bytes into an untyped `serde_json::Value`, for reference. The "
        "foreign rows are as their programs define them (`bindings/python/bench/decode.py`: "
        "`python-pesakit` is the whole `list_events` call, HTTP included; "
        "`python-json-dataclasses` decodes already-fetched bytes; `python-http-bytes` is the "
        "fetch alone; `python-http-bytes + json-dataclasses` is the sum of those two medians, "
        "the hand-written path `python-pesakit` is compared with in the last column). The "
        "Python package receives this page in column form (ADR 0010).",
        "",
        table(["client", "events", "ms", "÷ rust", "÷ json+dataclasses", "÷ fetch+decode"], rows),
        "",
    ]


def webhook_section(r: Results) -> List[str]:
    groups: Dict[Tuple[str, str, int], List[Dict[str, Any]]] = defaultdict(list)
    for line in r.group("webhook"):
        groups[(line["client"], line.get("scheme", "paypack"), int(line.get("body_bytes", 0)))].append(line)
    rows = [
        [client, scheme, f"{size:,}", fmt(median(l.get("mb_s") for l in ls), 1),
         fmt(median(l.get("per_call_us") for l in ls), 2)]
        for (client, scheme, size), ls in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0]))
    ]
    return [
        "## Webhook verification",
        "",
        "HMAC-SHA256 over the raw body, compared in constant time. `rust`: criterion medians "
        "of `WebhookVerifier::verify` (Paypack) and `verify_at` (checkout, timestamp included "
        "in the MAC). Foreign rows: the call from that language (see its program): "
        "`python` and `kotlin` are `verify_and_parse` (the check, then a typed `Event`); "
        "`python-stdlib-typed` is the hand-written equivalent (`hmac` + `base64` + "
        "`compare_digest`, then `json.loads` into dataclasses with `Decimal` and "
        "`datetime` fields), `python-stdlib` the same check then `json.loads` into a dict; "
        "`python-verify` and `python-stdlib-verify` are the check alone. MB = 10^6 bytes.",
        "",
        table(["client", "scheme", "body bytes", "MB/s", "µs per call"], rows) if rows else "No results.",
        "",
    ]


def cold_size_memory_section(r: Results) -> List[str]:
    out = ["## Cold start", "",
           "Fresh Python interpreters (`bindings/python/bench/cold.py`), the clients taking "
           "turns, medians: `import` of the package (`pesakit`, `requests`, `httpx`), then the "
           "first call: constructing the client, its token request and a first `find`, over a "
           "new connection.", ""]
    cold = r.group("cold")
    if cold:
        by: Dict[str, List[Dict[str, Any]]] = defaultdict(list)
        for line in cold:
            by[line["client"]].append(line)
        out.append(table(["client", "import ms", "first call ms"], [
            [c, fmt(median(l.get("import_ms") for l in ls), 1), fmt(median(l.get("first_call_ms") for l in ls), 1)]
            for c, ls in by.items()
        ]))
    else:
        out.append("No results.")
    out += ["", "## Library size", "",
            "`libpesakit_ffi.so`, stripped (`strip --strip-unneeded`) as it ships in the wheel and the jar.",
            ""]
    sizes = r.group("size")
    rows = []
    for line in sizes:
        name = line["profile"]
        if name == "shipped":
            name = f"shipped by `scripts/build` (profile `{line.get('shipped_profile', '?')}`)"
        rows.append([name, f"{line['lib_bytes']:,}", f"{line['lib_bytes'] / 1e6:.2f} MB"])
    out += [table(["profile", "bytes", "size"], rows) if rows else "No results.", ""]
    out += ["## Memory", "",
            "Resident memory (RSS) of a process holding one ready client (authorized, one call "
            "made), and its peak while that client runs the measured calls (see the `op` and "
            "concurrency columns).", ""]
    memory = r.group("memory")
    if memory:
        out.append(table(["client", "op", "concurrency", "idle RSS KiB", "under load RSS KiB"], [
            [l["client"], str(l.get("op", "")), str(l.get("concurrency", "")),
             fmt(l.get("idle_rss_kb")), fmt(l.get("load_rss_kb"))]
            for l in memory
        ]))
    else:
        out.append("No results.")
    out.append("")
    return out


def goals_section(r: Results) -> List[str]:
    rows = []

    def verdict(ok: Optional[bool]) -> str:
        return "–" if ok is None else ("met" if ok else "**not met**")

    def worst_vs_floor(client: str) -> Optional[Tuple[float, str]]:
        worst = None
        for op in OPS:
            for c in CONCURRENCY:
                for value in (r.ratio(client, "floor", op, c, "p50_us"), r.ratio("floor", client, op, c, "rps")):
                    if value is not None and (worst is None or value > worst[0]):
                        worst = (value, f"{op} c={c}")
        return worst

    for client, limit in [("rust", RUST_VS_FLOOR), ("python-sync", FOREIGN_VS_FLOOR),
                          ("python-async", FOREIGN_VS_FLOOR), ("kotlin", FOREIGN_VS_FLOOR),
                          ("kotlin-async", FOREIGN_VS_FLOOR)]:
        worst = worst_vs_floor(client)
        rows.append([
            f"{client} per call within {limit}× the floor (p50 and req/s, every op and concurrency)",
            "–" if worst is None else f"worst {worst[0]:.2f}× ({worst[1]})",
            verdict(None if worst is None else worst[0] <= limit),
        ])
    for client in PESAKIT:
        lowest = None
        for alternative in ALTERNATIVES:
            for op in OPS:
                value = r.ratio(client, alternative, op, 16, "rps")
                if value is not None and (lowest is None or value < lowest[0]):
                    lowest = (value, f"{alternative}, {op}")
        rows.append([
            f"{client}: ≥ {VS_ALTERNATIVES_C16:g}× the req/s of every alternative at concurrency 16",
            "–" if lowest is None else f"lowest {lowest[0]:.2f}× ({lowest[1]})",
            verdict(None if lowest is None else lowest[0] >= VS_ALTERNATIVES_C16),
        ])
    decode = defaultdict(list)
    for line in r.group("decode"):
        decode[line["client"]].append(line.get("ms"))
    pesakit_ms = median(decode.get("python-pesakit", []))
    json_ms = median(decode.get("python-json-dataclasses", []))
    http_ms = median(decode.get("python-http-bytes", []))
    if pesakit_ms and json_ms:
        hand = json_ms + (http_ms or 0)
        what = "fetch + json.loads + dataclasses" if http_ms else "json.loads + dataclasses"
        rows.append(["10,000-event page reaches Python no slower than json.loads + dataclasses",
                     f"pesakit {pesakit_ms:.1f} ms vs {what} {hand:.1f} ms", verdict(pesakit_ms <= hand)])
    else:
        rows.append(["10,000-event page reaches Python no slower than json.loads + dataclasses", "–", "–"])
    shipped = [l for l in r.group("size") if l["profile"] == "shipped"]
    if shipped:
        size = shipped[0]["lib_bytes"]
        rows.append([f"shipped library ≤ {LIBRARY_BYTES / 1e6:g} MB stripped", f"{size / 1e6:.2f} MB",
                     verdict(size <= LIBRARY_BYTES)])
    return ["## Goals", "", table(["goal", "measured", "verdict"], rows), ""]


def problems_section(r: Results) -> List[str]:
    missing = r.group("missing")
    failed = r.group("failed")
    if not missing and not failed:
        return []
    out = ["## Missing or failed", ""]
    out += [f"- missing: {l['what']} (`{l['path']}` not found)" for l in missing]
    out += [f"- failed: {l['what']}" for l in failed]
    return out + [""]


def chart(r: Results, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clients = r.clients()
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    width = 0.38
    xs = range(len(clients))
    for ax, (c, field, title, unit) in zip(axes, [
        (16, "rps", "Throughput at concurrency 16", "requests per second"),
        (1, "p50_us", "Latency p50, sequential (concurrency 1)", "µs per call (lower is better)"),
    ]):
        for i, op in enumerate(OPS):
            values = [r.stat(client, op, c, field) or 0 for client in clients]
            bars = ax.bar([x + (i - 0.5) * width for x in xs], values, width, label=op)
            ax.bar_label(bars, labels=[f"{v:,.0f}" if v else "" for v in values], fontsize=7, rotation=90, padding=2)
        ax.set_xticks(list(xs))
        ax.set_xticklabels(clients, rotation=30, ha="right")
        ax.set_title(title)
        ax.set_ylabel(unit)
        ax.margins(y=0.2)
        ax.legend()
    quick = " (quick run)" if r.meta.get("quick") else ""
    fig.suptitle(f"pesakit vs the floor and the alternatives, against the emulator on loopback{quick}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def render(results_dir: str, md_path: str, png_path: str) -> None:
    r = Results(results_dir)
    meta = r.meta
    quick = meta.get("quick")
    requests = meta.get("requests", {})
    out = [
        "# Benchmarks",
        "",
        "Written by `scripts/bench` (do not edit by hand); the chart is "
        f"[`{os.path.basename(png_path)}`]({os.path.basename(png_path)}).",
        "",
        f"![throughput and latency per client]({os.path.basename(png_path)})",
        "",
        f"- Run: {meta.get('started_at', '?')}, `{meta.get('command', 'scripts/bench')}`, "
        f"{meta.get('seconds', '?')} s; {meta.get('repeat', '?')} rounds"
        f"{' (QUICK: fewer requests and rounds, for checking only)' if quick else ''}.",
        f"- Requests measured per run: {requests.get('1', '?')} at concurrency 1, "
        f"{requests.get('16', '?')} at 16, {requests.get('256', '?')} at 256, after a warm-up of "
        f"a tenth as many (at least two per connection, and at least 300){jit_warmup_text(r)}.",
        "- The emulator (a release build of `pesakit-sandbox`, manual settling, fresh for each "
        "round) runs on the same machine and **shares its cores with the client under test**: "
        "a client that spends less CPU leaves more to the emulator, so throughput at concurrency "
        "16 and 256 measures client CPU cost as much as anything.",
        "- Machines shared with other work are noisy: compare ratios measured in the same round "
        "rather than absolute numbers across runs.",
        "",
        "Machine:",
        "",
        *machine(r),
        "",
        "Clients: `floor` is a bare `reqwest` client (the HTTP stack pesakit uses, built with "
        "the same settings: keep-alive pool, `TCP_NODELAY`, no redirects, rustls on ring) sending "
        "the same requests and reading the body, with no SDK around it (token fetched once). "
        "**Bold** rows are pesakit: `rust` (`pesakit::paypack::Client`), `python-sync`, "
        "`python-async`, `kotlin` (blocking), `kotlin-async` (coroutines). Alternatives: "
        "hand-written Python clients on `requests` and "
        "`httpx`, and the official JavaScript SDK `paypack-js`. All clients share one client "
        "object between their concurrent tasks (see each load generator for details). `find` "
        "looks up a settled transaction; `cashin` asks for 100 RWF from 0788123456 with a fresh "
        "idempotency key (where the client can send one).",
        "",
    ]
    out += goals_section(r)
    out += per_call_section(r)
    out += cpu_section(r)
    out += decode_section(r)
    out += webhook_section(r)
    out += cold_size_memory_section(r)
    out += problems_section(r)
    tuning = os.path.join(HERE, "TUNING.md")
    if os.path.exists(tuning):
        out += [open(tuning).read().rstrip(), ""]
    with open(md_path, "w") as f:
        f.write("\n".join(out))
    chart(r, png_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    crit = sub.add_parser("criterion", help="criterion estimates as JSON lines")
    crit.add_argument("directory")
    rend = sub.add_parser("render", help="write the Markdown report and the chart")
    rend.add_argument("--results", required=True)
    rend.add_argument("--md", required=True)
    rend.add_argument("--png", required=True)
    args = parser.parse_args()
    if args.command == "criterion":
        for line in criterion_lines(args.directory):
            print(json.dumps(line))
    else:
        render(args.results, args.md, args.png)


if __name__ == "__main__":
    main()
