#!/usr/bin/env node
// Per-call load generator for the official JavaScript SDK, paypack-js (npm), pointed at
// the pesakit emulator. Same command line and output as every load generator:
//
//   node loadgen.js --base-url http://127.0.0.1:PORT --op find|cashin --concurrency N \
//     --requests N --warmup N --out FILE [--reference REF] [--client paypack-js]
//
// Pointing it at the emulator. paypack-js 0.2.1 hard-codes its base URL: its
// build/http.js creates one module-level axios instance with
// `baseURL: "https://payments.paypack.rw/api/"`, which every method uses and which the
// package does not export from its entry point. Node caches modules by resolved file, so
// `require("paypack-js/build/http.js")` returns that same instance; this script sets its
// `defaults.baseURL` to `<base-url>/paypack/api/` before the first call. No file under
// node_modules is modified. (The SDK sends the bare token in `Authorization`, without
// `Bearer`; the emulator accepts both, as the gateway does.)
//
// Concurrency N: N async workers on Node's one event loop, each sending its next request
// when its previous one answered, until --requests were sent (a promise pool). The same
// workers run --warmup requests first, unmeasured. Node 20's global HTTP agent, which
// axios uses by default, keeps connections alive. paypack-js sends no idempotency key
// (it has no way to), so a cash-in is its plain call. `find` is the SDK's
// `transaction(ref)`.
//
// Warm-up: the --warmup calls, then rounds of 2,000 until at least 8 seconds have passed
// (the output's `warmup_calls` says how many ran). V8 compiles the call path in tiers, as
// the JVM does; the Kotlin program warms up at least as long (bindings/kotlin/bench).
"use strict";

const WARMUP_MIN_SECONDS = 8;
const WARMUP_ROUND = 2000;

const fs = require("fs");
const path = require("path");
const Paypack = require("paypack-js").default;
const sdkHttp = require("paypack-js/build/http.js");

const CLIENT_ID = "demo-client-id";
const CLIENT_SECRET = "demo-client-secret";

function parseArgs(argv) {
  const args = { client: "paypack-js", concurrency: 1, requests: 1000, warmup: 100 };
  const names = {
    "--client": "client",
    "--base-url": "baseUrl",
    "--op": "op",
    "--concurrency": "concurrency",
    "--requests": "requests",
    "--warmup": "warmup",
    "--out": "out",
    "--reference": "reference",
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = names[argv[i]];
    if (!key || i + 1 >= argv.length) throw new Error(`unknown or incomplete argument: ${argv[i]}`);
    args[key] = argv[i + 1];
  }
  for (const key of ["concurrency", "requests", "warmup"]) args[key] = Number(args[key]);
  if (args.client !== "paypack-js") throw new Error("--client must be paypack-js");
  if (!args.baseUrl) throw new Error("--base-url is required");
  if (args.op !== "find" && args.op !== "cashin") throw new Error("--op must be find or cashin");
  if (!(args.concurrency >= 1 && args.requests >= 1 && args.warmup >= 0)) {
    throw new Error("--concurrency and --requests must be positive, --warmup not negative");
  }
  return args;
}

function percentile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((sorted.length * q) / 100));
  return sorted[rank - 1];
}

async function run(call, total, concurrency, firstError) {
  const latencies = [];
  let next = 0;
  let errors = 0;
  async function worker() {
    while (next++ < total) {
      const start = process.hrtime.bigint();
      try {
        await call();
      } catch (e) {
        errors += 1;
        if (firstError && firstError.error === undefined) firstError.error = e;
      }
      latencies.push(Number(process.hrtime.bigint() - start));
    }
  }
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { latencies, seconds, errors };
}

async function settle(baseUrl, reference) {
  const answer = await fetch(`${baseUrl}/_sandbox/paypack/transactions/${reference}/settle`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ status: "successful" }),
  });
  // 409: the emulator had settled it by itself already.
  if (answer.status !== 200 && answer.status !== 409) {
    throw new Error(`settle answered ${answer.status}: ${await answer.text()}`);
  }
}

// CPU time the emulator's process has used so far (GET /_sandbox/usage), in µs; null
// when it cannot tell.
async function emulatorCpuUs(baseUrl) {
  try {
    const answer = await fetch(`${baseUrl}/_sandbox/usage`);
    if (answer.status !== 200) return null;
    const usage = await answer.json();
    return usage.cpu_user_us + usage.cpu_system_us;
  } catch (e) {
    return null;
  }
}

// CPU time of this process (user and system, every thread), in µs.
function clientCpuUs() {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

function describe(error) {
  if (error instanceof Error) return error.stack || String(error);
  return JSON.stringify(error);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const baseUrl = args.baseUrl.replace(/\/+$/, "");
  sdkHttp.defaults.baseURL = `${baseUrl}/paypack/api/`;
  const paypack = Paypack.config({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET });

  let reference = args.reference;
  if (args.op === "find" && !reference) {
    const created = await paypack.cashin({ amount: 100, number: "0788123456" });
    reference = created.data.ref;
    await settle(baseUrl, reference);
  }
  const call =
    args.op === "find"
      ? () => paypack.transaction(reference)
      : () => paypack.cashin({ amount: 100, number: "0788123456" });

  const warmupStarted = process.hrtime.bigint();
  let warmed = 0;
  if (args.warmup > 0) {
    await run(call, args.warmup, args.concurrency, null);
    warmed += args.warmup;
  }
  while (Number(process.hrtime.bigint() - warmupStarted) / 1e9 < WARMUP_MIN_SECONDS) {
    await run(call, WARMUP_ROUND, args.concurrency, null);
    warmed += WARMUP_ROUND;
  }
  const firstError = {};
  // The emulator's usage is read with fetch (undici), not the SDK's axios agent.
  const emulatorBefore = await emulatorCpuUs(baseUrl);
  const clientBefore = clientCpuUs();
  const { latencies, seconds, errors } = await run(call, args.requests, args.concurrency, firstError);
  const clientCpu = clientCpuUs() - clientBefore;
  const emulatorAfter = await emulatorCpuUs(baseUrl);
  const emulatorCpu =
    emulatorBefore === null || emulatorAfter === null ? null : emulatorAfter - emulatorBefore;
  if (firstError.error !== undefined) {
    process.stderr.write(`paypack-js ${args.op}: ${errors} calls failed; the first: ${describe(firstError.error)}\n`);
  }
  latencies.sort((a, b) => a - b);
  const record = {
    group: "per_call",
    client: "paypack-js",
    op: args.op,
    concurrency: args.concurrency,
    requests: latencies.length,
    seconds: Math.round(seconds * 1e6) / 1e6,
    rps: Math.round((latencies.length / seconds) * 10) / 10,
    p50_us: Math.round(percentile(latencies, 50) / 100) / 10,
    p99_us: Math.round(percentile(latencies, 99) / 100) / 10,
    errors,
    warmup_calls: warmed,
    client_cpu_us: Math.round((clientCpu / latencies.length) * 10) / 10,
    emulator_cpu_us:
      emulatorCpu === null ? null : Math.round((emulatorCpu / latencies.length) * 10) / 10,
  };
  const line = JSON.stringify(record);
  if (args.out) {
    fs.mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true });
    fs.appendFileSync(args.out, line + "\n");
  }
  process.stdout.write(line + "\n");
}

main().catch((e) => {
  process.stderr.write(`loadgen.js: ${describe(e)}\n`);
  process.exit(1);
});
