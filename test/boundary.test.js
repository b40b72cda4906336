// What a task's result or error looks like to the caller, the same on every executor:
// transfer() unwrapped, odd thrown values described, the task's errors never taken for
// forkjoin's own, standard error classes revived as themselves.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isForkJoinError, taskModule } from 'forkjoin';
import { Executors, using } from './fixtures/helpers.js';

const T = { timeout: 60_000 };
const boundary = taskModule(new URL('./fixtures/boundary.js', import.meta.url));
const thenExport = taskModule(new URL('./fixtures/then-export.js', import.meta.url));

for (const E of Executors) {
  describe(E.name, () => {
    test('a result wrapped in transfer() arrives as its value from run, submit, map, imap and starmap', T, async (t) => {
      const exec = using(t, E.make());
      const check = (bytes, n) => {
        assert.ok(bytes instanceof Uint8Array, `got ${Object.prototype.toString.call(bytes)}`);
        assert.equal(bytes.length, n);
        assert.ok(bytes.every((b) => b === 7));
      };
      check(await exec.run(boundary.transferBytes, [4]), 4);
      check(await exec.submit(boundary.transferBytes, [5]), 5);
      (await exec.map(boundary.transferBytes, [1, 2])).forEach((bytes, i) => check(bytes, i + 1));
      (await exec.starmap(boundary.transferBytes, [[3]])).forEach((bytes) => check(bytes, 3));
      for await (const bytes of exec.imap(boundary.transferBytes, [6])) check(bytes, 6);
    });

    for (const name of ['throwNullProto', 'throwNullProtoLater']) {
      test(`a task that throws an object without a prototype (${name}) fails with FJ_TASK_FAILED and is counted as failed`, T, async (t) => {
        const exec = using(t, E.make());
        await assert.rejects(exec.run(boundary[name], []), (err) => {
          assert.ok(isForkJoinError(err, 'FJ_TASK_FAILED'), `got ${err.code}`);
          assert.equal(typeof err.message, 'string');
          return true;
        });
        const stats = exec.stats();
        assert.equal(stats.failed, 1);
        assert.equal(stats.running, 0);
      });
    }

    for (const code of ['FJ_TASK_TIMEOUT', 'FJ_WORKER_EXITED', 'FJ_EXECUTOR_CLOSED', 'FJ_TASK_NOT_EXPORTED']) {
      test(`a task's own error with code ${code} arrives as a TaskError whose cause keeps that code`, T, async (t) => {
        const exec = using(t, E.make());
        await assert.rejects(exec.run(boundary.throwCoded, [code]), (err) => {
          assert.equal(err.code, 'FJ_TASK_FAILED');
          assert.ok(!isForkJoinError(err, code));
          assert.equal(err.cause.code, code);
          return true;
        });
      });
    }

    test('a timeout inside the task (its own LocalExecutor) is the cause of a TaskError, in run and in map', T, async (t) => {
      const exec = using(t, E.make());
      const check = (err) => {
        assert.equal(err.code, 'FJ_TASK_FAILED');
        assert.equal(err.cause.code, 'FJ_TASK_TIMEOUT');
        return true;
      };
      await assert.rejects(exec.run(boundary.innerTimeout, []), check);
      await assert.rejects(exec.map(boundary.innerTimeout, [1]), check);
    });

    test('a task module that exports `then` fails with FJ_MODULE_LOAD_FAILED saying so, not that its task is not exported', T, async (t) => {
      const exec = using(t, E.make());
      await assert.rejects(exec.run(thenExport.f, [1]), (err) => {
        assert.equal(err.code, 'FJ_MODULE_LOAD_FAILED', err.message);
        assert.match(err.message, /exports `then`/);
        return true;
      });
    });

    for (const [what, code] of [['missing', 'FJ_TASK_NOT_EXPORTED'], ['broken', 'FJ_MODULE_LOAD_FAILED']]) {
      test(`forkjoin's ${code} for a call the task made itself is the cause of a TaskError, in run and in map`, T, async (t) => {
        const exec = using(t, E.make());
        const inner = what === 'missing' ? 'tasks.js#doesNotExist' : 'broken.js#square';
        const check = (err) => {
          assert.equal(err.code, 'FJ_TASK_FAILED');
          assert.equal(err.name, 'TaskError');
          assert.equal(err.task, 'boundary.js#innerCallFails');
          // The cause is what the task's own call rejected with: forkjoin's error for the task it called.
          assert.equal(err.cause.code, code);
          assert.equal(err.cause.name, 'ForkJoinError');
          assert.equal(err.cause.task, inner);
          return true;
        };
        await assert.rejects(exec.run(boundary.innerCallFails, [what, 'run']), check);
        await assert.rejects(exec.run(boundary.innerCallFails, [what, 'map']), check);
        await assert.rejects(exec.map(boundary.innerCallFails, [what]), check);
      });
    }

    test('an AggregateError thrown by a task comes back as an AggregateError with its errors, nested ones too', T, async (t) => {
      const exec = using(t, E.make());
      await assert.rejects(exec.run(boundary.throwAggregate, []), (err) => {
        const cause = err.cause;
        assert.ok(cause instanceof AggregateError);
        assert.equal(cause.message, 'several');
        assert.ok(cause.errors[0] instanceof TypeError);
        assert.equal(cause.errors[0].message, 'first');
        assert.ok(cause.errors[1] instanceof AggregateError);
        assert.ok(cause.errors[1].errors[0] instanceof RangeError);
        return true;
      });
    });

    test('a DOMException thrown by a task comes back as a DOMException with its name and code', T, async (t) => {
      const exec = using(t, E.make());
      await assert.rejects(exec.run(boundary.throwDOMException, []), (err) => {
        assert.ok(err.cause instanceof DOMException);
        assert.equal(err.cause.name, 'DataCloneError');
        assert.equal(err.cause.code, DOMException.DATA_CLONE_ERR);
        assert.equal(err.cause.message, 'the data cannot be cloned');
        return true;
      });
    });

    test('stats() counts a map\'s inputs, not its chunks: each input that failed under settle is one failure', T, async (t) => {
      const exec = using(t, E.make());
      await exec.map(boundary.double, Array.from({ length: 100 }, (_, i) => i));
      assert.deepEqual([exec.stats().done, exec.stats().failed], [100, 0]);
      const outcomes = await exec.map(boundary.failOnTens, Array.from({ length: 30 }, (_, i) => i), { settle: true });
      assert.equal(outcomes.filter((o) => o.status === 'rejected').length, 3);
      assert.deepEqual([exec.stats().done, exec.stats().failed], [127, 3]);
    });

    test('stats() counts a failing map\'s one failure, not the inputs its cancellation dropped', T, async (t) => {
      const exec = using(t, E.make());
      // One input fails; chunks finished beside it count as done, and those the failure dropped count as neither.
      await assert.rejects(exec.map(boundary.failOnTen, Array.from({ length: 5_000 }, (_, i) => i + 1), { chunksize: 5 }), (err) => err.code === 'FJ_TASK_FAILED');
      await exec.onIdle();
      const { done, failed } = exec.stats();
      assert.equal(failed, 1);
      assert.ok(done % 5 === 4 && done < 4_999, `done ${done}: the inputs of the chunks that ran, less the failed one`);
    });
  });
}
