// Engines run only what they were told to trust; passwords work and are never printed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { Cluster, taskModule, taskRef } from 'forkjoin';
import { cli, fixtures, freePort, needRedis, startEngine, startRedis, stop, tasksUrl } from './fixtures/cluster/harness.js';

const T = { timeout: 60_000 };
const tasks = taskModule(tasksUrl);
const inside = taskModule(new URL('./fixtures/cluster/root/inside.js', import.meta.url));
const run = promisify(execFile);

/** A missing path and a file, neither of which can be an engine's root. */
function badRoots(t) {
  const dir = mkdtempSync(join(tmpdir(), 'fj-bad-root-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a-file'), '');
  return [join(dir, 'missing'), join(dir, 'a-file')];
}

async function setup(t, { redisExtra = [], url = (r) => r.url, engine = {} } = {}) {
  const redis = await startRedis({ extra: redisExtra });
  const engines = [];
  const clients = [];
  t.after(async () => {
    for (const c of clients) await c.terminate();
    for (const e of engines) await stop(e);
    await redis.stop();
  });
  engines.push(await startEngine(url(redis), { name: 'guard', workers: 1, root: join(fixtures, 'root'), ...engine }));
  const cluster = await Cluster.connect({ redis: url(redis), minEngines: 1 });
  clients.push(cluster);
  return { redis, engine: engines[0], cluster };
}

test('an engine imports task modules only from under its --root', T, async (t) => {
  if (!needRedis(t)) return;
  const { cluster } = await setup(t);
  assert.equal(await cluster.run(inside.double, [21]), 42);
  await assert.rejects(cluster.run(tasks.square, [2]), (e) => e.code === 'FJ_ENGINE_MODULE_REFUSED' && /--root/.test(e.message));
  await assert.rejects(cluster.run(taskRef('node:fs', 'rmSync'), ['/tmp/x']), (e) => e.code === 'FJ_ENGINE_MODULE_REFUSED');
});

