// MemoryCache, DiskCache and memoize: bounds, durability, sharing between processes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync, watch, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DiskCache, ErrorCodes, LocalExecutor, MemoryCache, compute, delayed, memoize } from 'forkjoin';
import { filesAppear, runNode, tempDir } from './fixtures/helpers.js';

const T = { timeout: 120_000 };
const fixture = (name) => fileURLToPath(new URL(`./fixtures/graph/${name}`, import.meta.url));

const rich = () => ({
  floats: new Float64Array([1.5, -2, Number.NaN]),
  bytes: new Uint8Array([1, 2, 3]),
  map: new Map([['a', 1], ['b', { deep: [1, 2] }]]),
  set: new Set(['x', 'y']),
  when: new Date(1_700_000_000_000),
  big: 2n ** 80n,
  nested: { list: [null, undefined, 'text'] },
});

/** The files of a DiskCache's entries. */
function entryFiles(dir) {
  const root = join(dir, 'v1');
  return readdirSync(root).flatMap((sub) => readdirSync(join(root, sub)).map((name) => join(root, sub, name)));
}

/** Resolves with the next process warning that has `code`. */
function nextWarning(code) {
  return new Promise((resolve) => {
    const listener = (warning) => {
      if (warning.code !== code) return;
      process.off('warning', listener);
      resolve(warning);
    };
    process.on('warning', listener);
  });
}

const Caches = [
  { name: 'MemoryCache', make: () => new MemoryCache() },
  { name: 'DiskCache', make: (t) => new DiskCache(tempDir(t)) },
];

const notStrings = [5, { k: 1 }, Symbol('k'), null, undefined];
const refused = (err) => err.code === ErrorCodes.INVALID_ARG_TYPE && err instanceof TypeError;

for (const { name, make } of Caches) {
  describe(`${name} keys`, () => {
    test('a key that is not a string is refused by every method with FJ_INVALID_ARG_TYPE, and nothing changes', async (t) => {
      const cache = make(t);
      cache.setSync('kept', 'v');
      const before = cache.stats();
      for (const key of notStrings) {
        assert.throws(() => cache.setSync(key, 'x'), refused);
        assert.throws(() => cache.getSync(key), refused);
        await assert.rejects(cache.set(key, 'x'), refused);
        await assert.rejects(cache.get(key), refused);
        await assert.rejects(cache.delete(key), refused);
      }
      assert.deepEqual(cache.stats(), before);
      cache.setSync('ok', 'v');
      assert.deepEqual([cache.getSync('kept'), cache.getSync('ok')], [{ value: 'v' }, { value: 'v' }]);
    });

    test('keys that differ only in lone surrogates are distinct keys', async (t) => {
      const cache = make(t);
      await cache.set('\ud800', 'high');
      cache.setSync('\udc00', 'low');
      assert.deepEqual(await cache.get('\ud800'), { value: 'high' });
      assert.deepEqual(cache.getSync('\udc00'), { value: 'low' });
      assert.equal(await cache.get('\ufffd'), undefined);
      await cache.set('\ufffd', 'replacement');
      assert.deepEqual([cache.getSync('\ud800'), cache.getSync('\ufffd')], [{ value: 'high' }, { value: 'replacement' }]);
    });
  });
}

describe('MemoryCache', () => {
  test('returns what was stored, as a copy, with typed arrays, Maps, Sets, Dates and bigints intact', async () => {
    const cache = new MemoryCache();
    const value = rich();
    await cache.set('k', value);
    const hit = await cache.get('k');
    assert.deepEqual(hit.value, value);
    assert.notEqual(hit.value, value);
    hit.value.bytes[0] = 99;
    assert.equal((await cache.get('k')).value.bytes[0], 1);
  });

  test('stores undefined as a value, distinct from a miss', async () => {
    const cache = new MemoryCache();
    await cache.set('u', undefined);
    assert.deepEqual(await cache.get('u'), { value: undefined });
    assert.equal(await cache.get('missing'), undefined);
  });

  test('past maxEntries the least recently used entry goes', () => {
    const cache = new MemoryCache({ maxEntries: 2 });
    cache.setSync('a', 1);
    cache.setSync('b', 2);
    cache.getSync('a');
    cache.setSync('c', 3);
    assert.equal(cache.getSync('b'), undefined);
    assert.deepEqual([cache.getSync('a')?.value, cache.getSync('c')?.value], [1, 3]);
    assert.equal(cache.stats().evictions, 1);
  });

  test('past maxBytes the least recently used entries go', () => {
    const kib = new Uint8Array(1024);
    const cache = new MemoryCache({ maxBytes: 3 * 1024 + 200 });
    for (const key of ['a', 'b', 'c']) cache.setSync(key, kib);
    cache.getSync('a');
    cache.setSync('d', kib);
    assert.equal(cache.getSync('b'), undefined);
    assert.ok(cache.getSync('a') && cache.getSync('c') && cache.getSync('d'));
    assert.ok(cache.stats().bytes <= 3 * 1024 + 200);
  });

  test('a value that cannot be cloned is refused with FJ_CACHE_WRITE_FAILED', () => {
    assert.throws(() => new MemoryCache().setSync('f', { fn: () => 1 }), (err) => err.code === ErrorCodes.CACHE_WRITE_FAILED);
  });
});

