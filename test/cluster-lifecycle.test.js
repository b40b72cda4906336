// Engines leave cleanly, Redis stays bounded, and the cluster command starts, lists and stops engines.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { once } from 'node:events';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { Cluster, taskModule } from 'forkjoin';
import { cli, fixtures, freePort, goGate, needRedis, startCluster, startEngine, startRedis, stop, tasksUrl, until } from './fixtures/cluster/harness.js';

const T = { timeout: 120_000 };
const tasks = taskModule(tasksUrl);
const run = promisify(execFile);

/** A temporary directory, removed when the test ends. */
function tempDir(t, prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A PATH whose `redis-server` is a Node script of `body` (its command line still says redis-server). */
function fakeRedisPath(t, body) {
  const dir = tempDir(t, 'fj-fake-redis-');
  writeFileSync(join(dir, 'redis-server'), `#!${process.execPath}\n${body}\n`, { mode: 0o755 });
  return `${dir}${delimiter}${process.env.PATH}`;
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** This process's children whose command line runs `forkjoin engine`. */
function engineChildren() {
  const found = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('engine')) found.push(Number(pid));
    } catch { /* gone meanwhile */ }
  }
  return found;
}


test('a second engine given the name of a live engine is refused with FJ_ENGINE_NAME_TAKEN, and leaves the live one listed and serving', T, async (t) => {
  if (!needRedis(t)) return;
  const { redis, engines, connect } = await startCluster(t, ['dup']);
  const cluster = await connect();
  const refused = await startEngine(redis.url, { name: 'dup' }).then((e) => { engines.push(e); return null; }, (e) => e);
  assert.match(String(refused?.message), /exited \(1\)/);
  assert.match(refused.message, /FJ_ENGINE_NAME_TAKEN/);
  assert.deepEqual((await cluster.engines()).map((e) => [e.name, e.pid]), [['dup', engines[0].pid]]);
  assert.deepEqual(await cluster.broadcast(tasks.whoami, []), [{ engine: 'dup', status: 'fulfilled', value: engines[0].pid }]);
});

test('an engine started with the name of one that was killed starts once the dead one\'s heartbeat lapses, and serves', T, async (t) => {
  if (!needRedis(t)) return;
  const { redis, engines, connect } = await startCluster(t, ['again']);
  const cluster = await connect();
  await stop(engines[0], 'SIGKILL');
  const restarted = await startEngine(redis.url, { name: 'again' });
  engines.push(restarted);
  assert.deepEqual(await cluster.broadcast(tasks.whoami, []), [{ engine: 'again', status: 'fulfilled', value: restarted.pid }]);
});

test('SIGTERM: an engine holding no task whose Redis is gone exits without waiting out its grace', T, async (t) => {
  if (!needRedis(t)) return;
  const redis = await startRedis();
  t.after(() => redis.stop());
  // A grace far beyond the test's time limit: only not waiting it out lets the engine exit in time.
  const engine = await startEngine(redis.url, { name: 'idle', args: ['--grace', '600000'] });
  t.after(() => stop(engine, 'SIGKILL'));
  await redis.stopServer();
  const exited = once(engine, 'exit');
  process.kill(engine.pid, 'SIGTERM');
  const [code] = await exited;
  assert.ok(code === 0 || code === 1, `exit code ${code}`);
});

test('SIGTERM: an engine finishes the task it holds, delivers it, and leaves the cluster', T, async (t) => {
  if (!needRedis(t)) return;
  const { engines, connect } = await startCluster(t, ['t1']);
  const cluster = await connect();
  const gate = goGate(t);
  const result = cluster.run(tasks.markThenGo, [gate.dir]);
  await gate.started(engines[0].pid, 't1 to start the task');
  const exited = once(engines[0], 'exit');
  process.kill(engines[0].pid, 'SIGTERM');
  // The task returns only once the engine is stopping with it in hand.
  await until(() => /stopping; finishing 1 running job/.test(engines[0].output), 60_000, 't1 to start stopping');
  gate.go();
  assert.equal(await result, engines[0].pid);
  const [code] = await exited;
  assert.equal(code, 0);
  assert.deepEqual(await cluster.engines(), []);
});

