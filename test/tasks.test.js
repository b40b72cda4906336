// Naming tasks and moving data across the boundary: inline functions, clone
// failures, transferred ArrayBuffers and shared memory.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createSecretKey } from 'node:crypto';
import net from 'node:net';
import vm from 'node:vm';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ErrorCodes, ProcessPool, ThreadPool, isForkJoinError, isTaskRef, taskModule, taskRef } from 'forkjoin';
import { PoolKinds, settleWithin, sleepy, tasks, tempDir, using } from './fixtures/helpers.js';
import { nested } from './fixtures/tasks.js';

const T = { timeout: 60_000 };

/** Each `[args, path]` of `cases`: the call fails before dispatch with FJ_ARG_NOT_CLONEABLE naming `path`. */
async function refusedAt(pool, cases) {
  for (const [args, path] of cases) {
    await assert.rejects(pool.run(tasks.identity, args), (err) => {
      assert.equal(err.code, 'FJ_ARG_NOT_CLONEABLE');
      assert.equal(err.path, path);
      return true;
    }, path);
  }
}
const code = (c) => (err) => {
  assert.equal(err.code, c, `expected ${c}, got ${err.code}: ${err.message}`);
  return true;
};

describe('task references', () => {
  test('taskModule() gives a reference for any export name, with module URL and name', () => {
    const url = new URL('./fixtures/tasks.js', import.meta.url);
    const mod = taskModule(url);
    assert.ok(isTaskRef(mod.square));
    assert.equal(mod.square.name, 'square');
    assert.equal(mod.square.module, url.href);
    assert.equal(mod.square, mod.square, 'the same reference each time');
  });

  test('taskRef() names one export of a module', () => {
    const ref = taskRef(new URL('./fixtures/tasks.js', import.meta.url), 'add');
    assert.ok(isTaskRef(ref));
    assert.equal(ref.name, 'add');
  });

  test('taskModule() refuses a relative path with FJ_INVALID_ARG_TYPE', () => {
    assert.throws(() => taskModule('./fixtures/tasks.js'), (err) => err instanceof TypeError && err.code === 'FJ_INVALID_ARG_TYPE');
  });

  test('a task module awaited by mistake is not a thenable', async () => {
    const mod = taskModule(new URL('./fixtures/tasks.js', import.meta.url));
    assert.equal(await mod, mod);
  });
});

describe('error codes', () => {
  test('isForkJoinError answers false for what cannot be read (a throwing code getter, a revoked Proxy), never throwing itself', () => {
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    for (const value of [revocable.proxy, { get code() { throw new Error('no'); } }, new Proxy({}, { get() { throw new Error('trap'); } })]) {
      assert.equal(isForkJoinError(value), false);
    }
  });

  test('every error code is a unique string starting with FJ_', () => {
    const codes = Object.values(ErrorCodes);
    assert.ok(codes.length > 10);
    for (const c of codes) assert.match(c, /^FJ_[A-Z_]+$/);
    assert.equal(new Set(codes).size, codes.length);
  });

  test('isForkJoinError recognises an error from another realm by its code', () => {
    const foreign = vm.runInNewContext('const e = new Error("from elsewhere"); e.code = "FJ_TASK_TIMEOUT"; e');
    assert.equal(foreign instanceof Error, false, 'instanceof cannot see it');
    assert.equal(isForkJoinError(foreign), true);
    assert.equal(isForkJoinError(foreign, 'FJ_TASK_TIMEOUT'), true);
    assert.equal(isForkJoinError(foreign, 'FJ_ABORTED'), false);
  });

  test('isForkJoinError is false for an object that is not an Error, even with a forkjoin code', () => {
    const lookAlikes = [
      { code: 'FJ_TASK_FAILED' },
      { code: 'FJ_PROTOCOL', message: 'looks like one', stack: 'Error: looks like one' },
      Object.create({ code: 'FJ_ABORTED' }),
      { code: 'FJ_TASK_FAILED', [Symbol.toStringTag]: 'Error' },
      Object.assign(Object.create(Error.prototype), { code: 'FJ_TASK_FAILED' }),
    ];
    for (const value of lookAlikes) {
      assert.equal(isForkJoinError(value), false, JSON.stringify(value));
      assert.equal(isForkJoinError(value, value.code), false, JSON.stringify(value));
    }
  });

  test('isForkJoinError is false for errors without a forkjoin code', () => {
    const plain = Object.assign(new Error('x'), { code: 'ENOENT' });
    for (const value of [plain, new Error('x'), null, undefined, 'FJ_ABORTED', { code: 42 }]) assert.equal(isForkJoinError(value), false);
  });
});

