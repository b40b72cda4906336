// Faults with nothing lost: an engine killed mid-run, a task that kills every engine it
// runs on, a Redis restarted mid-run, a killed client; and with nothing hanging when Redis
// itself loses the tasks (restarted empty, a client's liveness lapsed). Real processes, real redis-server.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { taskModule } from 'forkjoin';
import { goGate, needRedis, startCluster, startEngine, stop, tasksUrl, until } from './fixtures/cluster/harness.js';
import { settleWithin } from './fixtures/helpers.js';

const T = { timeout: 120_000 };
const tasks = taskModule(tasksUrl);


test('an engine killed with SIGKILL mid-run: its tasks run on another engine, one result each', T, async (t) => {
  if (!needRedis(t)) return;
  const { redis, engines, connect } = await startCluster(t, ['k1', 'k2', 'k3']);
  const cluster = await connect();
  const victim = engines[0];
  const runs = Array.from({ length: 12 }, () => cluster.run(tasks.sleepPid, [1_500]));
  await until(async () => (await cluster.engines()).find((e) => e.name === 'k1')?.busy > 0, 10_000, 'k1 to hold a task');
  process.kill(victim.pid, 'SIGKILL');
  const pids = await Promise.all(runs);
  assert.equal(pids.length, 12);
  assert.ok(pids.every((pid) => engines.some((e) => e.pid === pid)));
  const after = await until(async () => {
    const list = await cluster.engines();
    return list.some((e) => e.name === 'k1') ? null : list;
  }, 10_000, 'k1 to leave the registry');
  assert.deepEqual(after.map((e) => e.name), ['k2', 'k3']);
  assert.equal(cluster.stats().done, 12);
});

test("a killed engine's held task is run again by another engine, which delivers its one result", T, async (t) => {
  if (!needRedis(t)) return;
  const { redis, engines, connect } = await startCluster(t, ['s1']);
  const cluster = await connect();
  const gate = goGate(t);
  // The task cannot return before go(): s1 still holds it when it is killed.
  const run = cluster.run(tasks.markThenGo, [gate.dir]);
  await gate.started(engines[0].pid, 's1 to start the task');
  engines.push(await startEngine(redis.url, { name: 's2', workers: 1 }));
  process.kill(engines[0].pid, 'SIGKILL');
  // Its lock expires and the stalled check requeues it (seconds); the wait is a hang guard only.
  await gate.started(engines[1].pid, 'the task to start on s2');
  gate.go();
  assert.equal(await run, engines[1].pid, 'its one result came from s2');
});

test('an engine killed while it runs a broadcast task: its outcome is FJ_ENGINE_LOST, whose message does not claim the task never started', T, async (t) => {
  if (!needRedis(t)) return;
  const { engines, connect } = await startCluster(t, ['b1', 'b2']);
  const cluster = await connect();
  const gate = goGate(t);
  const outcomes = cluster.broadcast(tasks.markThenGo, [gate.dir]);
  await gate.started(engines[0].pid, 'b1 to start the task');
  process.kill(engines[0].pid, 'SIGKILL');
  await gate.started(engines[1].pid, 'b2 to start the task');
  gate.go();
  const [b1, b2] = await outcomes;
  assert.deepEqual(b2, { engine: 'b2', status: 'fulfilled', value: engines[1].pid });
  assert.equal(b1.status, 'rejected');
  assert.equal(b1.reason.code, 'FJ_ENGINE_LOST', b1.reason.message);
  assert.equal(b1.reason.engine, 'b1');
  assert.doesNotMatch(b1.reason.message, /before running/, 'b1 had started it');
  assert.match(b1.reason.message, /may have started it/);
});

test('a task cancelled while it runs on an engine is stopped there (by signal, job.cancel() or terminate()): the engine serves the next call', T, async (t) => {
  if (!needRedis(t)) return;
  const { engines, connect } = await startCluster(t, ['c1']);
  const cluster = await connect();
  for (const how of ['signal', 'cancel', 'terminate']) {
    const gate = goGate(t);
    const controller = new AbortController();
    const client = how === 'terminate' ? await connect() : cluster;
    const job = client.submit(tasks.markThenHold, [gate.dir], { signal: controller.signal });
    job.then(() => {}, () => {});
    await gate.started(engines[0].pid, `${how}: the task to start`);
    if (how === 'signal') controller.abort();
    else if (how === 'cancel') job.cancel();
    else await client.terminate();
    await assert.rejects(job, (e) => e.code === (how === 'terminate' ? 'FJ_EXECUTOR_TERMINATED' : 'FJ_ABORTED'));
    // One engine of one worker: the next call runs only once the held task was stopped.
    assert.equal(await settleWithin(cluster.run(tasks.square, [7]), 60_000, `${how}: a call after the cancelled one`), 49);
  }
  assert.equal(engines[0].exitCode, null, 'the engine lives on');
});

