// dashboard(executor): a live page over real HTTP, its Server-Sent Events, and a program
// with one that ends by itself.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Cluster, dashboard } from 'forkjoin';
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

test('dashboard() checks its options and refuses a Cluster, which emits no events yet', async () => {
  const executor = Executors[2].make();
  await assert.rejects(dashboard(executor, { port: -1 }), { code: 'FJ_INVALID_ARG_VALUE' });
  await assert.rejects(dashboard(executor, { host: 1 }), { code: 'FJ_INVALID_ARG_TYPE' });
  await assert.rejects(dashboard(executor, { bind: 'x' }), { code: 'FJ_INVALID_ARG_TYPE' });
  await assert.rejects(dashboard(Object.create(Cluster.prototype)), { code: 'FJ_INVALID_ARG_TYPE', message: /Cluster emits no events yet/ });
  await executor.close();
});
