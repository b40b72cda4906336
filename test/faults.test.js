// Faults: a worker that exits, runs out of memory or outlives its timeout is
// replaced; only its task fails (or is retried); aborting stops running work.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isForkJoinError } from 'forkjoin';
import { taskModule } from 'forkjoin';
import { PoolKinds, crash, endless, filesAppear, settleWithin, sleepy, tasks, tempDir, using } from './fixtures/helpers.js';

const T = { timeout: 120_000 };
const neverLoads = taskModule(new URL('./fixtures/never-loads.js', import.meta.url));
const code = (c) => (err) => {
  assert.equal(err.code, c, `expected ${c}, got ${err.code}: ${err.message}`);
  return true;
};

for (const E of PoolKinds) {
  describe(E.name, () => {
    test('short calls sent behind a call that never ends all finish on the other worker', T, async (t) => {
      const pool = using(t, E.make({ slots: 2 }));
      // Measured as tiny, squares would be sent ahead in bulk to a worker still busy with the loop.
      for (let round = 0; round < 3; round++) await Promise.all(Array.from({ length: 2000 }, (_, i) => pool.run(tasks.square, [i])));
      const looping = pool.run(endless.forever, []);
      looping.catch(() => {});
      const squares = await Promise.all(Array.from({ length: 200 }, (_, i) => pool.run(tasks.square, [i])));
      assert.deepEqual(squares, Array.from({ length: 200 }, (_, i) => i * i));
      await pool.terminate();
    });

    test('calls of a quick function sent ahead to a worker whose call of it awaits what never comes run on the other worker', T, async (t) => {
      const pool = using(t, E.make({ slots: 2 }));
      // Measured as quick: its calls are then sent ahead in bulk, some behind the one that waits.
      for (let round = 0; round < 3; round++) await Promise.all(Array.from({ length: 200 }, (_, i) => pool.run(tasks.sleep, [0, i])));
      const waiting = pool.run(tasks.sleep, [2_000_000_000, 'never']);
      waiting.catch(() => {});
      const quick = await Promise.all(Array.from({ length: 200 }, (_, i) => pool.run(tasks.sleep, [0, i])));
      assert.deepEqual(quick, Array.from({ length: 200 }, (_, i) => i));
      assert.equal(pool.stats().running, 1, 'the waiting call still runs');
      await pool.terminate();
    });

    test('quick calls of one function sent ahead to a worker whose call of another quick function awaits what never comes run on the other worker', T, async (t) => {
      const pool = using(t, E.make({ slots: 2 }));
      for (let round = 0; round < 3; round++) {
        await Promise.all(Array.from({ length: 200 }, (_, i) => pool.run(tasks.sleep, [0, i])));
        await Promise.all(Array.from({ length: 200 }, (_, i) => pool.run(tasks.square, [i])));
      }
      const waiting = pool.run(tasks.sleep, [2_000_000_000, 'never']);
      waiting.catch(() => {});
      for (let round = 0; round < 3; round++) {
        assert.deepEqual(await Promise.all(Array.from({ length: 20 }, (_, i) => pool.run(tasks.square, [i]))), Array.from({ length: 20 }, (_, i) => i * i));
      }
      await pool.terminate();
    });

    test('a caller whose thread was busy past a call\'s timeout does not take the worker that ran it for stuck', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      for (let i = 0; i < 3; i++) await pool.run(tasks.sleep, [0, i]);
      const quick = pool.run(tasks.sleep, [50, 'quick'], { timeout: 100 });
      const slow = pool.run(tasks.sleep, [2000, 'slow']);
      // Once both are sent, this thread is busy past the quick call's timeout and the stall grace:
      // the worker's reports wait unread, and are read before the pool decides anything.
      await new Promise((resolve) => setImmediate(resolve));
      const end = Date.now() + 1500;
      while (Date.now() < end);
      assert.deepEqual(await Promise.all([quick, slow]), ['quick', 'slow']);
      assert.equal(pool.stats().workersReplaced, 0);
    });

    if (E.name === 'ThreadPool') {
      test('calls of a quick function sent ahead to a worker blocked in a long call of it run on the other worker', T, async (t) => {
        const pool = using(t, E.make({ slots: 2 }));
        const dir = tempDir(t);
        const touch = (name) => pool.run(tasks.blockOrTouch, [{ path: join(dir, name), block: false }]);
        // Measured as quick: its calls are then sent ahead in bulk, some to the worker that will block.
        for (let round = 0; round < 3; round++) await Promise.all(Array.from({ length: 200 }, (_, i) => touch(`warm-${round}-${i}`)));
        const release = join(dir, 'release');
        // With a timeout, the worker reports the call as it begins it, and with it the results it holds.
        const blocked = pool.run(tasks.blockOrTouch, [{ path: release, block: true }], { timeout: 120_000 });
        const quick = await Promise.all(Array.from({ length: 200 }, (_, i) => touch(`quick-${i}`)));
        assert.equal(quick.length, 200);
        assert.equal(existsSync(release), false, 'the blocked call is still running');
        writeFileSync(release, '');
        assert.equal(await blocked, release);
        assert.equal(pool.stats().workersReplaced, 0);
      });

      test('calls of another quick function sent to a worker blocked in a long call run on the other worker', T, async (t) => {
        const pool = using(t, E.make({ slots: 2 }));
        const dir = tempDir(t);
        for (let round = 0; round < 3; round++) {
          await Promise.all([
            ...Array.from({ length: 200 }, (_, i) => pool.run(tasks.blockOrTouch, [{ path: join(dir, `warm-${round}-${i}`), block: false }])),
            ...Array.from({ length: 200 }, (_, i) => pool.run(tasks.square, [i])),
          ]);
        }
        const release = join(dir, 'release');
        const blocked = pool.run(tasks.blockOrTouch, [{ path: release, block: true }], { timeout: 120_000 });
        for (let round = 0; round < 3; round++) {
          assert.deepEqual(await Promise.all(Array.from({ length: 200 }, (_, i) => pool.run(tasks.square, [i]))), Array.from({ length: 200 }, (_, i) => i * i));
        }
        writeFileSync(release, '');
        assert.equal(await blocked, release);
      });

      test('calls whose buffers were copied for them, waiting behind a blocked call, run on the arguments they were given, not on what the caller\'s buffer holds later', T, async (t) => {
        const pool = using(t, E.make({ slots: 2 }));
        const dir = tempDir(t);
        const scratch = new Float64Array(8);
        const call = (i) => { scratch.fill(i); return pool.run(tasks.firstOf, [scratch]); };
        for (let round = 0; round < 3; round++) await Promise.all(Array.from({ length: 200 }, (_, i) => call(i)));
        const release = join(dir, 'release');
        // A call of the same function, measured as quick, that blocks: calls sent behind it are taken back.
        const blocked = pool.run(tasks.firstOf, [[-1], release], { timeout: 120_000 });
        const seen = Promise.all(Array.from({ length: 200 }, (_, i) => call(i)));
        // Long enough for the pool to find the blocked call overdue. Their copies moved to that worker,
        // so those calls are not taken back (sent again, they would be copied from the refilled buffer).
        await new Promise((resolve) => setTimeout(resolve, 200));
        writeFileSync(release, '');
        assert.deepEqual(await seen, Array.from({ length: 200 }, (_, i) => i));
        assert.equal(await blocked, -1);
      });

      for (const concurrentTasksPerWorker of [1, 3]) {
        test(`every call runs exactly once while calls waiting on a busy worker are taken back (concurrentTasksPerWorker ${concurrentTasksPerWorker})`, T, async (t) => {
          const pool = using(t, E.make({ slots: 2, perWorker: concurrentTasksPerWorker }));
          const n = 1500;
          const counts = new Int32Array(new SharedArrayBuffer(4 * n));
          let seed = 11;
          const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
          const calls = [];
          for (let i = 0; i < n; i++) {
            const r = random();
            calls.push(pool.run(tasks.countRun, [counts, i, r < 0.01 ? 40 : r < 0.3 ? 1 : 0, random() < 0.3]));
            if (random() < 0.02) await new Promise((resolve) => setTimeout(resolve, 2));
          }
          assert.deepEqual(await Promise.all(calls), Array.from({ length: n }, (_, i) => i));
          assert.deepEqual([...new Set(counts)], [1]);
        });
      }
    }

    describe('a worker that exits', () => {
      test('a task that calls process.exit fails with FJ_WORKER_EXITED', T, async (t) => {
        const pool = using(t, E.make({ slots: 1 }));
        await assert.rejects(pool.run(crash.exit, [3]), (err) => {
          assert.equal(err.code, 'FJ_WORKER_EXITED');
          assert.ok(isForkJoinError(err, 'FJ_WORKER_EXITED'));
          assert.equal(err.exitCode, 3);
          return true;
        });
      });

      test('every other task completes when a worker exits', T, async (t) => {
        const pool = using(t, E.make({ slots: 2 }));
        const before = [1, 2, 3].map((x) => pool.run(tasks.sleep, [5, x]));
        const exiting = pool.run(crash.exit, [1]);
        const after = [4, 5, 6].map((x) => pool.run(tasks.sleep, [5, x]));
        await assert.rejects(exiting, code('FJ_WORKER_EXITED'));
        assert.deepEqual(await Promise.all([...before, ...after]), [1, 2, 3, 4, 5, 6]);
      });

      test('with retries, a map input that ends its worker inside a chunk runs its own retries once the chunk is split, not the chunk\'s first', T, async (t) => {
        const pool = using(t, E.make({ slots: 1 }));
        const file = join(tempDir(t), 'runs');
        await assert.rejects(pool.starmap(tasks.noteOrExit, [1, 2, 3, 4, 5, 6].map((v) => [file, v, 3]), { chunksize: 3, retries: 2 }), (err) => {
          assert.equal(err.code, 'FJ_WORKER_EXITED');
          assert.equal(err.index, 2);
          assert.match(err.message, /after 3 attempts/);
          return true;
        });
        const runs = readFileSync(file, 'utf8').trim().split('\n').map(Number);
        const count = (v) => runs.filter((r) => r === v).length;
        // Once in its chunk, then alone: 1 + (1 + 2 retries) for the input that exits; twice for the others before it.
        assert.deepEqual([count(1), count(2), count(3)], [2, 2, 4], runs.join(' '));
      });

      test('a map input that ends its worker, failing the map, is counted failed in the last progress event', T, async (t) => {
        const pool = using(t, E.make({ slots: 1 }));
        const file = join(tempDir(t), 'runs');
        const events = [];
        await assert.rejects(pool.starmap(tasks.noteOrExit, [1, 2, 3, 4, 5, 6].map((v) => [file, v, 3]), { chunksize: 3, progress: (e) => events.push(e) }), code('FJ_WORKER_EXITED'));
        const last = events.at(-1);
        assert.equal(last?.failed, 1, JSON.stringify(events));
        assert.ok(last.done >= 1, JSON.stringify(events));
      });

      test('the pool replaces the worker and counts it in stats().workersReplaced', T, async (t) => {
        const pool = using(t, E.make({ slots: 1 }));
        const first = await pool.run(tasks.whoami, []);
        await assert.rejects(pool.run(crash.exit, [0]), code('FJ_WORKER_EXITED'));
        const second = await pool.run(tasks.whoami, []);
        assert.notEqual(second, first);
        assert.equal(pool.stats().workersReplaced, 1);
      });

      const crashes = [
        ['an uncaught exception', crash.throwFromTimer, 'late boom', 'RangeError'],
        ['an unhandled rejection', crash.rejectUnhandled, 'never caught', 'TypeError'],
      ];
      for (const [what, task, message, name] of crashes) {
        test(`${what} that ends a worker is the cause of its FJ_WORKER_EXITED, exit code 1`, T, async (t) => {
          const pool = using(t, E.make({ slots: 1 }));
          await assert.rejects(pool.run(task, [message]), (err) => {
            assert.deepEqual([err.code, err.exitCode, err.cause?.name, err.cause?.message], ['FJ_WORKER_EXITED', 1, name, message]);
            return true;
          });
        });
      }

      test('a value every read of which throws, thrown by a timer, still fails its call with FJ_WORKER_EXITED; the pool goes on', T, async (t) => {
        const pool = using(t, E.make({ slots: 1 }));
        await assert.rejects(pool.run(crash.throwHostileFromTimer, []), (err) => {
          assert.equal(err.code, 'FJ_WORKER_EXITED');
          assert.equal(err.exitCode, 1);
          return true;
        });
        assert.equal(await pool.run(tasks.square, [6]), 36);
      });
    });

    describe('a worker that runs out of memory', () => {
      test('a task that exhausts maxHeapMb fails with FJ_WORKER_OUT_OF_MEMORY', T, async (t) => {
        const pool = using(t, E.make({ slots: 1, maxHeapMb: 32 }));
        await assert.rejects(pool.run(crash.hog, []), code('FJ_WORKER_OUT_OF_MEMORY'));
      });

      test('the pool keeps working after a worker ran out of memory', T, async (t) => {
        const pool = using(t, E.make({ slots: 1, maxHeapMb: 32 }));
        await assert.rejects(pool.run(crash.hog, []), code('FJ_WORKER_OUT_OF_MEMORY'));
        assert.equal(await pool.run(tasks.square, [12]), 144);
      });
    });

    describe('timeouts', () => {
      test('an endless loop with a call timeout fails with FJ_TASK_TIMEOUT', T, async (t) => {
        const pool = using(t, E.make({ slots: 1 }));
        await assert.rejects(pool.run(endless.forever, [], { timeout: 200 }), (err) => {
          assert.equal(err.code, 'FJ_TASK_TIMEOUT');
          assert.ok(isForkJoinError(err, 'FJ_TASK_TIMEOUT'));
          return true;
        });
      });

      test('a call with a timeout sent to a worker stuck outside any task runs on another worker, and the stuck one is replaced', T, async (t) => {
        // One worker, and a pool timeout: the call can only run once the stuck worker was replaced.
        const pool = using(t, E.make({ slots: 1, timeout: 200 }));
        const dir = tempDir(t);
        assert.equal(await pool.run(crash.spinLater, [join(dir, 'spinning')]), 'returned');
        await filesAppear(dir, 1);
        assert.equal(await pool.run(tasks.square, [4]), 16);
        assert.equal(pool.stats().workersReplaced, 1);
      });

      test('a call with the longest timeout a timer can hold raises no TimeoutOverflowWarning', T, async (t) => {
        const pool = using(t, E.make({ slots: 1 }));
        const warnings = [];
        const onWarning = (warning) => warnings.push(warning.name);
        process.on('warning', onWarning);
        t.after(() => process.off('warning', onWarning));
        const calls = [pool.run(tasks.sleep, [100, 'a'], { timeout: 2 ** 31 - 1 }), pool.run(tasks.sleep, [100, 'b'], { timeout: 2 ** 31 - 1 })];
        assert.deepEqual(await Promise.all(calls), ['a', 'b']);
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(warnings.filter((name) => name === 'TimeoutOverflowWarning'), []);
      });

      test('the pool keeps working after a task timed out', T, async (t) => {
        // One worker: the next task can only run once the looping worker was replaced.
        const pool = using(t, E.make({ slots: 1 }));
        await assert.rejects(pool.run(endless.forever, [], { timeout: 200 }), code('FJ_TASK_TIMEOUT'));
        assert.equal(await pool.run(tasks.square, [5]), 25);
      });

      test('the timeout pool option applies to every task', T, async (t) => {
        const pool = using(t, E.make({ slots: 1, timeout: 200 }));
        await assert.rejects(pool.run(endless.forever, []), code('FJ_TASK_TIMEOUT'));
        // A timeout of its own: a worker descheduled for 200 ms must not fail this quick call.
        assert.equal(await pool.run(tasks.square, [5], { timeout: 30_000 }), 25);
      });

      test('a call whose module never finishes loading (a top-level await that never settles) fails with FJ_TASK_TIMEOUT; the call queued behind it runs', T, async (t) => {
        const pool = using(t, E.make({ slots: 1 }));
        const hung = pool.run(neverLoads.unreachable, [], { timeout: 300 });
        const behind = pool.run(tasks.square, [6], { timeout: 60_000 });
        await assert.rejects(settleWithin(hung, 30_000, 'the call of the module that never loads'), code('FJ_TASK_TIMEOUT'));
        assert.equal(await settleWithin(behind, 30_000, 'the call queued behind it'), 36);
        await settleWithin(pool.close(), 30_000, 'close()');
      });

      test('a call queued behind a running one while its module loads is timed from when it begins, not from when it arrived', T, async (t) => {
        const dir = tempDir(t);
        const pool = using(t, E.make({ slots: 1 }));
        // Measured as quick, sleep calls have the second call sent along behind the first; its module
        // loads at once, and it waits for the first's slot longer than its own timeout.
        for (let i = 0; i < 200; i++) await pool.run(tasks.sleep, [0, i]);
        const first = pool.run(tasks.sleep, [1_500, 'first']);
        const second = pool.run(sleepy.touch, [join(dir, 'second'), 'second'], { timeout: 1_000 });
        assert.deepEqual(await Promise.all([first, second]), ['first', 'second']);
      });

      test("the pool's timeout bounds each map input alone, as a map's own timeout does: no other input runs twice", T, async (t) => {
        const pool = using(t, E.make({ slots: 1, timeout: 2_000 }));
        const log = join(tempDir(t), 'runs');
        // Eight inputs on one worker would travel two per message; input 1 never settles.
        const outcomes = await pool.starmap(tasks.noteOrStall, Array.from({ length: 8 }, (_, i) => [log, i, 1]), { settle: true });
        assert.deepEqual(outcomes.map((o) => o.reason?.code ?? o.value), [0, 'FJ_TASK_TIMEOUT', 2, 3, 4, 5, 6, 7]);
        const runs = readFileSync(log, 'utf8').trim().split('\n').map(Number).sort((a, b) => a - b);
        assert.deepEqual(runs, [0, 1, 2, 3, 4, 5, 6, 7]);
        assert.equal(pool.stats().workersReplaced, 1);
      });

      test('a task that outlives its timeout more often than retries allow fails with FJ_TASK_TIMEOUT after retries + 1 attempts, as its message says', T, async (t) => {
        const pool = using(t, E.make({ slots: 1, retries: 2 }));
        await assert.rejects(pool.run(endless.forever, [], { timeout: 200 }), (err) => {
          assert.equal(err.code, 'FJ_TASK_TIMEOUT');
          assert.match(err.message, /after 3 attempts/);
          return true;
        });
        assert.equal(pool.stats().workersReplaced, 3);
      });

      test('a map whose task loops forever fails with FJ_TASK_TIMEOUT', T, async (t) => {
        const pool = using(t, E.make({ slots: 1 }));
        await assert.rejects(pool.map(endless.forever, [1, 2], { timeout: 200 }), code('FJ_TASK_TIMEOUT'));
      });
    });

    describe('retries', () => {
      test('a task whose worker crashes runs again while retries allow, and succeeds', T, async (t) => {
        const pool = using(t, E.make({ slots: 1, retries: 2 }));
        const counter = join(tempDir(t), 'attempts');
        assert.equal(await pool.run(crash.crashUntil, [counter, 2]), 3);
        assert.equal(readFileSync(counter, 'utf8'), '3');
      });

      test('a task that crashes more often than retries allow fails with FJ_WORKER_EXITED after retries + 1 attempts', T, async (t) => {
        const pool = using(t, E.make({ slots: 1, retries: 1 }));
        const counter = join(tempDir(t), 'attempts');
        await assert.rejects(pool.run(crash.crashUntil, [counter, 5]), code('FJ_WORKER_EXITED'));
        assert.equal(readFileSync(counter, 'utf8'), '2');
      });

      test('without retries a crashed task is not run again', T, async (t) => {
        const pool = using(t, E.make({ slots: 1 }));
        const counter = join(tempDir(t), 'attempts');
        await assert.rejects(pool.run(crash.crashUntil, [counter, 1]), code('FJ_WORKER_EXITED'));
        assert.equal(readFileSync(counter, 'utf8'), '1');
      });

      test('the retries call option overrides the pool option', T, async (t) => {
        const pool = using(t, E.make({ slots: 1 }));
        const counter = join(tempDir(t), 'attempts');
        assert.equal(await pool.run(crash.crashUntil, [counter, 1], { retries: 1 }), 2);
      });

      test('a task that throws is not retried', T, async (t) => {
        const pool = using(t, E.make({ slots: 1, retries: 3 }));
        await assert.rejects(pool.run(tasks.fail, ['plain error']), code('FJ_TASK_FAILED'));
        assert.equal(pool.stats().workersReplaced, 0);
      });
    });

    describe('hostile values', () => {
      test('a task that throws a value every read of which throws rejects with FJ_TASK_FAILED; its worker stays', T, async (t) => {
        const pool = using(t, E.make({ slots: 1 }));
        await assert.rejects(pool.run(tasks.throwHostile, []), (err) => {
          assert.equal(err.code, 'FJ_TASK_FAILED');
          assert.match(String(err.cause), /could not be read/);
          return true;
        });
        assert.equal(await pool.run(tasks.square, [4]), 16);
        assert.equal(pool.stats().workersReplaced, 0);
      });

      test('an argument whose getter throws fails its call (not submit itself) with FJ_ARG_NOT_CLONEABLE and its path', T, async (t) => {
        const pool = using(t, E.make({ slots: 1 }));
        const hostile = { get socket() { throw new Error('no'); } };
        const job = pool.submit(tasks.identity, [hostile]);
        await assert.rejects(job, (err) => err.code === 'FJ_ARG_NOT_CLONEABLE' && err.path === 'args[0].socket');
        await assert.rejects(pool.map(tasks.identity, [1, 2, hostile], { chunksize: 3 }), (err) => {
          assert.equal(err.code, 'FJ_ARG_NOT_CLONEABLE');
          assert.equal(err.path, 'inputs[2].socket', 'the input is named by its index in the map');
          return true;
        });
        assert.equal(await pool.run(tasks.square, [5]), 25);
      });
    });

    describe('results that cannot be sent back', () => {
      test('in a map chunk, the input whose result cannot be sent fails with FJ_RESULT_NOT_CLONEABLE and its index', T, async (t) => {
        const pool = using(t, E.make({ slots: 1 }));
        await assert.rejects(pool.map(tasks.callbackFor, [0, 1, 2, 3], { chunksize: 4 }), (err) => {
          assert.equal(err.code, 'FJ_RESULT_NOT_CLONEABLE');
          assert.equal(err.index, 2);
          assert.match(err.message, /result\.callback/);
          return true;
        });
        const outcomes = await pool.map(tasks.callbackFor, [0, 1, 2, 3], { chunksize: 4, settle: true });
        assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
        assert.deepEqual([outcomes[0].value, outcomes[3].value], [0, 3]);
        assert.equal(outcomes[2].reason.code, 'FJ_RESULT_NOT_CLONEABLE');
      });
    });

    describe('aborting running work', () => {
      /** A one-worker pool whose endless loop started (by `start`, submit by default) and was then aborted. */
      async function abortedLoop(t, start = (pool, dir, signal) => pool.submit(endless.markThenForever, [dir], { signal })) {
        const pool = using(t, E.make({ slots: 1 }));
        const dir = tempDir(t);
        const controller = new AbortController();
        const job = start(pool, dir, controller.signal);
        await filesAppear(dir, 1);
        controller.abort();
        await assert.rejects(job, code('FJ_ABORTED'));
        return { pool, job };
      }

      test('an aborted signal stops a running endless loop with FJ_ABORTED', T, async (t) => {
        const { job } = await abortedLoop(t);
        assert.equal(job.state, 'cancelled');
      });

      test('after an aborted endless loop a one-worker pool runs the next task, so the loop was stopped', T, async (t) => {
        const { pool } = await abortedLoop(t);
        assert.equal(await pool.run(tasks.square, [9]), 81);
      });

      test("aborting a map's signal stops its running chunk: a one-worker pool then runs the next task", T, async (t) => {
        const { pool } = await abortedLoop(t, (p, dir, signal) => p.map(endless.markThenForever, [dir], { signal }));
        assert.equal(await pool.run(tasks.square, [9]), 81);
        assert.equal(pool.stats().workersReplaced, 1);
      });

      test('breaking out of imap drops inputs sent but not started, and stats() counts those still running', T, async (t) => {
        const pool = using(t, E.make({ slots: 1 }));
        const dir = tempDir(t);
        const release = join(dir, 'release');
        const ran = join(dir, 'ran');
        // Input 0 returns at once (dir exists); input 1 holds the worker's thread until released; input 2 leaves a file if it runs.
        const inputs = [{ path: dir, block: false }, { path: release, block: true, started: join(dir, 'started') }, { path: ran, block: false }];
        for await (const value of pool.imap(tasks.blockOrTouch, inputs, { chunksize: 1 })) {
          assert.equal(value, dir);
          await filesAppear(dir, 1, (name) => name === 'started');
          break;
        }
        const busy = pool.stats();
        assert.ok(busy.running > 0 && busy.idleWorkers === 0, `the worker still runs input 1: ${JSON.stringify(busy)}`);
        // A worker reads its messages between tasks once it has worked a while (1 ms): keep input 1 running past that.
        await new Promise((resolve) => setTimeout(resolve, 50));
        writeFileSync(release, '');
        assert.equal(await pool.run(tasks.square, [3]), 9);
        assert.equal(existsSync(ran), false, 'input 2, sent but not started, did not run');
      });

      test('job.cancel() stops a running endless loop with FJ_ABORTED', T, async (t) => {
        const pool = using(t, E.make({ slots: 1 }));
        const dir = tempDir(t);
        const job = pool.submit(endless.markThenForever, [dir]);
        await filesAppear(dir, 1);
        assert.equal(job.cancel(), true);
        await assert.rejects(job, code('FJ_ABORTED'));
        assert.equal(await pool.run(tasks.square, [9]), 81);
      });
    });
  });
}
