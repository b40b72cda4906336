// Raw BullMQ on the same Redis: a producer adds N tiny jobs, worker processes run them,
// and the producer learns of each completion through QueueEvents, as BullMQ users do.
import { Queue, QueueEvents, Worker } from 'bullmq';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [mode, url, queueName, arg] = process.argv.slice(2);

function connection(u) {
  const p = new URL(u);
  return { host: p.hostname, port: Number(p.port), maxRetriesPerRequest: null };
}

if (mode === 'worker') {
  const worker = new Worker(queueName, async (job) => job.data.x * job.data.x, {
    connection: connection(url), concurrency: Number(arg), removeOnComplete: { count: 0 }, removeOnFail: { count: 0 },
  });
  await worker.waitUntilReady();
  process.send?.('ready');
  process.on('SIGTERM', async () => { await worker.close(); process.exit(0); });
}

/**
 * Starts `workers` worker processes of `concurrency` each on a queue of their own, and a
 * producer; `burst(n)` adds n jobs (1,000 per addBulk) and resolves to tasks/s once every
 * completion was seen through QueueEvents. The first burst should be an untimed warm-up.
 */
export async function startRawBullmq(u, workers, concurrency) {
  const name = `raw-${concurrency}-${Date.now()}`;
  const children = [];
  for (let i = 0; i < workers; i++) {
    const child = fork(fileURLToPath(import.meta.url), ['worker', u, name, String(concurrency)], { stdio: 'ignore' });
    await new Promise((r) => child.once('message', r));
    children.push(child);
  }
  const queue = new Queue(name, { connection: connection(u) });
  const events = new QueueEvents(name, { connection: connection(u) });
  await events.waitUntilReady();
  let done = 0;
  let target = 0;
  let finish = () => {};
  events.on('completed', () => { if (++done === target) finish(); });
  return {
    async burst(n) {
      done = 0;
      target = n;
      const finished = new Promise((resolve) => { finish = resolve; });
      const start = performance.now();
      for (let i = 0; i < n; i += 1000) {
        await queue.addBulk(Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ name: 'sq', data: { x: i + j }, opts: { removeOnComplete: true, removeOnFail: true } })));
      }
      await finished;
      return n / ((performance.now() - start) / 1000);
    },
    async stop() {
      for (const c of children) { c.kill('SIGTERM'); await new Promise((r) => c.once('exit', r)); }
      await events.close();
      await queue.obliterate({ force: true });
      await queue.close();
    },
  };
}

/** Runs n jobs over `workers` worker processes of `concurrency` each, after a warm-up burst; returns tasks/s. */
export async function rawBullmq(u, n, workers, concurrency) {
  const raw = await startRawBullmq(u, workers, concurrency);
  try {
    await raw.burst(n);
    return await raw.burst(n);
  } finally {
    await raw.stop();
  }
}