for (const E of PoolKinds) {
  describe(E.name, () => {
    test('an inline function that reads a variable of its enclosing scope fails with FJ_INLINE_CLOSURE naming it', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      const factor = 3;
      await assert.rejects(pool.run((x) => x * factor, [2]), (err) => {
        assert.equal(err.code, 'FJ_INLINE_CLOSURE');
        assert.ok(isForkJoinError(err, 'FJ_INLINE_CLOSURE'));
        assert.ok(err.message.includes('factor'), err.message);
        return true;
      });
      const closure = (err) => err.code === 'FJ_INLINE_CLOSURE' && err.message.includes('factor') && err.index === 0;
      await assert.rejects(pool.map((x) => x * factor, [1, 2, 3]), closure, 'map reports it too, with the input index');
      await assert.rejects(pool.map(async (x) => x * factor, [1, 2]), closure, 'an async inline function too');
    });

    test('an inline function that writes a variable of its enclosing scope fails with FJ_INLINE_CLOSURE, and leaves no global behind', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      let total = 0;
      await assert.rejects(pool.run((x) => { total = x; return 'wrote'; }, [5]), (err) => {
        assert.equal(err.code, 'FJ_INLINE_CLOSURE', err.message);
        assert.ok(err.message.includes('total'), err.message);
        return true;
      });
      assert.equal(total, 0);
      assert.equal(await pool.run(() => typeof globalThis.total, []), 'undefined');
    });

    test('an inline function whose syntax only sloppy mode allows (an octal literal, `with`) runs as written', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      // Made from text: this file, a module, is strict, and would not parse them.
      const octal = new Function('return function octal() { return 010; }')();
      const withBlock = new Function('return function withBlock(o) { with (o) { return a + b; } }')();
      assert.equal(await pool.run(octal, []), 8);
      assert.equal(await pool.run(withBlock, [{ a: 40, b: 2 }]), 42);
    });

    test("an inline function's stack frames give the line and column of its own source", T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      await assert.rejects(pool.run(function inl(x) { return x.y.z; }, [{}]), (err) => {
        assert.match(err.stack, /forkjoin-inline:inl:1:\d+/, err.stack);
        return true;
      });
      await assert.rejects(pool.run(function twoLines(x) {
        return x.y.z;
      }, [{}]), (err) => {
        assert.match(err.stack, /forkjoin-inline:twoLines:2:\d+/, err.stack);
        return true;
      });
    });

    test('an inline function may use globals and its own arguments', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      assert.deepEqual(await pool.run(function stats(values) { return { max: Math.max(...values), n: values.length }; }, [[3, 9, 4]]), { max: 9, n: 3 });
    });

    test('a bound function fails with FJ_INLINE_UNSUPPORTED', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      const bound = function (x) { return x; }.bind(null);
      await assert.rejects(async () => pool.run(bound, [1]), code('FJ_INLINE_UNSUPPORTED'));
    });

    test('an uncloneable argument fails with FJ_ARG_NOT_CLONEABLE naming its path, before the task runs', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      const socket = new net.Socket();
      t.after(() => socket.destroy());
      const ran = join(tempDir(t), 'ran');
      await assert.rejects(pool.run(sleepy.touch, [ran, { socket }]), (err) => {
        assert.equal(err.code, 'FJ_ARG_NOT_CLONEABLE');
        assert.ok(err.message.includes('args[1].socket'), err.message);
        assert.equal(err.path, 'args[1].socket');
        return true;
      });
      await pool.close();
      assert.equal(existsSync(ran), false, 'the task was never dispatched');
    });

    test('other tasks sent together with an uncloneable argument still run', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      const socket = new net.Socket();
      t.after(() => socket.destroy());
      const before = [1, 2, 3].map((x) => pool.run(tasks.square, [x]));
      const bad = pool.run(tasks.add, [1, { socket }]);
      const after = [4, 5].map((x) => pool.run(tasks.square, [x]));
      await assert.rejects(bad, code('FJ_ARG_NOT_CLONEABLE'));
      assert.deepEqual(await Promise.all([...before, ...after]), [1, 4, 9, 16, 25]);
    });

    test('a function nested in an argument fails with FJ_ARG_NOT_CLONEABLE naming its path', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      await assert.rejects(pool.run(tasks.square, [{ options: { onDone: () => {} } }]), (err) => {
        assert.equal(err.code, 'FJ_ARG_NOT_CLONEABLE');
        assert.ok(err.message.includes('args[0].options.onDone'), err.message);
        return true;
      });
    });

    test('a Proxy, in the arguments at any depth or as the argument list, fails with FJ_ARG_NOT_CLONEABLE naming its path', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      const proxy = new Proxy({ a: 1 }, {});
      const cases = [[[proxy], 'args[0]'], [[{ inner: proxy }], 'args[0].inner'], [[[1, [proxy]]], 'args[0][1][0]'], [[new Map([['k', proxy]])], 'args[0]'], [new Proxy([1], {}), 'args']];
      await refusedAt(pool, cases);
      // A task's result holding one fails as any result that cannot be cloned.
      await assert.rejects(pool.run(() => ({ inner: new Proxy({}, {}) }), []), (err) => err.code === 'FJ_RESULT_NOT_CLONEABLE' && err.message.includes('result.inner'));
    });

    test('a detached ArrayBuffer, or a view of one, in the arguments or the transfer list fails with FJ_ARG_NOT_CLONEABLE naming its path', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      const detached = () => {
        const buffer = new Uint8Array([1, 2, 3, 4]).buffer;
        structuredClone(buffer, { transfer: [buffer] });
        return buffer;
      };
      const view = new Uint16Array(new ArrayBuffer(8));
      structuredClone(view.buffer, { transfer: [view.buffer] });
      const gone = detached();
      const cases = [
        [[gone], { transfer: [gone] }, 'args[0]'],
        [[detached()], undefined, 'args[0]'],
        [[{ view }], undefined, 'args[0].view'],
        [[new Map([['k', detached()]])], undefined, 'args[0]'],
        [[1], { transfer: [new ArrayBuffer(8), detached()] }, 'transfer[1]'],
      ];
      for (const [args, options, path] of cases) {
        await assert.rejects(pool.run(tasks.identity, args, options), (err) => {
          assert.equal(err.code, 'FJ_ARG_NOT_CLONEABLE');
          assert.equal(err.path, path);
          assert.match(err.message, /detached/);
          return true;
        }, path);
      }
    });

    test('a result that cannot be cloned fails with FJ_RESULT_NOT_CLONEABLE naming its path', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      await assert.rejects(pool.run(tasks.returnsFunction, []), (err) => {
        assert.equal(err.code, 'FJ_RESULT_NOT_CLONEABLE');
        assert.ok(err.message.includes('result.callback'), err.message);
        return true;
      });
      assert.equal(await pool.run(tasks.square, [3]), 9, 'the worker keeps working');
    });

    test('with chunks of several inputs, an input that cannot be sent fails alone, with its index; the others of its chunk run', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      const inputs = [1, { f: () => 1 }, 3, 4];
      const outcomes = await pool.map(tasks.identity, inputs, { chunksize: 3, settle: true });
      assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      assert.deepEqual([outcomes[0].value, outcomes[2].value, outcomes[3].value], [1, 3, 4]);
      const unsent = (err) => {
        assert.equal(err.code, 'FJ_ARG_NOT_CLONEABLE');
        assert.equal(err.path, 'inputs[1].f');
        assert.equal(err.index, 1);
        return true;
      };
      unsent(outcomes[1].reason);
      assert.deepEqual([pool.stats().done, pool.stats().failed], [3, 1]);
      await assert.rejects(pool.map(tasks.identity, inputs, { chunksize: 3 }), unsent);
    });

    test("with chunksize 'auto', each input that cannot be sent fails alone, several in one chunk too", T, async (t) => {
      const pool = using(t, E.make({ slots: 2 }));
      // 40 inputs on 2 workers go in chunks of 5 at first: 6 and 7 share one.
      const inputs = Array.from({ length: 40 }, (_, i) => (i === 6 || i === 7 ? { callback: () => i } : i));
      const outcomes = await pool.map(tasks.identity, inputs, { settle: true });
      for (const [i, o] of outcomes.entries()) {
        if (i !== 6 && i !== 7) {
          assert.deepEqual(o, { status: 'fulfilled', value: i });
          continue;
        }
        assert.equal(o.reason.code, 'FJ_ARG_NOT_CLONEABLE');
        assert.equal(o.reason.index, i);
        assert.equal(o.reason.path, `inputs[${i}].callback`);
      }
    });

    test('an ordered imap yields the results of the inputs before one that cannot be sent, then fails with its error and index', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      const out = [];
      await assert.rejects(async () => {
        for await (const value of pool.imap(tasks.identity, [1, 2, { f: () => 3 }, 4], { chunksize: 4 })) out.push(value);
      }, (err) => {
        assert.equal(err.code, 'FJ_ARG_NOT_CLONEABLE');
        assert.equal(err.index, 2);
        return true;
      });
      assert.deepEqual(out, [1, 2]);
    });

    test('a value that cannot be sent in an array with holes, or in a named property of an array, is named by its path', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      const notCloneable = (path) => (err) => {
        assert.equal(err.code, 'FJ_ARG_NOT_CLONEABLE');
        assert.equal(err.path, path);
        return true;
      };
      // eslint-disable-next-line no-sparse-arrays
      await assert.rejects(pool.run(tasks.identity, [[1, , () => 1]]), notCloneable('args[0][2]'));
      await assert.rejects(pool.run(tasks.identity, [Object.assign([1], { onDone: () => 1 })]), notCloneable('args[0].onDone'));
      // eslint-disable-next-line no-sparse-arrays
      const outcomes = await pool.map(tasks.identity, [1, , () => 1], { chunksize: 3, settle: true });
      assert.deepEqual(outcomes.slice(0, 2), [{ status: 'fulfilled', value: 1 }, { status: 'fulfilled', value: undefined }]);
      notCloneable('inputs[2]')(outcomes[2].reason);
    });

    test('an argument nested too deeply fails with FJ_ARG_NOT_CLONEABLE giving its depth and a short path', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      await assert.rejects(pool.run(tasks.identity, [nested(20_000)]), (err) => {
        assert.equal(err.code, 'FJ_ARG_NOT_CLONEABLE');
        assert.equal(err.path, `args[0]${'.n'.repeat(8)}…`);
        assert.ok(err.message.startsWith(err.path), err.message);
        assert.ok(err.message.includes('20000'), err.message);
        return true;
      });
      assert.equal(await pool.run(tasks.square, [3]), 9);
    });

    test('a result nested too deeply fails with FJ_RESULT_NOT_CLONEABLE giving its depth and a short path', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      await assert.rejects(pool.run(tasks.nested, [50_000]), (err) => {
        assert.equal(err.code, 'FJ_RESULT_NOT_CLONEABLE');
        assert.ok(err.message.startsWith(`result${'.n'.repeat(8)}… `), err.message.slice(0, 200));
        assert.ok(err.message.includes('50000'), err.message.slice(0, 200));
        return true;
      });
      assert.equal(await pool.run(tasks.square, [3]), 9, 'the worker keeps working');
    });

    test('a result the worker can send but this thread cannot read (nested thousands deep) settles its call, and only its call', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      // A worker thread's stack is larger than the main thread's: what it writes, this thread may fail to read.
      const outcomes = [];
      for (const depth of [3_000, 6_000, 10_000]) {
        const outcome = await settleWithin(pool.run(tasks.nested, [depth], { retries: 2 }).then(() => 'read', (err) => err.code), 60_000, `a result ${depth} deep`);
        assert.ok(outcome === 'read' || outcome === 'FJ_RESULT_NOT_CLONEABLE', `${depth}: ${outcome}`);
        outcomes.push(outcome);
      }
      assert.ok(outcomes.includes('FJ_RESULT_NOT_CLONEABLE'), `one of these depths is beyond what this thread reads: ${outcomes}`);
      // In one chunk with others: the chunk's inputs run again one by one, so only that input fails.
      const mapped = await settleWithin(pool.map(tasks.nested, [1, 10_000, 2], { chunksize: 3, settle: true }), 60_000, 'a map with such a result');
      assert.deepEqual([mapped[0], mapped[2]], [{ status: 'fulfilled', value: { n: {} } }, { status: 'fulfilled', value: { n: { n: {} } } }]);
      assert.ok(mapped[1].status === 'fulfilled' || mapped[1].reason.code === 'FJ_RESULT_NOT_CLONEABLE', String(mapped[1].reason?.code));
      assert.equal(await pool.run(tasks.square, [3]), 9, 'the pool keeps working');
    });

    test("a task error's stack is the worker's stack", T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      await assert.rejects(pool.run(tasks.fail, ['from a worker']), (err) => {
        assert.match(err.cause.stack, /at fail \(.*fixtures\/tasks\.js/);
        assert.match(err.stack, /fixtures\/tasks\.js/);
        return true;
      });
    });
  });
}

