// Pool options: validation at construction, setup, recycling, chunking, env and execArgv.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalExecutor } from 'forkjoin';
import { PoolKinds, crash, endless, tasks, tempDir, using } from './fixtures/helpers.js';

const T = { timeout: 60_000 };
const code = (c) => (err) => {
  assert.equal(err.code, c, `expected ${c}, got ${err.code}: ${err.message}`);
  return true;
};

/** [options, error class, code, texts the message must contain (the option and the value)] */
const invalid = [
  [{ workers: 0 }, RangeError, 'FJ_INVALID_ARG_VALUE', ['workers', '0']],
  [{ workers: 1.5 }, RangeError, 'FJ_INVALID_ARG_VALUE', ['workers', '1.5']],
  [{ workers: 'two' }, TypeError, 'FJ_INVALID_ARG_TYPE', ['workers', 'two']],
  [{ workers: 2, minWorkers: 3 }, RangeError, 'FJ_INVALID_ARG_VALUE', ['minWorkers', '3']],
  [{ idleTimeout: -1 }, RangeError, 'FJ_INVALID_ARG_VALUE', ['idleTimeout', '-1']],
  [{ maxTasksPerWorker: 0 }, RangeError, 'FJ_INVALID_ARG_VALUE', ['maxTasksPerWorker', '0']],
  [{ maxQueue: -1 }, RangeError, 'FJ_INVALID_ARG_VALUE', ['maxQueue', '-1']],
  [{ timeout: 0 }, RangeError, 'FJ_INVALID_ARG_VALUE', ['timeout', '0']],
  [{ timeout: Number.NaN }, RangeError, 'FJ_INVALID_ARG_VALUE', ['timeout', 'NaN']],
  [{ workers: Number.NaN }, RangeError, 'FJ_INVALID_ARG_VALUE', ['workers', 'NaN']],
  [{ setup: { task: 1 } }, TypeError, 'FJ_INVALID_ARG_TYPE', ['setup', 'task', '1']],
  [{ timeout: '5s' }, TypeError, 'FJ_INVALID_ARG_TYPE', ['timeout', '5s']],
  [{ timeout: 2 ** 31 }, RangeError, 'FJ_INVALID_ARG_VALUE', ['timeout', '2147483648']],
  [{ idleTimeout: 2 ** 31 }, RangeError, 'FJ_INVALID_ARG_VALUE', ['idleTimeout', '2147483648']],
  [{ maxHeapMb: 1 }, RangeError, 'FJ_INVALID_ARG_VALUE', ['maxHeapMb', '1']],
  [{ concurrentTasksPerWorker: 0 }, RangeError, 'FJ_INVALID_ARG_VALUE', ['concurrentTasksPerWorker', '0']],
  [{ retries: -1 }, RangeError, 'FJ_INVALID_ARG_VALUE', ['retries', '-1']],
  [{ env: 42 }, TypeError, 'FJ_INVALID_ARG_TYPE', ['env', '42']],
  [{ env: { LEVEL: 3 } }, TypeError, 'FJ_INVALID_ARG_TYPE', ['env', 'LEVEL']],
  [{ execArgv: '--inspect' }, TypeError, 'FJ_INVALID_ARG_TYPE', ['execArgv', '--inspect']],
  [{ setup: 42 }, TypeError, 'FJ_INVALID_ARG_TYPE', ['setup', '42']],
  [{ setup: { task: () => 1, args: [], arg: [1] } }, TypeError, 'FJ_INVALID_ARG_TYPE', ['setup', 'arg']],
  [{ setup: { task: () => 1, timeout: -5 } }, RangeError, 'FJ_INVALID_ARG_VALUE', ['setup.timeout', '-5']],
  [{ setup: { task: () => 1, timeout: '1m' } }, TypeError, 'FJ_INVALID_ARG_TYPE', ['setup.timeout', '1m']],
  [{ wrokers: 2 }, TypeError, 'FJ_INVALID_ARG_TYPE', ['wrokers']],
];

