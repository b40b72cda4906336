// Engines leave cleanly, Redis stays bounded, and the cluster command starts, lists and stops engines.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { Cluster, taskModule } from 'forkjoin';
import { cli, fixtures, needRedis, startCluster, startEngine, stop, tasksUrl, until } from './fixtures/cluster/harness.js';

const T = { timeout: 120_000 };
const tasks = taskModule(tasksUrl);
const run = promisify(execFile);


test('SIGTERM: an engine finishes the task it holds, delivers it, and leaves the cluster', T, async (t) => {
  if (!needRedis(t)) return;
  const { engines, connect } = await startCluster(t, ['t1']);
  const cluster = await connect();
  const result = cluster.run(tasks.sleepPid, [1_000]);
  await until(async () => (await cluster.engines())[0]?.busy > 0, 10_000, 't1 to hold the task');
  const exited = once(engines[0], 'exit');
  process.kill(engines[0].pid, 'SIGTERM');
  assert.equal(await result, engines[0].pid);
  const [code] = await exited;
  assert.equal(code, 0);
  assert.deepEqual(await cluster.engines(), []);
});

test('SIGTERM past --grace: an engine hands back what it holds, and another engine runs it', T, async (t) => {
  if (!needRedis(t)) return;
  const { redis, engines, connect } = await startCluster(t, ['h1'], {}, { args: ['--grace', '200'] });
  const cluster = await connect();
  const result = cluster.run(tasks.sleepPid, [4_000]);
  await until(async () => (await cluster.engines())[0]?.busy > 0, 10_000, 'h1 to hold the task');
  engines.push(await startEngine(redis.url, { name: 'h2', workers: 1 }));
  const exited = once(engines[0], 'exit');
  process.kill(engines[0].pid, 'SIGTERM');
  await exited;
  assert.match(engines[0].output, /handing back 1 job/);
  assert.equal(await result, engines[1].pid, 'one result, from h2');
});

test('bounded Redis: after 10,000 tasks Redis holds no more keys than before, and no job is left', T, async (t) => {
  if (!needRedis(t)) return;
  const { redis, connect } = await startCluster(t, ['b1', 'b2']);
  const cluster = await connect();
  const conn = new Redis(redis.url);
  t.after(() => conn.disconnect());
  const ours = (keys) => keys.filter((k) => !/:engine:|:engines$/.test(k)).sort();
  await Promise.all(Array.from({ length: 200 }, (_, i) => cluster.run(tasks.square, [i])));
  const before = ours(await conn.keys('*'));
  for (let round = 0; round < 5; round++) {
    const out = await Promise.all(Array.from({ length: 2_000 }, (_, i) => cluster.run(tasks.square, [i])));
    assert.equal(out[1_999], 1_999 * 1_999);
  }
  // An engine pushes a result, then completes (deletes) the job: the last deletions follow
  // the last results by a round trip.
  const left = async () => ours(await conn.keys('*')).filter((k) => !before.includes(k));
  await until(async () => (await left()).length === 0, 10_000, 'the last jobs to be deleted').catch(() => {});
  assert.deepEqual(await left(), []);
  assert.equal(await conn.zcard('fj:default:tasks:completed'), 0);
  assert.equal(await conn.llen('fj:default:tasks:wait'), 0);
  assert.ok((await conn.xlen('fj:default:tasks:events')) <= 1_000, 'the events stream is trimmed');
});

test('a Redis that may evict keys is reported with a warning that says how to fix it', T, async (t) => {
  if (!needRedis(t)) return;
  const { engines, connect } = await startCluster(t, ['v1'], { extra: ['--maxmemory-policy', 'allkeys-lru'] });
  const warned = once(process, 'warning');
  await connect();
  const [warning] = await warned;
  assert.equal(warning.code, 'FORKJOIN_REDIS_EVICTION');
  assert.match(warning.message, /maxmemory-policy noeviction/);
  assert.match(engines[0].output, /maxmemory-policy allkeys-lru/);
});

test('forkjoin cluster start -n 2, status, then stop', T, async (t) => {
  if (!needRedis(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'fj-cli-'));
  const env = { ...process.env, FORKJOIN_CLUSTER_STATE: join(dir, 'state.json') };
  t.after(async () => {
    if (existsSync(env.FORKJOIN_CLUSTER_STATE)) await run(process.execPath, [cli, 'cluster', 'stop'], { env }).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });
  const started = await run(process.execPath, [cli, 'cluster', 'start', '-n', '2'], { env, cwd: fixtures });
  assert.match(started.stdout, /2 engine\(s\) running/);
  const state = JSON.parse(readFileSync(env.FORKJOIN_CLUSTER_STATE, 'utf8'));
  const cluster = await Cluster.connect({ redis: state.redis, minEngines: 2 });
  assert.equal(await cluster.run(tasks.square, [6]), 36);
  await cluster.close();
  const status = await run(process.execPath, [cli, 'cluster', 'status'], { env });
  for (const e of state.engines) assert.match(status.stdout, new RegExp(`${e.name}\\s+\\S+\\s+${e.pid}\\s+\\d+\\s+\\d+\\s+\\d+\\s+\\d+`));
  assert.match(status.stdout, /last heartbeat/);
  const stopped = await run(process.execPath, [cli, 'cluster', 'stop'], { env });
  assert.match(stopped.stdout, /stopped 2 engine\(s\) and redis-server/);
  for (const pid of [...state.engines.map((e) => e.pid), state.redisPid]) {
    assert.throws(() => process.kill(pid, 0), 'the process is gone');
  }
});

test('forkjoin engine without --redis is a usage error (exit 2)', T, async () => {
  const env = { ...process.env };
  delete env.FORKJOIN_REDIS;
  const err = await run(process.execPath, [cli, 'engine'], { env }).then(() => null, (e) => e);
  assert.equal(err?.code, 2);
  assert.match(err.stderr, /--redis URL is required/);
});