for (const E of PoolKinds) {
  test(`${E.name}: a task gets its arguments as they were when it was called, though the caller reuses them at once`, T, async (t) => {
    const pool = using(t, E.make({ slots: 2 }));
    const scratch = new Float64Array(4);
    const big = new Float64Array(100_000);
    const request = { id: 0, tags: ['a'] };
    const calls = [];
    for (let i = 1; i <= 6; i++) {
      scratch.fill(i);
      big.fill(i);
      request.id = i;
      request.tags.push(`t${i}`);
      calls.push(pool.run(tasks.identity, [{ scratch: scratch[0], big: big[big.length - 1], request }]));
      calls.push(pool.run(tasks.sumFloat64, [scratch]));
    }
    const results = await Promise.all(calls);
    for (let i = 1; i <= 6; i++) {
      const [seen, sum] = [results[2 * (i - 1)], results[2 * (i - 1) + 1]];
      assert.deepEqual(seen, { scratch: i, big: i, request: { id: i, tags: ['a', ...Array.from({ length: i }, (_, k) => `t${k + 1}`)] } });
      assert.equal(sum.sum, 4 * i);
    }
    // Changed right after the call, while the call waits for the microtask that sends it.
    const later = { v: 'original' };
    const running = pool.run(tasks.identity, [later]);
    later.v = 'changed';
    later.callback = () => 1; // cannot be cloned, and comes too late to matter
    assert.deepEqual(await running, { v: 'original' });
  });

  test(`${E.name}: shared references and cycles in the arguments arrive as a structured clone keeps them, through Maps, Sets, arrays and class instances`, T, async (t) => {
    const pool = using(t, E.make({ slots: 1 }));
    class Node {
      constructor(name) { this.name = name; this.children = new Map(); }
    }
    const root = new Node('root');
    root.children.set('self', root);
    const leaf = { v: 1 };
    const list = Object.assign([leaf], { first: leaf, owner: root });
    const args = [root, new Map([[leaf, root]]), new Set([leaf, list]), list, { deep: [{ found: new Map([['leaf', leaf]]) }] }];
    const seen = await pool.run((root, index, members, list, plain) => {
      const [[key, value]] = [...index];
      const [first, second] = [...members];
      const leaf = plain.deep[0].found.get('leaf');
      return {
        cycleThroughMap: root.children.get('self') === root,
        mapKeyAndValue: key === leaf && value === root,
        setMembers: first === leaf && second === list,
        arrayItemAndNamedProperties: list[0] === leaf && list.first === leaf && list.owner === root,
      };
    }, args);
    assert.deepEqual(seen, { cycleThroughMap: true, mapKeyAndValue: true, setMembers: true, arrayItemAndNamedProperties: true });
  });
}