for (const E of PoolKinds) {
  describe(E.name, () => {
    describe('invalid options fail at construction', () => {
      for (const [options, ErrorClass, errorCode, texts] of invalid) {
        test(`new ${E.name}(${JSON.stringify(options)}) throws a ${ErrorClass.name} (${errorCode}) naming the option and the value`, () => {
          const Pool = E.Ctor;
          assert.throws(() => new Pool(options), (err) => {
            assert.ok(err instanceof ErrorClass, `a ${ErrorClass.name}, got ${err?.constructor?.name}`);
            assert.equal(err.code, errorCode);
            for (const text of texts) assert.ok(err.message.includes(text), `the message names ${text}: ${err.message}`);
            return true;
          });
        });
      }

      test(`new ${E.name}({ env }) whose getter throws throws a TypeError (FJ_INVALID_ARG_TYPE) naming env and the key, caused by the getter's error`, () => {
        const thrown = new Error('no such variable');
        const env = Object.defineProperty({}, 'A', { get() { throw thrown; }, enumerable: true });
        assert.throws(() => new E.Ctor({ env }), (err) => {
          assert.ok(err instanceof TypeError, `a TypeError, got ${err?.constructor?.name}`);
          assert.equal(err.code, 'FJ_INVALID_ARG_TYPE');
          assert.ok(err.message.includes('env.A'), err.message);
          assert.equal(err.cause, thrown);
          return true;
        });
      });

      test(`new ${E.name}(5) throws a TypeError (FJ_INVALID_ARG_TYPE)`, () => {
        const Pool = E.Ctor;
        assert.throws(() => new Pool(5), (err) => err instanceof TypeError && err.code === 'FJ_INVALID_ARG_TYPE');
      });
    });

    describe('invalid calls', () => {
      test('args that are not an array fail with FJ_INVALID_ARG_TYPE', T, async (t) => {
        const pool = using(t, E.make({ slots: 1 }));
        await assert.rejects(async () => pool.run(tasks.square, 3), (err) => err instanceof TypeError && err.code === 'FJ_INVALID_ARG_TYPE');
      });

      test('a task that is neither a function nor a reference fails with FJ_INVALID_ARG_TYPE', T, async (t) => {
        const pool = using(t, E.make({ slots: 1 }));
        await assert.rejects(async () => pool.run('square', [3]), (err) => err instanceof TypeError && err.code === 'FJ_INVALID_ARG_TYPE');
      });

      test('a negative call timeout fails with FJ_INVALID_ARG_VALUE naming it', T, async (t) => {
        const pool = using(t, E.make({ slots: 1 }));
        await assert.rejects(async () => pool.run(tasks.square, [3], { timeout: -5 }), (err) => {
          assert.ok(err instanceof RangeError);
          assert.equal(err.code, 'FJ_INVALID_ARG_VALUE');
          assert.ok(err.message.includes('timeout') && err.message.includes('-5'), err.message);
          return true;
        });
      });

      test('a chunksize of 0 fails with FJ_INVALID_ARG_VALUE naming it', T, async (t) => {
        const pool = using(t, E.make({ slots: 1 }));
        await assert.rejects(async () => pool.map(tasks.square, [1, 2], { chunksize: 0 }), (err) => {
          assert.ok(err instanceof RangeError);
          assert.equal(err.code, 'FJ_INVALID_ARG_VALUE');
          assert.ok(err.message.includes('chunksize'), err.message);
          return true;
        });
      });

      test("a chunksize string other than 'auto' fails with FJ_INVALID_ARG_VALUE saying 'auto' is the one taken; starmap's bad input names the executor", T, async (t) => {
        const pool = using(t, E.make({ slots: 1 }));
        await assert.rejects(async () => pool.map(tasks.square, [1, 2], { chunksize: 'AUTO' }), (err) => {
          assert.ok(err instanceof RangeError);
          assert.equal(err.code, 'FJ_INVALID_ARG_VALUE');
          assert.ok(err.message.includes("'auto'") && err.message.includes('"AUTO"'), err.message);
          return true;
        });
        await assert.rejects(pool.starmap(tasks.add, [[1, 2], 3]), (err) => err.code === 'FJ_INVALID_ARG_TYPE' && err.message.startsWith(`${pool.constructor.name}.starmap: `) && err.message.includes('inputs[1]'));
      });
    });

    describe('setup', () => {
      test('setup runs once in each new worker, before its tasks', T, async (t) => {
        const pool = using(t, E.make({ slots: 2, maxTasksPerWorker: 3, setup: { task: tasks.init, args: ['ready'] } }));
        const infos = await pool.map(tasks.setupInfo, Array.from({ length: 12 }, (_, i) => i), { chunksize: 1 });
        for (const info of infos) {
          assert.equal(info.setups, 1, `setup ran ${info.setups} times in ${info.worker}`);
          assert.equal(info.tag, 'ready');
        }
        assert.ok(new Set(infos.map((i) => i.worker)).size >= 4, 'several workers were started, each set up once');
      });

      test('a setup that throws, with minWorkers, stops being retried after a few starts; a call then learns why', T, async (t) => {
        const file = join(tempDir(t), 'runs');
        const pool = using(t, E.make({ slots: 2, minWorkers: 2, setup: { task: tasks.setupThatThrows, args: [file] } }));
        const runs = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0);
        while (runs() < 3) await new Promise((resolve) => setTimeout(resolve, 20));
        // Restarting forever ran it some thirty times a second; halted, it runs no more.
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        assert.ok(runs() <= 6, `the setup ran ${runs()} times`);
        await assert.rejects(pool.run(tasks.square, [2]), (err) => err.code === 'FJ_WORKER_START_FAILED' && /setup failed on purpose/.test(err.cause?.message ?? err.message));
      });

      test('a setup that runs out of memory fails calls with FJ_WORKER_START_FAILED whose message says so, naming maxHeapMb', T, async (t) => {
        const pool = using(t, E.make({ slots: 1, maxHeapMb: 32, setup: crash.hog }));
        await assert.rejects(pool.run(tasks.square, [2]), (err) => {
          assert.equal(err.code, 'FJ_WORKER_START_FAILED');
          assert.match(err.message, /out of memory/);
          assert.ok(err.message.includes('maxHeapMb'), err.message);
          return true;
        });
      });

      test('setup may be a bare task', T, async (t) => {
        const pool = using(t, E.make({ slots: 1, setup: tasks.init }));
        const info = await pool.run(tasks.setupInfo, []);
        assert.equal(info.setups, 1);
      });

      test('a call goes to the first worker ready, not to one still setting up', T, async (t) => {
        // Whichever worker starts setting up first stays busy for a minute; the other is ready at once.
        const claim = join(tempDir(t), 'claimed');
        const pool = using(t, E.make({ slots: 2, minWorkers: 2, setup: { task: tasks.slowIfFirst, args: [claim, 60_000] } }));
        assert.equal(await pool.run(tasks.whichStart, []), 'quick');
        await pool.terminate();
      });

      test('minWorkers all start with no call to ask for them, one after another', T, async (t) => {
        const pool = using(t, E.make({ slots: 3, minWorkers: 3 }));
        // Ready, not only started: a call waiting for a worker still starting would go to the first one free.
        while (pool.stats().idleWorkers < 3) await new Promise((resolve) => setTimeout(resolve, 5));
        assert.equal(pool.stats().workers, 3);
        const where = await Promise.all([1, 2, 3].map(() => pool.run(tasks.sleepWhoami, [300])));
        assert.equal(new Set(where).size, 3, `three calls at once ran on three workers: ${where}`);
        assert.equal(pool.stats().workers, 3, 'no worker beyond minWorkers was started for them');
      });

      test('a worker stopped while nothing waits is replaced, to keep minWorkers', T, async (t) => {
        const pool = using(t, E.make({ slots: 2, minWorkers: 2 }));
        while (pool.stats().workers < 2) await new Promise((resolve) => setTimeout(resolve, 5));
        await assert.rejects(pool.run(endless.forever, [], { timeout: 100 }), code('FJ_TASK_TIMEOUT'));
        while (pool.stats().workersReplaced < 1 || pool.stats().workers < 2) await new Promise((resolve) => setTimeout(resolve, 5));
        assert.equal(pool.stats().workersReplaced, 1);
        assert.deepEqual(await Promise.all([pool.run(tasks.square, [3]), pool.run(tasks.square, [4])]), [9, 16]);
      });

      test('workers that die before they are ready are started three times for minWorkers, then only for calls', T, async (t) => {
        const pool = using(t, E.make({ slots: 2, minWorkers: 2, execArgv: ['--require', join(tempDir(t), 'missing.cjs')] }));
        while (pool.stats().workersReplaced < 3) await new Promise((resolve) => setTimeout(resolve, 5));
        // Another start would be under way at once; let any that was wrongly scheduled run.
        for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
        assert.equal(pool.stats().workers, 0, 'no fourth start for minWorkers');
        assert.equal(pool.stats().workersReplaced, 3);
        await assert.rejects(pool.run(tasks.square, [2]), code('FJ_WORKER_START_FAILED'));
      });

      if (E.name === 'ProcessPool') {
        test("children that cannot start (a flag Node refuses) fail calls with FJ_WORKER_START_FAILED quoting what Node said on stderr", T, async (t) => {
          const pool = using(t, E.make({ slots: 2, execArgv: ['--no-such-flag'] }));
          await assert.rejects(Promise.all([pool.run(tasks.square, [2]), pool.run(tasks.square, [3])]), (err) => {
            assert.equal(err.code, 'FJ_WORKER_START_FAILED');
            assert.match(err.message, /bad option: --no-such-flag/);
            assert.notEqual(err.cause?.code, 'EPIPE', 'the cause is not the write to a child already gone');
            return true;
          });
        });
      }

      test('calls waiting for a starting worker fill its slots before another starts, and do not count against maxQueue', T, async (t) => {
        const pool = using(t, E.make({ slots: 4, perWorker: 4 }));
        await Promise.all([1, 2, 3, 4].map((x) => pool.run(tasks.sleep, [1, x])));
        assert.equal(pool.stats().workers, 1, 'four calls fit the first worker\'s four slots');
        const bounded = using(t, E.make({ slots: 4, maxQueue: 2 }));
        const calls = [];
        for (let i = 0; i < 4; i++) {
          calls.push(bounded.run(tasks.square, [i]));
          await new Promise((resolve) => setImmediate(resolve));
        }
        assert.deepEqual(await Promise.all(calls), [0, 1, 4, 9]);
      });

      test('a setup task that throws fails the tasks with FJ_WORKER_START_FAILED', T, async (t) => {
        const pool = using(t, E.make({ slots: 1, setup: { task: tasks.fail, args: ['no setup today'] } }));
        await assert.rejects(pool.run(tasks.square, [2]), code('FJ_WORKER_START_FAILED'));
      });
    });

    describe('recycling and chunking', () => {
      test('maxTasksPerWorker replaces a worker after that many tasks', T, async (t) => {
        const pool = using(t, E.make({ slots: 1, maxTasksPerWorker: 2 }));
        const where = await Promise.all(Array.from({ length: 6 }, () => pool.run(tasks.whoami, [])));
        const counts = new Map();
        for (const w of where) counts.set(w, (counts.get(w) ?? 0) + 1);
        assert.equal(counts.size, 3, `workers: ${[...counts.keys()]}`);
        assert.deepEqual([...counts.values()], [2, 2, 2]);
      });

      test('a numeric chunksize sends exactly that many inputs per message', T, async (t) => {
        // One worker per message (maxTasksPerWorker: 1) shows how the inputs were grouped.
        const pool = using(t, E.make({ slots: 1, maxTasksPerWorker: 1 }));
        const results = await pool.map(tasks.whoamiWith, Array.from({ length: 30 }, (_, i) => i), { chunksize: 10 });
        assert.deepEqual(results.map((r) => r.x), Array.from({ length: 30 }, (_, i) => i));
        const groups = [0, 10, 20].map((start) => new Set(results.slice(start, start + 10).map((r) => r.worker)));
        for (const group of groups) assert.equal(group.size, 1, 'ten consecutive inputs share one message');
        assert.equal(new Set(results.map((r) => r.worker)).size, 3);
      });

      test("chunksize 'auto' packs many inputs into each message", T, async (t) => {
        const pool = using(t, E.make({ slots: 1, maxTasksPerWorker: 1 }));
        const results = await pool.map(tasks.whoamiWith, Array.from({ length: 200 }, (_, i) => i), { chunksize: 'auto' });
        assert.deepEqual(results.map((r) => r.x), Array.from({ length: 200 }, (_, i) => i));
        const messages = new Set(results.map((r) => r.worker)).size;
        assert.ok(messages <= 50, `200 inputs took ${messages} messages`);
      });
    });

    describe('worker environment', () => {
      test('env sets the environment of the workers', T, async (t) => {
        const pool = using(t, E.make({ slots: 1, env: { ...process.env, FORKJOIN_TEST_VALUE: 'from-env-option' } }));
        assert.equal((await pool.run(tasks.environment, ['FORKJOIN_TEST_VALUE'])).value, 'from-env-option');
      });

      test('execArgv sets the Node flags of the workers', T, async (t) => {
        const pool = using(t, E.make({ slots: 1, execArgv: ['--no-deprecation'] }));
        assert.ok((await pool.run(tasks.environment, ['X'])).execArgv.includes('--no-deprecation'));
      });
    });
  });
}