describe('DiskCache', () => {
  test('returns what was stored, with typed arrays, Maps, Sets, Dates and bigints intact', async (t) => {
    const dir = tempDir(t);
    await new DiskCache(dir).set('k', rich());
    const hit = await new DiskCache(dir).get('k');
    assert.deepEqual(hit.value, rich());
  });

  test('the synchronous and asynchronous methods read each other\'s entries', async (t) => {
    const cache = new DiskCache(tempDir(t));
    cache.setSync('one', 1);
    await cache.set('two', 2);
    assert.deepEqual([(await cache.get('one')).value, cache.getSync('two').value], [1, 2]);
  });

  test('entries are files named by their key\'s hash; nothing is left in the temporary folder', async (t) => {
    const dir = tempDir(t);
    const cache = new DiskCache(dir);
    await cache.set('some key', 'value');
    const files = entryFiles(dir);
    assert.equal(files.length, 1);
    assert.match(files[0], /[0-9a-f]{64}$/);
    assert.deepEqual(readdirSync(join(dir, 'tmp')), []);
  });

  test('a well-formed key keeps its place and bytes on disk: the SHA-256 of its UTF-8 names the file', async (t) => {
    const dir = tempDir(t);
    const key = 'clé 😀';
    await new DiskCache(dir).set(key, 1);
    const [file] = entryFiles(dir);
    const utf8 = Buffer.from(key, 'utf8');
    assert.equal(file, join(dir, 'v1', createHash('sha256').update(utf8).digest('hex').slice(0, 2), createHash('sha256').update(utf8).digest('hex')));
    assert.deepEqual(readFileSync(file).subarray(48, 48 + utf8.length), utf8);
  });

  test('an entry under a lone-surrogate key is read back by another instance', async (t) => {
    const dir = tempDir(t);
    new DiskCache(dir).setSync('a\ud800b', 'A');
    assert.deepEqual(await new DiskCache(dir).get('a\ud800b'), { value: 'A' });
    assert.equal(new DiskCache(dir).getSync('a\ufffdb'), undefined);
  });

  test('a key and the SHA-256 hex of another key are two entries, in two files', async (t) => {
    const dir = tempDir(t);
    const cache = new DiskCache(dir);
    const hex = createHash('sha256').update('hello').digest('hex');
    await cache.set('hello', 'H');
    cache.setSync(hex, 'S');
    assert.deepEqual([await cache.get('hello'), cache.getSync(hex)], [{ value: 'H' }, { value: 'S' }]);
    assert.equal(entryFiles(dir).length, 2);
    assert.equal(await cache.delete(hex), true);
    assert.deepEqual([await cache.get('hello'), cache.getSync(hex)], [{ value: 'H' }, undefined]);
  });

  test('an entry an earlier version stored under a hex key\'s own name is still read, and deleted', async (t) => {
    const dir = tempDir(t);
    const key = createHash('sha256').update('input').digest('hex');
    new DiskCache(dir).setSync(key, 'old');
    // Where earlier versions put the entry of a key that looked like a digest: a file named by the key itself.
    const [file] = entryFiles(dir);
    const legacy = join(dir, 'v1', key.slice(0, 2), key);
    mkdirSync(dirname(legacy), { recursive: true });
    renameSync(file, legacy);
    const cache = new DiskCache(dir);
    assert.deepEqual([cache.getSync(key), await cache.get(key)], [{ value: 'old' }, { value: 'old' }]);
    assert.equal(await cache.delete(key), true);
    assert.equal(cache.getSync(key), undefined);
  });

  test('a URL of another scheme given as text is refused; a path with a drive letter or a colon is a path', (t) => {
    for (const bad of ['https://example.com/cache', 'http://localhost/c', 's3://bucket/cache']) {
      assert.throws(() => new DiskCache(bad), (err) => err instanceof RangeError && err.code === ErrorCodes.INVALID_ARG_VALUE, bad);
    }
    const dir = tempDir(t);
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      for (const ok of ['C:\\cache', 'c:/cache', 'cache:v1']) assert.equal(new DiskCache(ok).dir, join(dir, ok), ok);
    } finally {
      process.chdir(cwd);
    }
    assert.equal(existsSync(join(cwd, 'https:')), false);
  });

  test('a directory that cannot be created fails with FJ_CACHE_WRITE_FAILED, naming it, the system error as cause', (t) => {
    const file = join(tempDir(t), 'a-file');
    writeFileSync(file, '');
    const dir = join(file, 'cache');
    assert.throws(() => new DiskCache(dir), (err) =>
      err.code === ErrorCodes.CACHE_WRITE_FAILED && err.message.includes(dir) && err.cause?.code === 'ENOTDIR');
  });

  test('memoize tells apart arrays that differ only in their own properties besides their items (RegExp matches)', () => {
    const where = memoize(function where(m) { return m.index; });
    assert.deepEqual([where('xxb'.match(/b/)), where('b'.match(/b/))], [2, 0]);
  });

  test('a directory where no folder can ever be made (under /proc) fails with FJ_CACHE_WRITE_FAILED instead of trying forever (Linux)', () => {
    assert.throws(() => new DiskCache('/proc/forkjoin-cache-test/v1'), (err) => err.code === ErrorCodes.CACHE_WRITE_FAILED && err.cause?.code === 'ENOENT');
  });

  test('a file: URL given as text is the folder it names', (t) => {
    const dir = join(tempDir(t), 'by-url');
    assert.equal(new DiskCache(pathToFileURL(dir).href).dir, dir);
    assert.ok(existsSync(dir));
  });

  test('a dir with a NUL byte, or a URL that is not a file: URL, is refused at construction with FJ_INVALID_ARG_VALUE', (t) => {
    const dir = tempDir(t);
    for (const bad of [join(dir, 'a\0b'), new URL(`file://${dir}/a%00b`), new URL('https://example.com/cache')]) {
      assert.throws(() => new DiskCache(bad), (err) => err instanceof RangeError && err.code === ErrorCodes.INVALID_ARG_VALUE, String(bad));
    }
    assert.deepEqual(readdirSync(dir), [], 'nothing was made');
  });

  test("an empty dir is refused with FJ_INVALID_ARG_VALUE instead of filling the working directory", () => {
    assert.throws(() => new DiskCache(''), (err) => err instanceof RangeError && err.code === ErrorCodes.INVALID_ARG_VALUE);
  });

  test('a damaged entry is dropped and reported, never returned', async (t) => {
    const dir = tempDir(t);
    const cache = new DiskCache(dir);
    await cache.set('k', new Float64Array(100).fill(1));
    const [file] = entryFiles(dir);
    const bytes = readFileSync(file);
    bytes[bytes.length - 10] ^= 0xff;
    writeFileSync(file, bytes);
    const warned = nextWarning(ErrorCodes.CACHE_CORRUPT);
    assert.equal(await cache.get('k'), undefined);
    await warned;
    assert.equal(existsSync(file), false);
    assert.equal(cache.stats().corrupt, 1);
  });

  test('a truncated entry (a write torn by a power loss) is dropped, never returned', async (t) => {
    const dir = tempDir(t);
    const cache = new DiskCache(dir);
    cache.setSync('k', 'a value long enough to cut in half');
    const [file] = entryFiles(dir);
    truncateSync(file, statSync(file).size - 5);
    const warned = nextWarning(ErrorCodes.CACHE_CORRUPT);
    assert.equal(cache.getSync('k'), undefined);
    await warned;
    assert.equal(cache.stats().corrupt, 1);
  });

  test('a process killed while writing leaves no readable half entry', T, async (t) => {
    const dir = tempDir(t);
    new DiskCache(dir); // creates the folders the writer will use
    const child = spawn(process.execPath, [fixture('disk-writer.js'), dir, 'big', '256'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    // Kill it as soon as its temporary file exists: the entry is being written.
    await new Promise((resolve) => {
      const watcher = watch(join(dir, 'tmp'), () => {
        if (readdirSync(join(dir, 'tmp')).length === 0) return;
        child.kill('SIGKILL');
        watcher.close();
        resolve();
      });
    });
    const { signal } = await exited;
    assert.equal(signal, 'SIGKILL');
    assert.equal(readdirSync(join(dir, 'tmp')).length, 1, 'the write was under way');
    assert.equal(new DiskCache(dir).getSync('big'), undefined);
  });

  test('several processes share one directory: every value right, each computed once or a few times', T, async (t) => {
    const dir = tempDir(t);
    const runs = await Promise.all([0, 1, 2].map((seed) => runNode([fixture('disk-sharer.js'), dir, String(seed), '150'])));
    const outs = runs.map((r) => {
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    });
    for (const out of outs) {
      assert.equal(out.wrong, 0);
      assert.equal(out.corrupt, 0);
    }
    // 150 keys, 3 rounds, 3 processes: without sharing each process would compute all 150 itself.
    const computed = outs.reduce((n, o) => n + o.computed, 0);
    assert.ok(computed < 3 * 150, `${computed} computations`);
    assert.equal(entryFiles(dir).length, 150);
    assert.deepEqual(readdirSync(join(dir, 'tmp')), []);
  });

  test('past maxBytes the least recently used entries go', async (t) => {
    const dir = tempDir(t);
    const kib = new Uint8Array(1024);
    const probe = new DiskCache(tempDir(t));
    probe.setSync('x', kib);
    const size = probe.stats().bytes;
    const cache = new DiskCache(dir, { maxBytes: Math.floor(3.5 * size) });
    for (const key of ['a', 'b', 'c']) cache.setSync(key, kib);
    cache.getSync('a');
    cache.setSync('d', kib);
    assert.equal(cache.getSync('b'), undefined);
    assert.ok(cache.getSync('a') && cache.getSync('c') && cache.getSync('d'));
    assert.equal(entryFiles(dir).length, 3);
    assert.equal(cache.stats().evictions, 1);
  });

  test('a value larger than maxBytes on its own is not kept, and every other entry stays, as in a MemoryCache', async (t) => {
    const dir = tempDir(t);
    const memory = new MemoryCache({ maxBytes: 2000 });
    const disk = new DiskCache(dir, { maxBytes: 2000 });
    for (const cache of [memory, disk]) {
      for (const key of ['a', 'b', 'c']) cache.setSync(key, 'x'.repeat(300));
      cache.setSync('huge', 'y');
      cache.setSync('huge', 'x'.repeat(5000));
      await cache.set('huge too', 'x'.repeat(5000));
      assert.equal(cache.getSync('huge'), undefined, `${cache.constructor.name}: the key's older, smaller value goes too`);
      assert.equal(await cache.get('huge too'), undefined);
      assert.deepEqual(['a', 'b', 'c'].map((key) => cache.getSync(key)?.value.length), [300, 300, 300], cache.constructor.name);
      assert.equal(cache.stats().evictions, 0);
    }
    assert.equal(entryFiles(dir).length, 3);
  });

  test('delete and clear remove entries', async (t) => {
    const cache = new DiskCache(tempDir(t));
    await cache.set('a', 1);
    await cache.set('b', 2);
    assert.equal(await cache.delete('a'), true);
    assert.equal(await cache.delete('a'), false);
    await cache.clear();
    assert.equal(await cache.get('b'), undefined);
  });

  test('clear() while another process writes to the directory clears it, and the writer goes on', T, async (t) => {
    const dir = tempDir(t);
    const cache = new DiskCache(dir, { fsync: false });
    const writer = spawn(process.execPath, [fixture('disk-busy-writer.js'), dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    t.after(() => writer.kill());
    let stdout = '';
    let stderr = '';
    writer.stderr.setEncoding('utf8').on('data', (chunk) => { stderr += chunk; });
    const ended = new Promise((resolve) => writer.on('close', resolve));
    const writing = new Promise((resolve, reject) => {
      writer.stdout.setEncoding('utf8').on('data', (chunk) => {
        stdout += chunk;
        if (stdout.startsWith('writing\n')) resolve();
      });
      ended.then(() => reject(new Error(`the writer ended before it wrote: ${stderr}`)));
    });
    try {
      await writing;
      for (let i = 0; i < 50; i++) await cache.clear();
      await filesAppear(join(dir, 'v1'), 1, () => true); // the writer goes on, in the folders it makes again
    } finally {
      writer.stdin.end(); // the writer stops, and is gone before its directory is removed
      await ended;
    }
    assert.equal(writer.exitCode, 0, stderr);
    const report = JSON.parse(stdout.trim().split('\n').at(-1));
    // A write that loses the race to clear() again and again may fail, with a code, and the writer goes on.
    assert.deepEqual(report.failures.filter((code) => code !== ErrorCodes.CACHE_WRITE_FAILED), []);
    await cache.clear();
    assert.deepEqual([entryFiles(dir), readdirSync(join(dir, 'tmp'))], [[], []], 'no entry, nothing left behind');
    cache.setSync('after', 1);
    assert.deepEqual(cache.getSync('after'), { value: 1 });
  });

  test('a clear() the file system refuses fails with FJ_CACHE_WRITE_FAILED, the system error as cause', async (t) => {
    const dir = tempDir(t);
    const cache = new DiskCache(dir);
    await cache.set('k', 1);
    rmSync(join(dir, 'tmp'), { recursive: true });
    writeFileSync(join(dir, 'tmp'), 'a file where the cache keeps its temporary files');
    await assert.rejects(cache.clear(), (err) => err.code === ErrorCodes.CACHE_WRITE_FAILED && typeof err.cause?.code === 'string');
  });

  test('options of the wrong type are refused', (t) => {
    assert.throws(() => new DiskCache(tempDir(t), { maxBytes: 'big' }), (err) => err.code === ErrorCodes.INVALID_ARG_TYPE);
  });
});

describe('memoize', () => {
  test('a synchronous function stays synchronous and computes each argument once', () => {
    let calls = 0;
    const double = memoize((x) => {
      calls++;
      return x * 2;
    });
    assert.equal(double(21), 42);
    assert.equal(double(21), 42);
    assert.equal(double(5), 10);
    assert.equal(calls, 2);
  });

  test('equal arguments hit, whatever their object key order', () => {
    let calls = 0;
    const f = memoize((o) => {
      calls++;
      return o.a + o.b;
    });
    f({ a: 1, b: 2 });
    f({ b: 2, a: 1 });
    assert.equal(calls, 1);
  });

  test('a hole and undefined in an array are different arguments, as structured clone keeps them apart', () => {
    const f = memoize((list) => 1 in list);
    assert.equal(f([1, , 3]), false);
    assert.equal(f([1, undefined, 3]), true);
    assert.equal(f([1, , 3]), false);
  });

  test('a Buffer and a Uint8Array with the same bytes are one argument: a Buffer arrives in a worker as a Uint8Array', () => {
    let calls = 0;
    const f = memoize((bytes) => {
      calls++;
      return bytes.length;
    });
    f(Buffer.from([1, 2, 3]));
    f(new Uint8Array([1, 2, 3]));
    assert.equal(calls, 1);
  });

  test('the keys of ordinary arguments do not change between versions, so existing caches stay valid', () => {
    const keys = [];
    const cache = new MemoryCache();
    const spy = { get: (k) => cache.get(k), set: (k, v) => (keys.push(k), cache.set(k, v)), delete: (k) => cache.delete(k), clear: () => cache.clear() };
    const f = memoize((...args) => args.length, { cache: spy });
    return Promise.all([
      f([1, undefined, 'x'], { a: [null, 2.5] }),
      f(new Uint8Array([1, 2, 3]), new Map([[1, new Set(['s'])]]), -0, 10n),
    ]).then(() => assert.deepEqual(keys, ['t83bvtvgkdmvm6sq3f8hs7ld', 'd6h4qjfgiggeija8t902cfa6']));
  });

  test('an argument that shares its containers is keyed once per container: x = [x, x] forty times over', { timeout: 60_000 }, () => {
    const keys = [];
    const cache = new MemoryCache();
    const spy = { get: (k) => cache.get(k), set: (k, v) => (keys.push(k), cache.set(k, v)), delete: (k) => cache.delete(k), clear: () => cache.clear() };
    const f = memoize((v) => Array.isArray(v), { cache: spy });
    const shared = (depth) => { let x = [0]; for (let i = 0; i < depth; i++) x = [x, x]; return x; };
    // 2^40 paths through 41 arrays: walking each path would never end.
    return Promise.all([f(shared(40)), f(shared(40))]).then(async () => {
      const a = { n: 1 };
      await f([a, a]);
      await f([a, { n: 1 }]);
      assert.equal(keys.length, 3, 'the same shape twice is one key; [a, a] and [a, a copy of a] are two, as structured clone tells them apart');
      assert.equal(new Set(keys).size, 3);
    });
  });

  test('inside a Set or a Map, a container met twice is keyed apart from its insertion order: no two different Sets share a key', () => {
    const describe = memoize((s) => JSON.stringify([...s]));
    const a = { a: 1 };
    const b = { b: 1 };
    // Each Set meets one object twice; numbering that followed insertion made the two alike.
    assert.equal(describe(new Set([[a], [{ b: 1 }, a]])), '[[{"a":1}],[{"b":1},{"a":1}]]');
    assert.equal(describe(new Set([[b, b], [{ a: 1 }]])), '[[{"b":1},{"b":1}],[{"a":1}]]');
    let runs = 0;
    const size = memoize((s) => { runs++; return s.size; });
    const x = { x: 1 };
    size(new Set([{ p: x }, [x]]));
    size(new Set([[x], { p: x }]));
    assert.equal(runs, 1, 'the same Set in another insertion order is one key');
  });

  test('arguments too deep or unreadable to key on bypass the cache: the function runs each time', () => {
    let deep = [];
    for (let i = 0; i < 20_000; i++) deep = [deep];
    let calls = 0;
    const f = memoize(() => ++calls);
    assert.deepEqual([f(deep), f(deep)], [1, 2]);
    assert.equal(f({ get x() { throw new Error('unreadable'); } }), 3);
  });

  test('a caller that joined a running computation gets the result as computed, whatever the first caller does with its own', async () => {
    let release;
    const gate = new Promise((resolve) => { release = resolve; });
    const load = memoize(async (id) => { await gate; return { id, tag: 'as computed' }; });
    const first = (async () => { const r = await load(1); r.tag = 'changed by the first caller'; return r; })();
    const joiner = load(1);
    release();
    assert.equal((await first).tag, 'changed by the first caller');
    assert.equal((await joiner).tag, 'as computed');
  });

  test('concurrent callers sharing one computation each get their own copy of the result', async () => {
    let calls = 0;
    const load = memoize(async (id) => { calls++; await new Promise((r) => setImmediate(r)); return { id, tags: ['a'] }; });
    const [r1, r2, r3] = await Promise.all([load(7), load(7), load(7)]);
    assert.equal(calls, 1);
    assert.deepEqual([r2, r3], [r1, r1]);
    r1.tags.push('changed by the first caller');
    assert.deepEqual(r2.tags, ['a'], 'a change by one caller is not seen by another');
    assert.notEqual(r2, r3);
  });

  test('concurrent calls of an async function with one key share one computation', async () => {
    let calls = 0;
    let release;
    const gate = new Promise((resolve) => { release = resolve; });
    const slow = memoize(async (x) => {
      calls++;
      await gate;
      return x + 1;
    });
    const first = slow(1);
    const second = slow(1);
    release();
    assert.deepEqual(await Promise.all([first, second]), [2, 2]);
    assert.equal(calls, 1);
    assert.equal(await slow(1), 2);
    assert.equal(calls, 1);
  });

  test('a rejected computation is not kept: the next call computes again', async () => {
    let calls = 0;
    const flaky = memoize(async (x) => {
      calls++;
      if (calls === 1) throw Object.assign(new Error('first fails'), { code: 'E_FIRST' });
      return x;
    });
    await assert.rejects(flaky(7), (err) => err.code === 'E_FIRST');
    assert.equal(await flaky(7), 7);
    assert.equal(calls, 2);
  });

  test('a throw is not kept either', () => {
    let calls = 0;
    const f = memoize((x) => {
      if (++calls === 1) throw new RangeError('once');
      return x;
    });
    assert.throws(() => f(1), RangeError);
    assert.equal(f(1), 1);
  });

  test('two functions sharing a cache never get each other\'s results', () => {
    const cache = new MemoryCache();
    const plus = memoize((x) => x + 1, { cache });
    const times = memoize((x) => x * 10, { cache });
    assert.equal(plus(3), 4);
    assert.equal(times(3), 30);
  });

  test('a changed version changes the key', () => {
    const cache = new MemoryCache();
    let calls = 0;
    const make = (version) => memoize((x) => {
      calls++;
      return x;
    }, { cache, version });
    make(1)(0);
    make(1)(0);
    make(2)(0);
    assert.equal(calls, 2);
  });

  test('with a DiskCache, a second process gets the result without computing', T, async (t) => {
    const dir = tempDir(t);
    const first = await runNode([fixture('memoize-run.js'), dir, '300']);
    const second = await runNode([fixture('memoize-run.js'), dir, '300']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(second.code, 0, second.stderr);
    const [a, b] = [JSON.parse(first.stdout), JSON.parse(second.stdout)];
    assert.equal(a.computed, 1);
    assert.equal(b.computed, 0);
    assert.equal(b.value, a.value);
    assert.equal(b.type, 'bigint');
  });

  test('a value that cannot be stored is returned anyway, with a warning', async () => {
    const warned = nextWarning(ErrorCodes.CACHE_WRITE_FAILED);
    const f = memoize(() => ({ fn() {} }));
    assert.equal(typeof f().fn, 'function');
    await warned;
  });

  test('a class instance result is returned as it is, to the first caller, to those that joined it and to later ones, with a warning, never as a plain copy', async (t) => {
    class Conn {
      constructor(id) { this.id = id; }
      query() { return `q${this.id}`; }
    }
    const warnings = [];
    const listener = (w) => warnings.push(w);
    process.on('warning', listener);
    t.after(() => process.off('warning', listener));
    let calls = 0;
    let release;
    const gate = new Promise((resolve) => { release = resolve; });
    const connect = memoize(async (id) => { calls++; await gate; return new Conn(id); });
    const joined = [connect(1), connect(1), connect(1)];
    release();
    const results = await Promise.all(joined);
    assert.ok(results.every((r) => r instanceof Conn && r.query() === 'q1'), 'every caller in flight gets a Conn');
    assert.ok((await connect(1)) instanceof Conn, 'a later call too: nothing was stored');
    assert.equal(calls, 2);
    const open = memoize((id) => ({ conn: new Conn(id) }));
    assert.deepEqual([open(2).conn.query(), open(2).conn.query()], ['q2', 'q2']);
    assert.equal(open.cache.stats().entries, 0);
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    const told = warnings.filter((w) => w.code === ErrorCodes.CACHE_WRITE_FAILED);
    assert.equal(told.length, 2, 'once per memoized function');
    assert.ok(told.every((w) => /an instance of Conn/.test(w.message)));
  });

  test('a memoized method that reads this is keyed on the object it is called on', async (t) => {
    let calls = 0;
    const price = memoize(function (qty) {
      calls++;
      return this.unit * qty;
    });
    const apple = { unit: 1, price };
    const car = { unit: 20_000, price };
    assert.deepEqual([apple.price(2), car.price(2), apple.price(2), car.price(2)], [2, 40_000, 2, 40_000]);
    assert.equal(calls, 2, 'each object\'s call is computed once: the method on it is keyed by what it is');
    apple.unit = 3;
    assert.equal(apple.price(2), 6, 'a changed receiver is another key');
    class Cart {
      constructor(items) { this.items = items; }
    }
    Cart.prototype.total = memoize(function () { return this.items.reduce((sum, x) => sum + x, 0); }, { cache: new DiskCache(tempDir(t)) });
    assert.deepEqual([new Cart([1, 2]).total(), new Cart([5]).total()], [3, 5]);
  });

  test('a class instance, as receiver or argument, bypasses the cache: its private fields are part of it and no key sees them', () => {
    class Account {
      #balance;
      constructor(balance) { this.#balance = balance; }
      get balance() { return this.#balance; }
    }
    let calls = 0;
    Account.prototype.interest = memoize(function (rate) { calls++; return this.balance * rate; });
    assert.deepEqual([new Account(100).interest(0.5), new Account(500).interest(0.5)], [50, 250]);
    const fee = memoize((account) => { calls++; return account.balance / 100; });
    assert.deepEqual([fee(new Account(100)), fee(new Account(700))], [1, 7]);
    assert.equal(calls, 4);
    class Ledger extends Map {
      #owner;
      constructor(owner) { super(); this.#owner = owner; }
      get owner() { return this.#owner; }
    }
    const ownerOf = memoize((ledger) => ledger.owner);
    assert.deepEqual([ownerOf(new Ledger('ann')), ownerOf(new Ledger('bob'))], ['ann', 'bob'], 'a subclass of Map is a class instance too');
    const codeOf = memoize((error) => error.code);
    assert.deepEqual([codeOf(Object.assign(new Error('x'), { code: 'A' })), codeOf(Object.assign(new Error('x'), { code: 'B' }))], ['A', 'B']);
    const sum = memoize((bytes) => { calls++; return bytes.reduce((a, b) => a + b, 0); });
    assert.deepEqual([sum(Buffer.from([1, 2])), sum(Buffer.from([1, 2])), sum(new Uint8Array([1, 2]))], [3, 3, 3]);
    assert.equal(calls, 5, 'plain data, a Buffer included, is still keyed by content');
  });

  test('a memoized function that never reads this hits whatever object it is called on', () => {
    let calls = 0;
    const helper = () => 'not data';
    const arrow = memoize((id) => { calls++; return typeof this === 'undefined' ? id * 2 : -1; });
    const plain = memoize(function (id) { calls++; return id * 2; });
    for (const get of [arrow, plain]) {
      calls = 0;
      const api = { get, helper };
      const other = { get, helper, name: 'other' };
      assert.deepEqual([api.get(1), api.get(1), other.get(1), get(1)], [2, 2, 2, 2]);
      assert.equal(calls, 1, get === arrow ? 'an arrow function' : 'a function that never names this');
    }
  });

  test('a bound function is refused: its source does not identify it', () => {
    assert.throws(() => memoize(function f() {}.bind(null)), (err) => err.code === ErrorCodes.INVALID_ARG_TYPE);
  });
});

describe('a cache of your own', () => {
  /** A cache kept in a Map whose get() answers `miss()` where it holds nothing (or throws what it throws). */
  const cacheAnswering = (miss) => {
    const entries = new Map();
    return {
      entries,
      get: async (key) => (entries.has(key) ? { value: entries.get(key) } : miss()),
      set: async (key, value) => { entries.set(key, value); },
      delete: async (key) => entries.delete(key),
      clear: async () => entries.clear(),
    };
  };
  /** The codes of the process warnings emitted while `run` runs. */
  const warningsDuring = async (run) => {
    const codes = [];
    const listener = (warning) => codes.push(warning.code);
    process.on('warning', listener);
    try {
      await run();
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', listener);
    }
    return codes;
  };
  const double = delayed((x) => x * 2);
  const executor = new LocalExecutor();

  test('a get() answering neither undefined nor { value } is a miss for compute and memoize alike, reported as FJ_CACHE_CORRUPT', async () => {
    for (const answer of [42, null, 'hit', { val: 1 }]) {
      const cache = cacheAnswering(() => answer);
      const codes = await warningsDuring(async () => {
        assert.equal(await compute(double(21), { executor, cache }), 42, `compute, get() answering ${answer}`);
        assert.equal(await memoize(async (x) => x * 2, { cache })(21), 42, `memoize, get() answering ${answer}`);
      });
      assert.deepEqual(codes, [ErrorCodes.CACHE_CORRUPT, ErrorCodes.CACHE_CORRUPT]);
      assert.equal(cache.entries.size, 2, 'each value computed was stored');
    }
  });

  test('a get() that throws or rejects is a miss for compute and memoize alike, reported as FJ_CACHE_READ_FAILED', async () => {
    const failing = [
      () => { throw new Error('get failed'); },
      () => Promise.reject(new Error('get failed')),
    ];
    for (const fail of failing) {
      const cache = cacheAnswering(() => 'unused');
      cache.get = (key) => fail(key);
      const codes = await warningsDuring(async () => {
        assert.equal(await compute(double(21), { executor, cache }), 42);
        assert.equal(await memoize(async (x) => x * 2, { cache })(21), 42);
      });
      assert.deepEqual(codes, [ErrorCodes.CACHE_READ_FAILED, ErrorCodes.CACHE_READ_FAILED]);
    }
  });

  test('a getSync() that throws or answers badly is a miss too: a memoized synchronous function stays synchronous and right', async () => {
    const answers = [[() => { throw new Error('getSync failed'); }, ErrorCodes.CACHE_READ_FAILED], [() => 42, ErrorCodes.CACHE_CORRUPT]];
    for (const [getSync, code] of answers) {
      const store = new MemoryCache();
      const cache = { get: (k) => store.get(k), set: (k, v) => store.set(k, v), delete: (k) => store.delete(k), clear: () => store.clear(), getSync, setSync: (k, v) => store.setSync(k, v) };
      const codes = await warningsDuring(() => {
        const f = memoize((x) => x * 2, { cache });
        assert.deepEqual([f(21), f(21)], [42, 42]);
      });
      assert.deepEqual(codes, [code], 'reported once per memoized function');
    }
  });
});

test('a DiskCache whose folder was removed while in use makes it again on the next write', async (t) => {
  const dir = tempDir(t);
  const cache = new DiskCache(dir);
  await cache.set('a', 1);
  rmSync(dir, { recursive: true, force: true });
  await cache.set('b', 2);
  cache.setSync('c', 3);
  assert.deepEqual(await cache.get('b'), { value: 2 });
  assert.deepEqual(await cache.get('c'), { value: 3 });
});
