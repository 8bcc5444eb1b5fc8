// graphile-worker side of `scheduler-bench --compare graphile`: the same two phases as the
// Rust bench, run against graphile-worker with the settings its performance page recommends
// (https://worker.graphile.org/docs/performance: concurrentJobs 24, maxPoolSize 25,
// localQueue.size 500, completeJobBatchDelay 0, failJobBatchDelay 0), in forked worker
// processes because one Node process uses one core.
//
//   node bench.mjs --connection postgres://… --jobs 100000 [--processes 2] [--concurrency 24]
//                  [--local-queue 500] [--latency-rate 100] [--latency-secs 5]
//
// Phases:
//   drain   N no-op jobs enqueued up front with addJobs (chunks of 5,000, as the Rust bench's
//           enqueue_many), VACUUM ANALYZE, then the worker processes (already forked and with
//           graphile-worker loaded) are told to call run(); timed from the first worker pool's
//           creation (run() has connected and checked the schema by then, as the Rust runner
//           starts on a connected pool) until every job row is gone from the table (graphile
//           deletes a job when its completion commits).
//   latency worker processes idle and listening; one producer calls addJob at a steady rate;
//           each sample runs from just before the addJob call until the task function starts.
//           Both ends read CLOCK_MONOTONIC (process.hrtime), which is system-wide on Linux, so
//           timestamps from different processes compare directly.
//
// The last stdout line is machine-readable:
//   graphile drain_jobs_per_s=… p50_ms=… p99_ms=…

import { fork } from "node:child_process";
import { EventEmitter } from "node:events";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Logger, makeWorkerUtils, run } from "graphile-worker";

const TASK = "noop";
const ENQUEUE_CHUNK = 5000;
const JOBS_TABLE = "graphile_worker._private_jobs";

const { values: opts } = parseArgs({
  options: {
    connection: { type: "string", default: process.env.DATABASE_URL ?? "" },
    jobs: { type: "string", default: "100000" },
    processes: { type: "string", default: "2" },
    concurrency: { type: "string", default: "24" },
    "local-queue": { type: "string", default: "500" },
    "latency-rate": { type: "string", default: "100" },
    "latency-secs": { type: "string", default: "5" },
    child: { type: "string" },
  },
  strict: true,
});

function positiveInt(name) {
  const text = opts[name];
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) {
    throw new Error(`--${name} must be a positive integer, got '${text}'`);
  }
  return n;
}

// Microseconds on the system-wide monotonic clock (exact in a double for centuries).
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

// Only warnings and errors reach stderr; graphile's per-job info lines would cost CPU that the
// Rust side (tracing off) does not spend.
const logger = new Logger(() => (level, message) => {
  if (level === "error" || level === "warning") {
    console.error(`graphile-worker ${level}: ${message}`);
  }
});

function workerPreset(connectionString) {
  const concurrentJobs = positiveInt("concurrency");
  return {
    worker: {
      connectionString,
      concurrentJobs,
      // The performance page's pool: one connection per job slot plus one.
      maxPoolSize: concurrentJobs + 1,
      localQueue: { size: positiveInt("local-queue") },
      completeJobBatchDelay: 0,
      failJobBatchDelay: 0,
      logger,
    },
  };
}

// ---------------------------------------------------------------- worker process

async function child(phase, connectionString) {
  const send = (msg) => process.send(msg);
  let completed = 0;
  let reported = 0;
  const task =
    phase === "drain"
      ? async () => {
          completed += 1;
        }
      : async (payload) => {
          const startedUs = nowUs();
          send({ latencyUs: startedUs - payload.t });
        };
  let runner = null;
  let ticker = null;
  process.on("message", async (msg) => {
    try {
      if (msg.cmd === "start") {
        // Our own emitter, handed to run(), so no event fired while run() starts is missed.
        const events = new EventEmitter();
        let listening = false;
        let fetched = false;
        let readySent = false;
        const readyIfBoth = () => {
          if (listening && fetched && !readySent) {
            readySent = true;
            send({ ready: true });
          }
        };
        // The worker pool exists and its local queue is about to fetch: the point that matches
        // the start of the Rust bench's timing (a connected pool, a migrated schema).
        events.on("pool:create", () => send({ poolCreatedUs: nowUs() }));
        events.on("pool:listen:success", () => {
          listening = true;
          readyIfBoth();
        });
        events.on("localQueue:getJobs:complete", () => {
          fetched = true;
          readyIfBoth();
        });
        const preset = workerPreset(connectionString);
        preset.worker.events = events;
        runner = await run({
          preset,
          taskList: { [TASK]: task },
          crontab: "",
          noHandleSignals: true,
        });
        if (phase === "drain") {
          // Cumulative count, at most every 5 ms: one IPC message per job would cost more than
          // the job itself.
          ticker = setInterval(() => {
            if (completed !== reported) {
              reported = completed;
              send({ completed });
            }
          }, 5);
        }
      } else if (msg.cmd === "stop") {
        if (ticker) clearInterval(ticker);
        if (runner) await runner.stop();
        send({ stopped: true, completed });
        process.disconnect();
      }
    } catch (err) {
      console.error(`graphile worker process (${phase}): ${err.stack ?? err}`);
      process.exit(1);
    }
  });
  send({ loaded: true });
}

