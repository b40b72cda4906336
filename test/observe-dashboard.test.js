// dashboard(executor): a live page over real HTTP, its Server-Sent Events, and a program
// with one that ends by itself.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Cluster, LocalExecutor, dashboard } from 'forkjoin';
import { Executors, runNode, settleWithin, tasks, using } from './fixtures/helpers.js';

const T = { timeout: 120_000 };
const program = fileURLToPath(new URL('./fixtures/dashboard-exit.js', import.meta.url));

/** GETs `url`; resolves to the status, headers and body. */
function get(url) {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk) => { body += chunk; }).on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    }).on('error', reject).end();
  });
}

/** Opens the event stream at `url`; `next(predicate)` resolves to the first message (parsed) that matches. */
function events(url) {
  const waiting = [];
  const seen = [];
  let buffer = '';
  let response;
  const req = request(url, { agent: false }, (res) => {
    response = res;
    res.setEncoding('utf8').on('data', (chunk) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (!frame.startsWith('data: ')) continue;
        seen.push(JSON.parse(frame.slice(6)));
        for (const w of [...waiting]) check(w);
      }
    });
  });
  req.end();
  const check = (w) => {
    const found = seen.find(w.predicate);
    if (found === undefined) return;
    waiting.splice(waiting.indexOf(w), 1);
    w.resolve(found);
  };
  return {
    headers: () => response?.headers,
    next(predicate) {
      return new Promise((resolve) => { const w = { predicate, resolve }; waiting.push(w); check(w); });
    },
    ended: new Promise((resolve) => req.on('response', (res) => res.on('close', resolve))),
    close: () => req.destroy(),
  };
}

for (const E of Executors) {
  test(`${E.name}: the dashboard serves its page on loopback and streams stats and task events over SSE`, T, async (t) => {
    const executor = using(t, E.make());
    const board = await dashboard(executor);
    t.after(() => board.close());
    assert.match(board.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get(board.url);
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'], /^text\/html/);
    assert.match(page.body, /EventSource\('events'\)/);
    assert.match(page.body, new RegExp(`forkjoin: ${E.name}`));
    assert.equal((await get(new URL('nothing', board.url))).status, 404);
    const stream = events(new URL('events', board.url));
    const first = await settleWithin(stream.next(() => true), 30_000, 'the first message');
    assert.equal(first.executor, E.name);
    assert.equal(typeof first.stats.utilisation, 'number');
    await assert.rejects(executor.run(tasks.fail, ['<b>bad</b>']));
    const message = await settleWithin(stream.next((m) => m.events.some((e) => e.type === 'taskEnd')), 30_000, 'a taskEnd message');
    const end = message.events.find((e) => e.type === 'taskEnd');
    assert.deepEqual([end.task, end.ok, end.error.message], ['fail', false, '<b>bad</b>']);
    await settleWithin(stream.next((m) => m.stats.failed === 1), 30_000, 'stats with the failure');
    assert.equal(stream.headers()['content-type'], 'text/event-stream');
    await board.close();
    await settleWithin(stream.ended, 30_000, 'the stream\'s end after close()');
    await board.close();
    await assert.rejects(get(board.url), { code: 'ECONNREFUSED' });
  });
}

for (const mode of ['close', 'open']) {
  test(`a program with a dashboard a page is reading ends by itself ${mode === 'close' ? 'after close(), which ends the stream' : 'without close(): the dashboard never holds the event loop'}`, T, async () => {
    const result = await runNode([program, mode]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^done$/m);
    if (mode === 'close') assert.match(result.stdout, /^stream ended$/m);
  });
}

/** GETs `path` of `board` with the Host header `host`; resolves to the status (the response is not read further). */
function statusWith(board, host, path = '/') {
  const { port } = new URL(board.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { host } }, (res) => {
      resolve(res.statusCode);
      req.destroy();
    });
    req.on('error', reject).end();
  });
}