test('calls holding buffers that were sent to a worker which then died before they started run on the next worker', T, async (t) => {
  const pool = using(t, new ThreadPool({ workers: 1 }));
  const lengthOr = (buf, mode) => { if (mode === 'exit') process.exit(1); return buf.byteLength; };
  // Quick calls first, so the pool sends many in one message to its one worker.
  for (let i = 0; i < 50; i++) await Promise.all(Array.from({ length: 8 }, () => pool.run(lengthOr, [new Uint8Array(4), 'length'])));
  const dying = pool.run(lengthOr, [new Uint8Array(4), 'exit']);
  const others = Array.from({ length: 20 }, () => pool.run(lengthOr, [new Uint8Array(100), 'length']));
  await assert.rejects(dying, (err) => err.code === 'FJ_WORKER_EXITED');
  assert.deepEqual(await Promise.all(others), Array(20).fill(100));
});

test("a map over buffers whose worker dies runs every other input: the chunks it held are copied anew and sent again", T, async (t) => {
  const pool = using(t, new ThreadPool({ workers: 2 }));
  const firstOr = (a) => { if (a[0] === 3) process.exit(1); return a[0]; };
  const inputs = Array.from({ length: 40 }, (_, i) => new Float64Array(8).fill(i));
  const outcomes = await pool.map(firstOr, inputs, { chunksize: 2, settle: true });
  assert.deepEqual(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : o.reason.code)), inputs.map((_, i) => (i === 3 ? 'FJ_WORKER_EXITED' : i)));
  assert.equal(inputs[5][0], 5, "the caller's buffers stay its own");
});