// ---------------------------------------------------------------- coordinator

class Workers {
  constructor(phase, connectionString, count, onMessage) {
    this.children = [];
    this.exited = new Promise((_, reject) => {
      this.failExit = reject;
    });
    this.exited.catch(() => {});
    this.stopping = false;
    for (let i = 0; i < count; i += 1) {
      const proc = fork(fileURLToPath(import.meta.url), ["--child", phase], {
        env: { ...process.env, GRAPHILE_BENCH_URL: connectionString },
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      const state = { proc, msgs: [] };
      proc.on("message", (msg) => {
        state.msgs.push(msg);
        onMessage(i, msg);
      });
      proc.on("exit", (code, signal) => {
        state.exit = { code, signal };
        if (!this.stopping || code !== 0) {
          this.failExit(
            new Error(`graphile worker process ${i} exited (code ${code}, signal ${signal})`),
          );
        }
      });
      this.children.push(state);
    }
  }

  // Resolves when every child has sent a message satisfying `pred`; rejects if one dies.
  async all(pred, what, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.children.every((c) => c.msgs.some(pred))) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await Promise.race([sleep(1), this.exited]);
    }
  }

  broadcast(msg) {
    for (const c of this.children) c.proc.send(msg);
  }

  async stop() {
    this.stopping = true;
    this.broadcast({ cmd: "stop" });
    await Promise.all(
      this.children.map(
        (c) =>
          new Promise((resolve) => {
            if (c.exit) resolve();
            else c.proc.on("exit", resolve);
          }),
      ),
    );
    await Promise.race([sleep(0), this.exited]);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function countJobs(utils) {
  return utils.withPgClient(async (client) => {
    const { rows } = await client.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE last_error IS NOT NULL)::int AS failed FROM ${JOBS_TABLE}`,
    );
    return rows[0];
  });
}

async function drain(utils, connectionString) {
  const jobs = positiveInt("jobs");
  const processes = positiveInt("processes");
  const enqueueStart = nowUs();
  for (let left = jobs; left > 0; ) {
    const k = Math.min(left, ENQUEUE_CHUNK);
    await utils.addJobs(Array.from({ length: k }, () => ({ identifier: TASK, payload: {} })));
    left -= k;
  }
  await utils.withPgClient((client) => client.query(`VACUUM ANALYZE ${JOBS_TABLE}`));
  const enqueueSecs = (nowUs() - enqueueStart) / 1e6;
  console.log(
    `graphile enqueued ${jobs} jobs in ${enqueueSecs.toFixed(2)}s (${(jobs / enqueueSecs).toFixed(0)} jobs/s, addJobs of ${ENQUEUE_CHUNK})`,
  );

  const completedBy = new Array(processes).fill(0);
  const workers = new Workers("drain", connectionString, processes, (i, msg) => {
    if (msg.completed !== undefined) completedBy[i] = msg.completed;
  });
  await workers.all((m) => m.loaded, "worker processes to load graphile-worker", 30_000);
  const started = nowUs();
  workers.broadcast({ cmd: "start" });
  const deadline = Date.now() + 600_000;
  // Task runs first (cheap, reported over IPC), then the committed deletions (one query per
  // millisecond only for the last batched completions).
  while (completedBy.reduce((a, b) => a + b, 0) < jobs) {
    if (Date.now() > deadline) throw new Error("drain: timed out");
    await Promise.race([sleep(1), workers.exited]);
  }
  for (;;) {
    const { n, failed } = await countJobs(utils);
    if (failed > 0) throw new Error(`drain: ${failed} jobs failed`);
    if (n === 0) break;
    if (Date.now() > deadline) throw new Error(`drain: ${n} jobs never completed`);
    await Promise.race([sleep(1), workers.exited]);
  }
  const finished = nowUs();
  const created = workers.children.map((c) => c.msgs.find((m) => m.poolCreatedUs)?.poolCreatedUs);
  if (created.some((us) => us === undefined)) throw new Error("drain: a worker pool never started");
  const firstPool = Math.min(...created);
  await workers.stop();
  const secs = (finished - firstPool) / 1e6;
  const inclusiveSecs = (finished - started) / 1e6;
  const rate = jobs / secs;
  console.log(
    `graphile drain: ${jobs} jobs in ${secs.toFixed(3)}s = ${rate.toFixed(0)} jobs/s ` +
      `(${processes} processes x concurrency ${positiveInt("concurrency")}, local queue ${positiveInt("local-queue")}; ` +
      `timed from the first worker pool's creation; from the run() call, which adds connecting and ` +
      `the schema check: ${inclusiveSecs.toFixed(3)}s = ${(jobs / inclusiveSecs).toFixed(0)} jobs/s)`,
  );
  return rate;
}

function percentile(sorted, p) {
  return sorted[Math.round((sorted.length - 1) * p)];
}

async function latency(utils, connectionString) {
  const processes = positiveInt("processes");
  const rate = positiveInt("latency-rate");
  const total = rate * positiveInt("latency-secs");
  const samples = [];
  const workers = new Workers("latency", connectionString, processes, (_i, msg) => {
    if (msg.latencyUs !== undefined) samples.push(msg.latencyUs / 1000);
  });
  await workers.all((m) => m.loaded, "worker processes to load graphile-worker", 30_000);
  workers.broadcast({ cmd: "start" });
  await workers.all((m) => m.ready, "worker processes to listen and fetch once", 30_000);

  const periodUs = 1e6 / rate;
  const enqueueMs = [];
  const epoch = nowUs();
  for (let i = 0; i < total; i += 1) {
    const due = epoch + i * periodUs;
    const wait = (due - nowUs()) / 1000;
    if (wait > 0) await sleep(wait);
    const t = nowUs();
    await utils.addJob(TASK, { t });
    enqueueMs.push((nowUs() - t) / 1000);
  }
  const deadline = Date.now() + 30_000;
  while (samples.length < total && Date.now() < deadline) {
    await Promise.race([sleep(1), workers.exited]);
  }
  await workers.stop();
  if (samples.length === 0) throw new Error("latency: no samples");
  enqueueMs.sort((a, b) => a - b);
  console.log(
    `graphile latency: addJob call p50 ${percentile(enqueueMs, 0.5).toFixed(2)} ms, p99 ${percentile(enqueueMs, 0.99).toFixed(2)} ms`,
  );
  samples.sort((a, b) => a - b);
  const [p50, p99] = [percentile(samples, 0.5), percentile(samples, 0.99)];
  console.log(
    `graphile latency: ${samples.length} jobs at ${rate}/s: enqueue->start p50 ${p50.toFixed(2)} ms, ` +
      `p90 ${percentile(samples, 0.9).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${percentile(samples, 1).toFixed(2)} ms`,
  );
  if (samples.length < total) {
    throw new Error(`latency: only ${samples.length} of ${total} jobs started within 30 s`);
  }
  return [p50, p99];
}

async function main() {
  const connectionString = opts.connection;
  if (!connectionString) {
    throw new Error("no database: pass --connection postgres://… or set DATABASE_URL");
  }
  const utils = await makeWorkerUtils({ connectionString, logger });
  try {
    await utils.migrate();
    const { n } = await countJobs(utils);
    if (n !== 0) throw new Error(`${JOBS_TABLE} holds ${n} jobs already; use an empty database`);
    const drainRate = await drain(utils, connectionString);
    const [p50, p99] = await latency(utils, connectionString);
    console.log(
      `graphile drain_jobs_per_s=${drainRate.toFixed(0)} p50_ms=${p50.toFixed(2)} p99_ms=${p99.toFixed(2)}`,
    );
  } finally {
    await utils.release();
  }
}

const fail = (err) => {
  console.error(`graphile bench: ${err.message ?? err}`);
  process.exit(1);
};

if (opts.child !== undefined) {
  if (opts.child !== "drain" && opts.child !== "latency") {
    fail(new Error(`--child must be drain or latency, got '${opts.child}'`));
  }
  child(opts.child, process.env.GRAPHILE_BENCH_URL).catch(fail);
} else {
  main().catch(fail);
}