test('the dashboard answers only requests for its own address: another Host (DNS rebinding) is refused with 403', T, async (t) => {
  const executor = using(t, new LocalExecutor());
  const board = await dashboard(executor);
  t.after(() => board.close());
  const { port } = new URL(board.url);
  for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1.evil.example:${port}`, `localhost:${Number(port) + 1}`, `127.0.0.1:${port}@evil.example`]) {
    for (const path of ['/', '/events']) assert.equal(await statusWith(board, host, path), 403, `Host: ${host} ${path}`);
  }
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LocalHost:${port}`, `[::1]:${port}`]) {
    assert.equal(await statusWith(board, host), 200, `Host: ${host}`);
    assert.equal(await statusWith(board, host, '/events'), 200, `Host: ${host} /events`);
  }
});

/** Reads the event stream at `url`, counting its taskEnd events; `paused` reads nothing until resume(). */
function counting(url, paused) {
  let count = 0;
  let buffer = '';
  let res;
  const waiting = [];
  let connected;
  const answered = new Promise((resolve) => { connected = resolve; });
  const req = request(url, { agent: false }, (r) => {
    res = r;
    connected();
    r.setEncoding('utf8');
    if (paused) r.pause();
    r.on('data', (chunk) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (frame.startsWith('data: ')) count += JSON.parse(frame.slice(6)).events.filter((e) => e.type === 'taskEnd').length;
      }
      for (const w of [...waiting]) if (count >= w.n) { waiting.splice(waiting.indexOf(w), 1); w.resolve(); }
    });
  });
  req.on('error', () => {});
  req.end();
  const closed = new Promise((resolve) => req.on('close', resolve));
  let isClosed = false;
  closed.then(() => { isClosed = true; });
  return {
    get count() { return count; },
    get isClosed() { return isClosed; },
    closed,
    answered,
    until: (n) => new Promise((resolve) => { waiting.push({ n, resolve }); if (count >= n) resolve(); }),
    resume: () => res.resume(),
    destroy: () => req.destroy(),
  };
}

test('a page that stops reading its stream is dropped once its unsent frames pile up; a page that reads is kept and gets every event', T, async (t) => {
  const executor = using(t, new LocalExecutor({ concurrency: 4 }));
  const board = await dashboard(executor);
  t.after(() => board.close());
  const stalled = counting(new URL('events', board.url), true);
  const reader = counting(new URL('events', board.url), false);
  t.after(() => { stalled.destroy(); reader.destroy(); });
  await settleWithin(Promise.all([stalled.answered, reader.answered]), 30_000, 'both pages connected');
  // Tasks with long names make frames of a few MB each.
  const name = `t${'x'.repeat(2000)}`;
  const task = { [name]: (x) => x }[name];
  const rounds = 12;
  const perRound = 1500;
  for (let round = 1; round <= rounds; round++) {
    await executor.map(task, Array.from({ length: perRound }, (_, i) => i), { chunksize: 1 });
    await settleWithin(reader.until(round * perRound), 60_000, `round ${round} read`);
  }
  // Some 40 MB were sent; the stalled page, once read, ends short: it was dropped.
  stalled.resume();
  await settleWithin(stalled.closed, 30_000, 'the stalled page\'s stream ending');
  assert.ok(stalled.count < rounds * perRound, `the stalled page got ${stalled.count} events`);
  assert.equal(reader.count, rounds * perRound);
  assert.equal(reader.isClosed, false, 'the page that reads is still connected');
});

test('dashboard() checks its options and refuses a Cluster, which emits no events yet', async () => {
  const executor = Executors[2].make();
  await assert.rejects(dashboard(executor, { port: -1 }), { code: 'FJ_INVALID_ARG_VALUE' });
  await assert.rejects(dashboard(executor, { host: 1 }), { code: 'FJ_INVALID_ARG_TYPE' });
  await assert.rejects(dashboard(executor, { bind: 'x' }), { code: 'FJ_INVALID_ARG_TYPE' });
  await assert.rejects(dashboard(Object.create(Cluster.prototype)), { code: 'FJ_INVALID_ARG_TYPE', message: /Cluster emits no events yet/ });
  await executor.close();
});