describe('ThreadPool memory', () => {
  test('an ArrayBuffer in transfer is moved to the worker: the caller\'s copy is detached', T, async (t) => {
    const pool = using(t, new ThreadPool({ workers: 1 }));
    const array = new Float64Array([1, 2, 3, 4]);
    const running = pool.run(tasks.sumFloat64, [array], { transfer: [array.buffer] });
    assert.equal(array.buffer.byteLength, 0, 'the source buffer is detached when run() returns');
    assert.deepEqual(await running, { sum: 10, byteLength: 32 });
  });

  test('an ArrayBuffer listed twice in transfer is moved once', T, async (t) => {
    const pool = using(t, new ThreadPool({ workers: 1 }));
    const array = new Float64Array([1, 2, 3, 4]);
    const result = await pool.run(tasks.sumFloat64, [array], { transfer: [array.buffer, array.buffer] });
    assert.deepEqual(result, { sum: 10, byteLength: 32 });
    assert.equal(array.buffer.byteLength, 0);
  });

  test('large buffers are copied as a clone would copy them: layout, kind and sharing kept, the caller\'s left as they were', T, async (t) => {
    const pool = using(t, new ThreadPool({ workers: 1 }));
    const big = new ArrayBuffer(1 << 20);
    new Uint8Array(big).fill(1);
    const middle = new Float64Array(big, 4096, 1024); // a view into a larger buffer
    const whole = new Int32Array(big); // a second view of the same buffer
    const bytes = Buffer.alloc(300_000, 2);
    const data = new DataView(new ArrayBuffer(200_000));
    const small = new Uint8Array(16).fill(3); // below the size that is moved: cloned as before
    const { bufferFacts } = taskModule(new URL('./fixtures/boundary.js', import.meta.url));
    const facts = await pool.run(bufferFacts, [middle, whole, bytes, data, small, big, 7]);
    const sum = (buffer) => { let s = 0; const b = new Uint8Array(buffer); for (let i = 0; i < b.length; i += 4099) s += b[i]; return s; };
    assert.deepEqual(facts.map((f) => f.kind), ['Float64Array', 'Int32Array', 'Uint8Array', 'DataView', 'Uint8Array', 'ArrayBuffer', 'number']);
    assert.deepEqual(facts[0], { kind: 'Float64Array', byteOffset: 4096, byteLength: 8192, bufferLength: 1 << 20, bufferIndex: 0, isBuffer: false, sum: sum(big) });
    assert.equal(facts[1].bufferIndex, 0, 'two views of one buffer still share one');
    assert.equal(facts[5].bufferIndex, 0, 'the buffer itself, too');
    assert.deepEqual({ ...facts[2], sum: 0 }, { kind: 'Uint8Array', byteOffset: bytes.byteOffset, byteLength: 300_000, bufferLength: bytes.buffer.byteLength, bufferIndex: 1, isBuffer: false, sum: 0 });
    assert.equal(facts[2].sum, sum(bytes.buffer));
    assert.deepEqual({ kind: facts[3].kind, byteLength: facts[3].byteLength, bufferIndex: facts[3].bufferIndex }, { kind: 'DataView', byteLength: 200_000, bufferIndex: 2 });
    assert.equal(facts[4].bufferLength, 16);
    // The task wrote 9s over every buffer it got: the caller's are untouched and usable.
    assert.ok(new Uint8Array(big).every((b) => b === 1));
    assert.ok(bytes.every((b) => b === 2));
    assert.ok(small.every((b) => b === 3));
    assert.equal(middle.length, 1024);
  });

  test('a large view whose getters throw is cloned as before, and the pool goes on', T, async (t) => {
    const pool = using(t, new ThreadPool({ workers: 1 }));
    class Odd extends Float64Array { get byteOffset() { throw new Error('no offset here'); } }
    const odd = new Odd(16_384).fill(1);
    assert.deepEqual(await pool.run(tasks.sumFloat64, [odd]), { sum: 16_384, byteLength: 131_072 });
    assert.deepEqual(await pool.run(tasks.sumFloat64, [new Float64Array(16_384).fill(2)]), { sum: 32_768, byteLength: 131_072 });
  });

  test('a large view that misreports itself (getters, own properties, toStringTag) reaches the task as a clone would send it', T, async (t) => {
    const pool = using(t, new ThreadPool({ workers: 1 }));
    const { bufferFacts } = taskModule(new URL('./fixtures/boundary.js', import.meta.url));
    const other = new ArrayBuffer(1 << 17);
    const lying = [
      class extends Float64Array { get length() { return 3; } },
      class extends Float64Array { get byteOffset() { return 8; } },
      class extends Float64Array { get buffer() { return other; } },
      class extends Float64Array { get [Symbol.toStringTag]() { return 'Int8Array'; } },
      class extends Float32Array { get [Symbol.toStringTag]() { return 'constructor'; } },
    ].map((View) => new View(16_384).fill(1));
    const ownLength = new Float64Array(16_384).fill(1);
    Object.defineProperty(ownLength, 'length', { value: 5 });
    const facts = await pool.run(bufferFacts, [...lying, ownLength]);
    const kinds = ['Float64Array', 'Float64Array', 'Float64Array', 'Float64Array', 'Float32Array', 'Float64Array'];
    facts.forEach((f, i) => {
      assert.equal(f.kind, kinds[i], `argument ${i}`);
      assert.deepEqual([f.byteOffset, f.byteLength, f.bufferLength], [0, kinds[i] === 'Float32Array' ? 65_536 : 131_072, kinds[i] === 'Float32Array' ? 65_536 : 131_072], `argument ${i}`);
      assert.ok(f.sum > 0, `argument ${i} carries its own data`);
    });
  });

  test('a large result comes back as a clone would bring it, and the worker keeps its own buffer', T, async (t) => {
    const pool = using(t, new ThreadPool({ workers: 1 }));
    const { bigView, keptBuffer } = taskModule(new URL('./fixtures/boundary.js', import.meta.url));
    const view = await pool.run(bigView, [3]);
    assert.ok(view instanceof Float64Array);
    assert.deepEqual([view.byteOffset, view.length, view.buffer.byteLength], [1024, 4096, 1 << 20]);
    assert.ok(view.every((x) => x === 3));
    // The worker returns a buffer it keeps: each call must find it whole, not moved away.
    const counts = [];
    for (let i = 0; i < 3; i++) counts.push((await pool.run(keptBuffer, []))[0]);
    assert.deepEqual(counts, [1, 2, 3]);
  });

  test('without transfer an ArrayBuffer argument is copied and stays usable', T, async (t) => {
    const pool = using(t, new ThreadPool({ workers: 1 }));
    const array = new Float64Array([1, 2, 3, 4]);
    assert.equal((await pool.run(tasks.sumFloat64, [array])).sum, 10);
    assert.equal(array.buffer.byteLength, 32);
    assert.equal(array[3], 4);
  });

  test('a task can return a buffer with transfer()', T, async (t) => {
    const pool = using(t, new ThreadPool({ workers: 1 }));
    const bytes = await pool.run(tasks.makeBuffer, [16]);
    assert.ok(bytes instanceof Uint8Array);
    assert.equal(bytes.length, 16);
    assert.ok(bytes.every((b) => b === 7));
  });

  test('a SharedArrayBuffer is shared: a write in the worker is seen by the caller', T, async (t) => {
    const pool = using(t, new ThreadPool({ workers: 1 }));
    const shared = new SharedArrayBuffer(16);
    const view = new Int32Array(shared);
    const worker = await pool.run(tasks.writeShared, [shared, 2, 42]);
    assert.notEqual(worker, 0, 'it ran on another thread');
    assert.equal(view[2], 42);
  });
});