describe('LocalExecutor options', () => {
  test('a concurrency of 0 or Infinity throws a RangeError (FJ_INVALID_ARG_VALUE) naming it: an imap needs a bound', () => {
    for (const concurrency of [0, Number.POSITIVE_INFINITY]) {
      assert.throws(() => new LocalExecutor({ concurrency }), (err) => {
        assert.ok(err instanceof RangeError);
        assert.equal(err.code, 'FJ_INVALID_ARG_VALUE');
        assert.ok(err.message.includes('concurrency') && err.message.includes(String(concurrency)), err.message);
        return true;
      });
    }
  });

  test('a concurrency that is not a number throws a TypeError (FJ_INVALID_ARG_TYPE)', () => {
    assert.throws(() => new LocalExecutor({ concurrency: 'many' }), (err) => err instanceof TypeError && err.code === 'FJ_INVALID_ARG_TYPE');
  });

  test('an unknown option throws a TypeError naming it', () => {
    assert.throws(() => new LocalExecutor({ workers: 2 }), (err) => err instanceof TypeError && err.message.includes('workers'));
  });
});

test('pools work in a process started with V8 flags such as --expose-gc, which a thread cannot be given again', () => {
  const script = `
    import { ThreadPool, ProcessPool } from 'forkjoin';
    const fn = (x) => x * x;
    for (const Pool of [ThreadPool, ProcessPool]) {
      const pool = new Pool({ workers: 1 });
      console.log(await pool.run(fn, [3]));
      await pool.close();
    }`;
  const child = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=512', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8', timeout: 60_000,
  });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout, '9\n9\n');
});