test('an input still running when its map fails finishes on its engine, unobserved (it is not stopped)', T, async (t) => {
  if (!needRedis(t)) return;
  // One engine of two workers: both inputs run at once, wherever the engine sends them.
  const { connect } = await startCluster(t, ['s1'], {}, { workers: 2, allowInline: true });
  const cluster = await connect();
  const dir = mkdtempSync(join(tmpdir(), 'fj-test-soft-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Input 0 fails once input 1 has started (or after 20 s); input 1 runs on for a while, and marks its end.
  const task = async ({ dir, fails }) => {
    const fs = process.getBuiltinModule('node:fs');
    const started = `${dir}/started`;
    if (fails) {
      for (let waited = 0; !fs.existsSync(started) && waited < 20_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      throw new Error('input 0 fails');
    }
    fs.writeFileSync(started, '');
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    fs.writeFileSync(`${dir}/finished`, '');
    return 1;
  };
  await assert.rejects(cluster.map(task, [{ dir, fails: true }, { dir, fails: false }], { chunksize: 1 }), /input 0 fails/);
  assert.ok(existsSync(join(dir, 'started')), 'input 1 was running when the map failed');
  await until(() => existsSync(join(dir, 'finished')), 30_000, 'the running input to finish');
});

test('a result Redis will not store (past its maxmemory) fails its call with FJ_RESULT_NOT_CLONEABLE saying why, instead of leaving it waiting', T, async (t) => {
  if (!needRedis(t)) return;
  const { connect } = await startCluster(t, ['m1'], { extra: ['--maxmemory', '20mb'] });
  const cluster = await connect();
  const err = await settleWithin(cluster.run(tasks.bytes, [40 * 2 ** 20]).then(() => null, (e) => e), 90_000, 'a result too large to store');
  assert.equal(err?.code, 'FJ_RESULT_NOT_CLONEABLE');
  assert.match(err.message, /could not be stored in Redis/);
  assert.equal(await cluster.run(tasks.square, [6]), 36, 'the engine still serves');
});

test('arguments Redis will not store (past its maxmemory) fail their call with FJ_REDIS_UNAVAILABLE saying Redis is out of memory, not that it cannot be reached', T, async (t) => {
  if (!needRedis(t)) return;
  const { connect } = await startCluster(t, ['q1'], { extra: ['--maxmemory', '20mb'] });
  const cluster = await connect();
  const err = await cluster.run(tasks.square, [new Uint8Array(30 * 2 ** 20)]).then(() => null, (e) => e);
  assert.equal(err?.code, 'FJ_REDIS_UNAVAILABLE');
  assert.match(err.message, /lack of memory/);
  assert.match(err.message, /maxmemory/);
});

test('a task that kills every engine it runs on fails after its retries, not forever', T, async (t) => {
  if (!needRedis(t)) return;
  const { redis, engines, connect } = await startCluster(t, ['p1', 'p2', 'p3']);
  const cluster = await connect();
  const err = await cluster.run(tasks.killEngine, [], { retries: 1 }).then(() => null, (e) => e);
  assert.equal(err?.code, 'FJ_ENGINE_LOST');
  const dead = engines.filter((e) => e.exitCode !== null || e.signalCode !== null).length;
  assert.equal(dead, 2, 'ran twice (1 + retries), killing two engines');
  assert.equal(await cluster.run(tasks.square, [5]), 25, 'the survivor still serves');
});

test("a task that crashes its engine's pool worker runs again while its retries allow, then fails with FJ_WORKER_EXITED", T, async (t) => {
  if (!needRedis(t)) return;
  const { connect } = await startCluster(t, ['w1'], {}, { allowInline: true });
  const cluster = await connect();
  const dir = mkdtempSync(join(tmpdir(), 'fj-test-crash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Ends its worker thread the first time it runs (per marker file), and succeeds after.
  const crashOnce = (file) => {
    const fs = process.getBuiltinModule('node:fs');
    if (fs.existsSync(file)) return 'ran again';
    fs.writeFileSync(file, '');
    process.exit(1);
  };
  assert.equal(await cluster.run(crashOnce, [join(dir, 'a')], { retries: 1 }), 'ran again');
  await assert.rejects(cluster.run(crashOnce, [join(dir, 'b')], { retries: 0 }), (e) => e.code === 'FJ_WORKER_EXITED');
  assert.equal(await cluster.run(tasks.square, [4]), 16, 'the engine still serves');
});

test('an engine that lost a running job\'s lock (Redis frozen past it) stops its copy: one copy runs where the job went again, and delivers', T, async (t) => {
  if (!needRedis(t)) return;
  const { redis, connect } = await startCluster(t, ['f1', 'f2']);
  const cluster = await connect();
  const gate = goGate(t);
  const starts = () => (existsSync(join(gate.dir, 'starts')) ? readFileSync(join(gate.dir, 'starts'), 'utf8').trim().split('\n') : []);
  const run = cluster.run(tasks.countStartThenHold, [gate.dir]);
  await until(() => starts().length === 1, 60_000, 'the task to start');
  // Frozen past the job's 4 s lock: once Redis resumes, the stalled check hands the job out again.
  const pid = redis.child.pid;
  process.kill(pid, 'SIGSTOP');
  t.after(() => { try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ } });
  await new Promise((resolve) => setTimeout(resolve, 7_000));
  process.kill(pid, 'SIGCONT');
  await until(() => starts().length === 2, 60_000, 'the task to start again');
  // The first copy stopped (its worker replaced): both engines' heartbeats since then count one job held between them.
  const since = Date.now();
  await until(async () => {
    const listed = await cluster.engines();
    return listed.length === 2 && listed.every((e) => e.heartbeat > since) && listed.reduce((n, e) => n + e.busy, 0) === 1;
  }, 30_000, 'one copy of the task to remain');
  gate.go();
  assert.equal(await run, Number(starts()[1]), 'its result came from the second start');
  assert.equal(starts().length, 2);
});

test('a Redis server restarted mid-run (data kept): client and engines reconnect and the run completes', T, async (t) => {
  if (!needRedis(t)) return;
  const { redis, connect } = await startCluster(t, ['r1', 'r2'], { persist: true });
  const cluster = await connect();
  let done = 0;
  const run = cluster.map(tasks.sleep, Array.from({ length: 120 }, (_, i) => i), { chunksize: 1 }).then((v) => v);
  const inputs = Array.from({ length: 40 }, (_, i) => cluster.run(tasks.sleep, [30, i]).then((v) => { done++; return v; }));
  await until(() => done >= 5, 20_000, 'some tasks done');
  await redis.restart();
  const [mapped, ran] = await Promise.all([run, Promise.all(inputs)]);
  assert.equal(mapped.length, 120);
  assert.deepEqual(ran, Array.from({ length: 40 }, (_, i) => i));
  assert.equal(await cluster.run(tasks.square, [12]), 144, 'new work runs after the restart');
});

test('a Redis restarted empty mid-map: the map rejects with FJ_REDIS_DATA_LOST, and the engines re-register and run new calls', T, async (t) => {
  if (!needRedis(t)) return;
  const { redis, connect } = await startCluster(t, ['d1', 'd2']);
  const cluster = await connect();
  const mapped = cluster.starmap(tasks.sleep, Array.from({ length: 8 }, (_, i) => [1_500, i]), { chunksize: 1, timeout: 3_000 }).then(() => null, (e) => e);
  await until(async () => (await cluster.engines()).some((e) => e.busy > 0), 10_000, 'an engine to hold a task');
  // Without persistence, the restarted Redis holds none of the cluster's keys.
  await redis.stopServer('SIGKILL');
  await redis.start();
  const err = await settleWithin(mapped, 30_000, 'the map');
  assert.equal(err?.code, 'FJ_REDIS_DATA_LOST');
  assert.deepEqual(await settleWithin(cluster.map(tasks.square, [1, 2, 3], { chunksize: 1 }), 30_000, 'a map after the restart'), [1, 4, 9]);
  await until(async () => (await cluster.engines()).length === 2, 10_000, 'both engines to be listed again');
});

test('a Redis restarted empty: an engine drops the task of a job that vanished and takes new work at once', T, async (t) => {
  if (!needRedis(t)) return;
  const { redis, connect } = await startCluster(t, ['a1']);
  const cluster = await connect();
  const held = cluster.run(tasks.sleep, [600_000, 'never']).then(() => null, (e) => e);
  await until(async () => (await cluster.engines())[0]?.busy > 0, 10_000, 'a1 to hold the task');
  await redis.stopServer('SIGKILL');
  await redis.start();
  assert.equal((await settleWithin(held, 30_000, 'the pending run'))?.code, 'FJ_REDIS_DATA_LOST');
  // a1's only worker was running the vanished job's 10-minute task: it must be free again.
  assert.equal(await settleWithin(cluster.run(tasks.square, [7]), 30_000, 'a run after the restart'), 49);
});

test('a client whose liveness key lapsed (engines would take it for dead): its pending calls reject with FJ_REDIS_DATA_LOST, new ones run', T, async (t) => {
  if (!needRedis(t)) return;
  const { redis, engines, connect } = await startCluster(t, []);
  const cluster = await connect();
  // No engine yet: the job waits in the queue, where an engine would drop it unrun while the key is missing.
  const queued = cluster.run(tasks.square, [7]).then(() => null, (e) => e);
  const conn = new Redis(redis.url);
  t.after(() => conn.disconnect());
  await until(async () => (await conn.keys('fj:default:tasks:*')).some((k) => /tasks:[0-9a-f]{32}-\d+$/.test(k)), 10_000, 'the job to be queued');
  // What Redis does to the key of a client that could not refresh it for 15 s.
  const [key] = await conn.keys('fj:default:client:*');
  assert.equal(await conn.del(key), 1);
  assert.equal((await settleWithin(queued, 30_000, 'the pending run'))?.code, 'FJ_REDIS_DATA_LOST');
  engines.push(await startEngine(redis.url, { name: 'l1', workers: 1 }));
  assert.equal(await settleWithin(cluster.run(tasks.square, [8]), 30_000, 'a run after the lapse'), 64);
});

test('a client whose liveness key lapsed while an engine runs its task: the engine stops the task, and the call rejects with FJ_REDIS_DATA_LOST, not FJ_ABORTED', T, async (t) => {
  if (!needRedis(t)) return;
  const { redis, connect } = await startCluster(t, ['g1']);
  const cluster = await connect();
  const held = cluster.run(tasks.sleep, [600_000, 'never']).then(() => null, (e) => e);
  await until(async () => (await cluster.engines())[0]?.busy > 0, 10_000, 'g1 to hold the task');
  const conn = new Redis(redis.url);
  t.after(() => conn.disconnect());
  const [key] = await conn.keys('fj:default:client:*');
  // Deleted just after the client refreshed it (its time to live jumps back up), so that the
  // engine's next heartbeat, which finds it missing and stops the task, comes before the client's.
  let ttl = await conn.pttl(key);
  await until(async () => {
    const now = await conn.pttl(key);
    const refreshed = now > ttl;
    ttl = now;
    return refreshed;
  }, 10_000, 'the client to refresh its liveness');
  assert.equal(await conn.del(key), 1);
  const err = await settleWithin(held, 30_000, 'the pending run');
  assert.equal(err?.code, 'FJ_REDIS_DATA_LOST', err?.message);
  assert.match(err.message, /could not refresh its liveness/);
  // g1's only worker was running the stopped 10-minute task: it must be free again.
  assert.equal(await settleWithin(cluster.run(tasks.square, [6]), 30_000, 'a run after the lapse'), 36);
});

test('a killed client leaves engines serving others and no jobs behind', T, async (t) => {
  if (!needRedis(t)) return;
  const { redis, connect } = await startCluster(t, ['c1', 'c2']);
  const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/cluster/client.js', import.meta.url)), redis.url, '2000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => stop(child, 'SIGKILL'));
  await new Promise((resolve) => child.stdout.on('data', (d) => { if (String(d).includes('queued')) resolve(); }));
  process.kill(child.pid, 'SIGKILL');
  const other = await connect();
  assert.deepEqual(await other.map(tasks.square, [1, 2, 3]), [1, 4, 9]);
  const conn = new Redis(redis.url);
  t.after(() => conn.disconnect());
  // Once the dead client's liveness key expires, engines drop its queued jobs unrun.
  await until(async () => (await conn.llen('fj:default:tasks:wait')) === 0 && (await conn.llen('fj:default:tasks:active')) === 0, 60_000, 'the queue to empty');
  const jobKeys = (await conn.keys('fj:default:tasks:*')).filter((k) => /tasks:[0-9a-f]{32}-\d+$/.test(k));
  assert.deepEqual(jobKeys, []);
  // Its results that were already pushed expire with their list.
  for (const key of await conn.keys('fj:default:results:*')) assert.ok((await conn.pttl(key)) > 0, `${key} expires`);
});