describe('ProcessPool memory', () => {
  const boundary = taskModule(new URL('./fixtures/boundary.js', import.meta.url));
  const owned = (view, byteLength) => {
    assert.equal(view.byteOffset, 0);
    assert.equal(view.byteLength, byteLength);
    assert.equal(view.buffer.byteLength, byteLength, 'the ArrayBuffer holds no bytes but the view\'s');
  };

  test('a typed array, DataView or Buffer returned by a task owns an ArrayBuffer of exactly its bytes', T, async (t) => {
    const pool = using(t, new ProcessPool({ workers: 1 }));
    const floats = await pool.run(boundary.float64s, []);
    assert.deepEqual([...floats], [1.5, 2.5, 3.5]);
    owned(floats, 24);
    const bytes = await pool.run(boundary.bufferOf, ['hello world']);
    assert.ok(Buffer.isBuffer(bytes));
    assert.equal(bytes.toString(), 'hello world');
    owned(bytes, 11);
    assert.notEqual(bytes.buffer, Buffer.from('hello world').buffer, 'not a slab of Node\'s Buffer pool');
    const view = await pool.run(boundary.dataView, []);
    assert.ok(view instanceof DataView);
    owned(view, 4);
  });

  test('a typed array or Buffer argument reaches the child owning an ArrayBuffer of exactly its bytes', T, async (t) => {
    const pool = using(t, new ProcessPool({ workers: 1 }));
    const layout = { byteOffset: 0, byteLength: 6, bufferLength: 6 };
    assert.deepEqual(await pool.run(boundary.viewLayout, [new Uint16Array([1, 2, 3])]), { ...layout, isBuffer: false });
    assert.deepEqual(await pool.run(boundary.viewLayout, [Buffer.from('abcdef')]), { ...layout, isBuffer: true });
  });

  test('a transfer list holding anything but ArrayBuffers fails with FJ_ARG_NOT_CLONEABLE: nothing else can reach a child', T, async (t) => {
    const pool = using(t, new ProcessPool({ workers: 1 }));
    await assert.rejects(pool.run(tasks.square, [2], { transfer: [{}] }), (err) => err.code === 'FJ_ARG_NOT_CLONEABLE' && /only ArrayBuffers/.test(err.message));
    const bytes = new Float64Array([1, 2, 3]);
    assert.deepEqual(await pool.run(tasks.sumFloat64, [bytes], { transfer: [bytes.buffer] }), { sum: 6, byteLength: 24 });
  });

  test('a host object that would reach the child as {} (Blob, KeyObject, BlockList) fails with FJ_ARG_NOT_CLONEABLE naming its path', T, async (t) => {
    const pool = using(t, new ProcessPool({ workers: 1 }));
    const hosts = { blob: new Blob(['x']), key: createSecretKey(Buffer.from('secret')), blocked: new net.BlockList() };
    for (const [name, value] of Object.entries(hosts)) {
      await assert.rejects(pool.run(tasks.identity, [{ [name]: value }]), (err) => {
        assert.equal(err.code, 'FJ_ARG_NOT_CLONEABLE');
        assert.equal(err.path, `args[0].${name}`);
        return true;
      }, name);
    }
    await assert.rejects(pool.run(boundary.blob, []), code('FJ_RESULT_NOT_CLONEABLE'));
    // A host object with properties of its own still arrives as a copy of them.
    process.env.FORKJOIN_TEST_PASSED_ENV = 'yes';
    t.after(() => { delete process.env.FORKJOIN_TEST_PASSED_ENV; });
    const seen = await pool.run(boundary.lookup, [process.env, 'FORKJOIN_TEST_PASSED_ENV']);
    assert.deepEqual(seen, { value: 'yes', keys: Object.keys(process.env).length });
  });

  test('a SharedArrayBuffer argument fails with FJ_ARG_NOT_CLONEABLE naming its path', T, async (t) => {
    const pool = using(t, new ProcessPool({ workers: 1 }));
    await assert.rejects(pool.run(tasks.writeShared, [new SharedArrayBuffer(8), 0, 1]), (err) => {
      assert.equal(err.code, 'FJ_ARG_NOT_CLONEABLE');
      assert.equal(err.path, 'args[0]');
      return true;
    });
  });

  test('a typed array, DataView or Buffer over a SharedArrayBuffer fails with FJ_ARG_NOT_CLONEABLE naming its path, at any depth', T, async (t) => {
    const pool = using(t, new ProcessPool({ workers: 1 }));
    const shared = new SharedArrayBuffer(8);
    const cases = [
      [[new Int32Array(shared)], 'args[0]'],
      [[{ dv: new DataView(shared) }], 'args[0].dv'],
      [[1, [0, Buffer.from(shared)]], 'args[1][1]'],
      [[{ m: new Map([['k', new Uint8Array(shared, 4)]]) }], 'args[0].m'],
      [[[new Set([new Float64Array(shared)])]], 'args[0][0]'],
    ];
    await refusedAt(pool, cases);
    await assert.rejects(pool.map(tasks.identity, [1, { v: new Int32Array(shared) }, 3]), (err) => {
      assert.equal(err.code, 'FJ_ARG_NOT_CLONEABLE');
      assert.equal(err.index, 1);
      assert.equal(err.path, 'inputs[1].v');
      return true;
    });
  });

  test('a result holding a view over a SharedArrayBuffer fails with FJ_RESULT_NOT_CLONEABLE, as one holding a SharedArrayBuffer does', T, async (t) => {
    const pool = using(t, new ProcessPool({ workers: 1 }));
    await assert.rejects(pool.run(boundary.sharedView, ['dataView']), code('FJ_RESULT_NOT_CLONEABLE'));
    await assert.rejects(pool.run(boundary.sharedView, ['deep']), code('FJ_RESULT_NOT_CLONEABLE'));
    await assert.rejects(pool.map(boundary.sharedView, ['plain', 'deep', 'plain']), (err) => {
      assert.equal(err.code, 'FJ_RESULT_NOT_CLONEABLE');
      assert.equal(err.index, 1);
      return true;
    });
    assert.equal(await pool.run(boundary.sharedView, ['plain']), 1, 'the child goes on');
  });

  test('views that share an ArrayBuffer reach the child over one ArrayBuffer of the bytes they cover, each at its place in it', T, async (t) => {
    const pool = using(t, new ProcessPool({ workers: 1 }));
    const buffer = new ArrayBuffer(16);
    assert.deepEqual(await pool.run(boundary.writeThroughWords, [new Uint8Array(buffer), new Uint32Array(buffer, 4, 2)]), {
      sameBuffer: true, seenThroughBytes: [4, 3, 2, 1], byteOffsets: [0, 4], bufferLength: 16,
    });
    // Views over part of a large buffer: the ArrayBuffer holds the span from the first view's start to the last one's end.
    const large = new ArrayBuffer(1 << 16);
    assert.deepEqual(await pool.run(boundary.writeThroughWords, [new Uint8Array(large, 1024, 12), new Uint32Array(large, 1028, 1)]), {
      sameBuffer: true, seenThroughBytes: [4, 3, 2, 1], byteOffsets: [0, 4], bufferLength: 12,
    });
    // Views at offsets that differ by no multiple of the larger one's element size keep their alignment.
    const uneven = new ArrayBuffer(8);
    assert.deepEqual(await pool.run(boundary.writeThroughWords, [new Uint8Array(uneven, 1, 3), new Uint32Array(uneven, 4, 1)]), {
      sameBuffer: true, seenThroughBytes: [], byteOffsets: [1, 4], bufferLength: 8,
    });
    // A resizable buffer's views (one tracking its length) arrive over one fixed buffer of its bytes.
    const resizable = new ArrayBuffer(8, { maxByteLength: 64 });
    assert.deepEqual(await pool.run(boundary.writeThroughWords, [new Uint8Array(resizable), new Uint32Array(resizable, 4, 1)]), {
      sameBuffer: true, seenThroughBytes: [4, 3, 2, 1], byteOffsets: [0, 4], bufferLength: 8,
    });
  });

  test('Buffers in one slab of Node\'s Buffer pool reach the child over one buffer of the bytes from the first to the last, not the whole slab', T, async (t) => {
    const pool = using(t, new ProcessPool({ workers: 1 }));
    const first = Buffer.from('first');
    const second = Buffer.from('second');
    assert.equal(first.buffer, second.buffer, 'both in the pool\'s current slab');
    const facts = await pool.run(boundary.bufferFacts, [first, second]);
    const between = second.byteOffset - first.byteOffset;
    assert.deepEqual(facts.map((f) => [f.byteOffset, f.byteLength, f.bufferLength, f.bufferIndex, f.isBuffer]), [[0, 5, between + 6, 0, true], [between, 6, between + 6, 0, true]]);
    assert.ok(between + 6 < first.buffer.byteLength);
  });

  test('views that share an ArrayBuffer come back over one ArrayBuffer, each at its place; a lone view still owns exactly its bytes', T, async (t) => {
    const pool = using(t, new ProcessPool({ workers: 1 }));
    const { bytes, nested, tail, lone } = await pool.run(boundary.viewsOfOneBuffer, []);
    const words = nested[0].get('words');
    assert.equal(words.buffer, bytes.buffer);
    assert.equal(tail.buffer, bytes.buffer);
    assert.deepEqual([bytes.byteLength, words.byteOffset, tail.byteOffset, tail.byteLength], [16, 4, 12, 4]);
    words[0] = 0x01020304;
    assert.deepEqual(Array.from(bytes.subarray(4, 8)), [4, 3, 2, 1]);
    assert.equal(tail.getUint8(0), 12);
    owned(lone, 16);
    const [bytesAt1, doubleAt8] = await pool.run(boundary.unevenViews, []);
    assert.deepEqual([bytesAt1.byteOffset, doubleAt8.byteOffset, doubleAt8[0], bytesAt1.buffer === doubleAt8.buffer], [1, 8, 1.5, true]);
  });
});