test('SIGTERM past --grace: an engine hands back what it holds, and another engine runs it', T, async (t) => {
  if (!needRedis(t)) return;
  const { redis, engines, connect } = await startCluster(t, ['h1'], {}, { args: ['--grace', '200'] });
  const cluster = await connect();
  const gate = goGate(t);
  // The task cannot return before go(): h1 still holds it when its grace ends.
  const result = cluster.run(tasks.markThenGo, [gate.dir]);
  await gate.started(engines[0].pid, 'h1 to start the task');
  engines.push(await startEngine(redis.url, { name: 'h2', workers: 1 }));
  const exited = once(engines[0], 'exit');
  process.kill(engines[0].pid, 'SIGTERM');
  await exited;
  assert.match(engines[0].output, /handing back 1 job/);
  await gate.started(engines[1].pid, 'h2 to start the task');
  gate.go();
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

test('forkjoin cluster start checks every flag before it starts or creates anything (exit 2)', T, async (t) => {
  const dir = tempDir(t, 'fj-cli-flags-');
  const marker = join(dir, 'redis-server-ran');
  const tmp = tempDir(t, 'fj-cli-tmp-');
  const file = join(dir, 'a-file');
  writeFileSync(file, '');
  const env = {
    ...process.env, TMPDIR: tmp, FORKJOIN_CLUSTER_STATE: join(dir, 'state.json'),
    PATH: fakeRedisPath(t, `require('node:fs').appendFileSync(${JSON.stringify(marker)}, 'ran\\n'); process.exit(1);`),
  };
  const cases = [['-n', '0'], ['-n', '257'], ['-n', '100000'], ['-n', '1', '--workers', '0'], ['-n', '1', '--redis', 'http://x'],
    ['-n', '1', '--cluster', 'a:b'], ['-n', '1', '--root', join(dir, 'missing')], ['-n', '1', '--root', file]];
  for (const args of cases) {
    const err = await run(process.execPath, [cli, 'cluster', 'start', ...args], { env, cwd: fixtures }).then(() => null, (e) => e);
    assert.equal(err?.code, 2, `${args.join(' ')}: ${err?.stdout}${err?.stderr}`);
    assert.ok(!existsSync(marker), `${args.join(' ')} started redis-server`);
    assert.deepEqual(readdirSync(tmp), [], `${args.join(' ')} created files`);
    assert.ok(!existsSync(env.FORKJOIN_CLUSTER_STATE), `${args.join(' ')} wrote a state`);
  }
});

test('a cluster start cut short leaves a state from which cluster stop stops what it started', T, async (t) => {
  const dir = tempDir(t, 'fj-cli-cut-');
  // A redis-server that never gets ready: the start is cut short while it waits for it.
  const env = { ...process.env, TMPDIR: dir, FORKJOIN_CLUSTER_STATE: join(dir, 'state.json'), PATH: fakeRedisPath(t, 'setInterval(() => {}, 1_000);') };
  const starter = spawn(process.execPath, [cli, 'cluster', 'start', '-n', '1'], { env, cwd: fixtures, stdio: 'ignore' });
  let redisPid = 0;
  t.after(() => {
    // Never pid 0: that would be this whole process group.
    for (const pid of [starter.pid, redisPid]) if (pid > 0) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  });
  const readState = () => {
    try { return JSON.parse(readFileSync(env.FORKJOIN_CLUSTER_STATE, 'utf8')); } catch { return null; }
  };
  const state = await until(() => (readState()?.redisPid > 0 ? readState() : null), 10_000, 'the state to name the redis-server');
  redisPid = state.redisPid;
  const exited = once(starter, 'exit');
  starter.kill('SIGKILL');
  await exited;
  assert.ok(isAlive(redisPid), 'the redis-server outlived the start');
  const stopped = await run(process.execPath, [cli, 'cluster', 'stop'], { env });
  assert.match(stopped.stdout, /stopped 0 engine\(s\) and redis-server/);
  await until(() => !isAlive(redisPid), 10_000, 'the redis-server to be gone');
});

test('forkjoin cluster stop says which engines it stopped and which had already gone', T, async (t) => {
  if (!needRedis(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'fj-cli-gone-'));
  const env = { ...process.env, TMPDIR: dir, FORKJOIN_CLUSTER_STATE: join(dir, 'state.json') };
  t.after(async () => {
    if (existsSync(env.FORKJOIN_CLUSTER_STATE)) await run(process.execPath, [cli, 'cluster', 'stop'], { env }).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });
  await run(process.execPath, [cli, 'cluster', 'start', '-n', '2'], { env, cwd: fixtures });
  const state = JSON.parse(readFileSync(env.FORKJOIN_CLUSTER_STATE, 'utf8'));
  process.kill(state.engines[0].pid, 'SIGKILL');
  await until(() => !isAlive(state.engines[0].pid), 10_000, 'the killed engine to be gone');
  const stopped = await run(process.execPath, [cli, 'cluster', 'stop'], { env });
  assert.match(stopped.stdout, /stopped 1 engine\(s\) and redis-server; already gone: 1 engine\(s\)/);
  assert.ok(!isAlive(state.engines[1].pid));
});

test('an engine whose Redis is gone still exits on SIGTERM, without needing SIGKILL', T, async (t) => {
  if (!needRedis(t)) return;
  const redis = await startRedis();
  const engine = await startEngine(redis.url, { name: 'orphan', args: ['--grace', '200'] });
  t.after(async () => {
    await stop(engine, 'SIGKILL');
    await redis.stop();
  });
  await redis.stop();
  // stop() sends SIGKILL only if the engine is still there 10 s after SIGTERM.
  await stop(engine, 'SIGTERM');
  assert.equal(engine.signalCode, null, engine.output);
});

test('forkjoin engine refuses a --grace beyond a timer\'s reach, a --cluster name Cluster.connect refuses, a --name that could match other engines\' keys and --workers past 4096 (exit 2)', T, async () => {
  // Nothing listens there: a flag that passed would mean a connection attempt, then exit 1.
  const redis = `redis://127.0.0.1:${await freePort()}`;
  for (const args of [['--grace', '99999999999'], ['--grace', '-1'], ['--cluster', 'a:b'], ['--name', '*'], ['--name', 'a:b'], ['--name', 'x'.repeat(129)], ['--workers', '100000']]) {
    const err = await run(process.execPath, [cli, 'engine', '--redis', redis, ...args]).then(() => null, (e) => e);
    assert.equal(err?.code, 2, `${args.join(' ')}: ${err?.stderr}`);
  }
});

test('Cluster.local with a Redis that does not answer rejects with FJ_REDIS_UNAVAILABLE and starts no engine', T, async (t) => {
  if (!existsSync('/proc/self/stat')) {
    t.skip('needs /proc to see child processes');
    return;
  }
  let spawned = false;
  const watch = setInterval(() => { spawned ||= engineChildren().length > 0; }, 50);
  t.after(() => clearInterval(watch));
  const err = await Cluster.local({ engines: 1, redis: `redis://127.0.0.1:${await freePort()}` }).then(async (c) => { await c.close(); return null; }, (e) => e);
  clearInterval(watch);
  assert.equal(err?.code, 'FJ_REDIS_UNAVAILABLE');
  assert.equal(spawned || engineChildren().length > 0, false, 'an engine was started');
});

/** The processes whose parent is `ppid`, each with its command line. */
function childrenOf(ppid) {
  const found = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) found.push({ pid: Number(pid), argv: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0') });
    } catch { /* gone meanwhile */ }
  }
  return found;
}

const alive = (pid) => {
  try {
    // A zombie (exited, not yet reaped by an init that never does) counts as gone.
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

for (const how of ['SIGKILL', 'process.exit', 'SIGINT to its process group (Ctrl-C)']) {
  test(`a caller of Cluster.local that ends without close() (${how}) leaves no engine, redis-server or folder behind`, T, async (t) => {
    if (!needRedis(t) || !existsSync('/proc/self/stat')) return;
    // A process group of its own, as a terminal gives a command: Ctrl-C signals the whole group.
    const caller = spawn(process.execPath, [join(fixtures, 'local-caller.js')], { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
    t.after(() => caller.kill('SIGKILL'));
    let out = '';
    caller.stdout.on('data', (chunk) => { out += chunk; });
    await until(() => out.includes('READY'), 60_000, 'the cluster to run a task');
    const started = childrenOf(caller.pid);
    const engines = started.filter((c) => c.argv.includes('engine'));
    const server = started.find((c) => c.argv[0].includes('redis-server')); // it rewrites its command line
    assert.equal(engines.length, 2, JSON.stringify(started));
    assert.ok(server !== undefined, 'a private redis-server runs');
    const dir = readlinkSync(`/proc/${server.pid}/cwd`); // redis-server works in its --dir
    assert.match(dir, /forkjoin-redis-/);
    t.after(() => { for (const c of started) { try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ } } });
    if (how === 'SIGKILL') caller.kill('SIGKILL');
    else if (how === 'process.exit') caller.stdin.write('exit\n');
    else process.kill(-caller.pid, 'SIGINT');
    await once(caller, 'exit');
    await until(() => started.every((c) => !alive(c.pid)), 30_000, 'the engines and redis-server to exit');
    await until(() => !existsSync(dir), 10_000, `${dir} to be removed`);
  });
}

test('Cluster.local close() waits for an engine slow to exit without piling up listeners (no MaxListenersExceededWarning)', T, async (t) => {
  if (!needRedis(t)) return;
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const cluster = await Cluster.local({ engines: 1, root: fixtures, execArgv: ['--require', join(fixtures, 'slow-exit.cjs')] });
  assert.equal(await cluster.run(tasks.square, [3]), 9);
  await cluster.close();
  await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
  assert.deepEqual(warnings.map((w) => `${w.name}: ${w.message}`), []);
  assert.deepEqual(engineChildren(), [], 'its engine is gone');
});

test('Cluster.local whose engines exit while starting rejects with FJ_ENGINE_LOST at once, saying so, and leaves nothing behind', T, async (t) => {
  // The engines inherit this environment: Node refuses to start them (a module to preload that does not exist).
  const saved = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = '--require=/nonexistent/forkjoin-engine-preload.cjs';
  t.after(() => { if (saved === undefined) delete process.env.NODE_OPTIONS; else process.env.NODE_OPTIONS = saved; });
  const err = await Cluster.local({ engines: 2 }).then(async (c) => { await c.close(); return null; }, (e) => e);
  assert.equal(err?.code, 'FJ_ENGINE_LOST');
  assert.match(err.message, /exited while starting/);
  assert.deepEqual(engineChildren(), [], 'no engine is left');
});