test('a symlink under --root that points outside it is refused', T, async (t) => {
  if (!needRedis(t)) return;
  const root = mkdtempSync(join(tmpdir(), 'fj-root-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  symlinkSync(join(fixtures, 'tasks.js'), join(root, 'link.js'));
  const { cluster } = await setup(t, { engine: { root } });
  await assert.rejects(cluster.run(taskRef(join(root, 'link.js'), 'square'), [3]), (e) => e.code === 'FJ_ENGINE_MODULE_REFUSED');
});

test('an inline function is refused unless the engine was started with --allow-inline', T, async (t) => {
  if (!needRedis(t)) return;
  const { cluster } = await setup(t);
  await assert.rejects(cluster.run((x) => x + 1, [1]), (e) => e.code === 'FJ_ENGINE_INLINE_REFUSED' && /--allow-inline/.test(e.message));
});

test('a password in the Redis URL works and is never printed', T, async (t) => {
  if (!needRedis(t)) return;
  const secret = 'pw-Secret-123';
  const withPassword = (r) => `redis://:${secret}@127.0.0.1:${r.port}`;
  const { redis, engine, cluster } = await setup(t, { redisExtra: ['--requirepass', secret], url: withPassword });
  assert.equal(await cluster.run(inside.double, [4]), 8);
  assert.ok(!engine.output.includes(secret), engine.output);
  assert.match(engine.output, /redis:\/\/:\*\*\*@127\.0\.0\.1/);
  const wrong = await Cluster.connect({ redis: `redis://:wrong-Pass-9@127.0.0.1:${redis.port}`, connectTimeout: 2_000 }).then(() => null, (e) => e);
  assert.equal(wrong?.code, 'FJ_REDIS_UNAVAILABLE');
  assert.ok(!wrong.message.includes('wrong-Pass-9'), wrong.message);
  assert.ok(!wrong.stack.includes('wrong-Pass-9'));
});

test('an engine given a wrong password exits with a message that hides it', T, async (t) => {
  if (!needRedis(t)) return;
  const redis = await startRedis({ extra: ['--requirepass', 'right-Pass-1'] });
  t.after(() => redis.stop());
  const err = await startEngine(`redis://:wrong-Pass-2@127.0.0.1:${redis.port}`, { name: 'bad' }).then(() => null, (e) => e);
  assert.ok(err !== null, 'the engine did not start');
  assert.ok(!err.message.includes('wrong-Pass-2'), err.message);
  assert.match(err.message, /FJ_REDIS_UNAVAILABLE/);
});

test('a client given a wrong password, or none, fails at once saying to check it, not after connectTimeout', T, async (t) => {
  if (!needRedis(t)) return;
  const redis = await startRedis({ extra: ['--requirepass', 'right-Pass-1'] });
  t.after(() => redis.stop());
  for (const url of [`redis://:wrong-Pass-2@127.0.0.1:${redis.port}`, `redis://127.0.0.1:${redis.port}`]) {
    // A connectTimeout far beyond any test's time limit: only the refusal itself can end the wait.
    const err = await Cluster.connect({ redis: url, connectTimeout: 600_000 }).then(async (c) => { await c.close(); return null; }, (e) => e);
    assert.equal(err?.code, 'FJ_REDIS_UNAVAILABLE');
    assert.match(err.message, /check the password/);
    assert.ok(!err.message.includes('wrong-Pass-2'), err.message);
  }
});

test('rediss:// (TLS) works for the client and the engines', T, async (t) => {
  if (!needRedis(t)) return;
  const { execFileSync } = await import('node:child_process');
  const { readFileSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'fj-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  } catch {
    if (process.env.CI) throw new Error('openssl is needed to make a test certificate');
    t.skip('openssl is not installed');
    return;
  }
  const { freePort } = await import('./fixtures/cluster/harness.js');
  const tlsPort = await freePort();
  const extra = ['--tls-port', String(tlsPort), '--tls-cert-file', join(dir, 'cert.pem'), '--tls-key-file', join(dir, 'key.pem'),
    '--tls-ca-cert-file', join(dir, 'cert.pem'), '--tls-auth-clients', 'no', '--requirepass', 'tls-Pass-7'];
  const url = `rediss://:tls-Pass-7@127.0.0.1:${tlsPort}`;
  const redis = await startRedis({ extra });
  const engines = [];
  const clients = [];
  t.after(async () => {
    for (const c of clients) await c.terminate();
    for (const e of engines) await stop(e);
    await redis.stop();
  });
  engines.push(await startEngine(url, { name: 'tls', root: join(fixtures, 'root'), env: { NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') } }));
  const cluster = await Cluster.connect({ redis: url, tls: { ca: readFileSync(join(dir, 'cert.pem')) }, minEngines: 1 });
  clients.push(cluster);
  assert.equal(await cluster.run(inside.double, [5]), 10);
  assert.ok(!engines[0].output.includes('tls-Pass-7'));
});

test('Cluster.local refuses a root that is missing or not a directory, naming it', T, async (t) => {
  if (!needRedis(t)) return;
  for (const root of badRoots(t)) {
    const err = await Cluster.local({ engines: 1, root }).then(async (c) => { await c.close(); return null; }, (e) => e);
    assert.equal(err?.code, 'FJ_INVALID_ARG_VALUE', root);
    assert.ok(err.message.includes(root), err.message);
  }
});

test('forkjoin engine refuses a --root that is missing or not a directory: a usage error (exit 2) naming it', T, async (t) => {
  // Nothing listens there: a --root that passed would mean a connection attempt, then exit 1.
  const redis = `redis://127.0.0.1:${await freePort()}`;
  for (const root of badRoots(t)) {
    const err = await run(process.execPath, [cli, 'engine', '--redis', redis, '--root', root]).then(() => null, (e) => e);
    assert.equal(err?.code, 2, err?.stderr);
    assert.ok(err.stderr.includes(root), err.stderr);
  }
});
