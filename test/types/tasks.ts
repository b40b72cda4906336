// Type tests: typed task references, inferred results, and the calls the
// compiler must refuse (each `@ts-expect-error` fails the build if no error follows).
import {
  LocalExecutor, ProcessPool, ThreadPool, isForkJoinError, taskModule, taskRef,
  type Executor, type Job, type JobState, type Settled, type TaskRef, type TaskResult,
} from 'forkjoin';

const tasks = taskModule<typeof import('./fixture.js')>(new URL('./fixture.js', import.meta.url));

// taskModule gives typed references for the exported functions only.
const squareRef: TaskRef<[x: number], number> = tasks.square;
const greetRef: TaskRef<[name: string, excited?: boolean], string> = tasks.greet;
// @ts-expect-error a reference carries its signature: square is not (string) => string
const wrongRef: TaskRef<[string], string> = tasks.square;
// @ts-expect-error a non-function export is not a task
void tasks.version;
// @ts-expect-error an export that does not exist is not a task
void tasks.cube;

type SquareResult = TaskResult<typeof tasks.square>;
const squareResult: SquareResult = 4;
// @ts-expect-error TaskResult of square is number
const notString: TaskResult<typeof tasks.square> = 'four';

async function onEveryExecutor(pool: Executor): Promise<void> {
  // Results are inferred from the task.
  const n: number = await pool.run(tasks.square, [3]);
  const sum: number = await pool.run(tasks.add, [1, 2]);
  const text: string = await pool.run(tasks.greet, ['ada']);
  const loud: string = await pool.run(tasks.greet, ['ada', true]);
  const none: void = await pool.run(tasks.nothing, []);
  // @ts-expect-error the result of square is a number, not a string
  const wrong: string = await pool.run(tasks.square, [3]);

  // Wrong arguments are refused.
  // @ts-expect-error square takes a number
  await pool.run(tasks.square, ['3']);
  // @ts-expect-error square takes one argument
  await pool.run(tasks.square, [3, 4]);
  // @ts-expect-error add takes two arguments
  await pool.run(tasks.add, [1]);
  // @ts-expect-error args is an array of arguments, not the argument
  await pool.run(tasks.square, 3);
  // @ts-expect-error greet's second argument is a boolean
  await pool.run(tasks.greet, ['ada', 'yes']);

  // Inline functions are typed like references.
  const doubled: number = await pool.run((x: number) => x * 2, [21]);
  const asyncInline: string = await pool.run(async (s: string) => s.toUpperCase(), ['a']);
  // @ts-expect-error the inline function takes a number
  await pool.run((x: number) => x * 2, ['21']);

  // Call options.
  await pool.run(tasks.square, [3], { timeout: 1_000, signal: AbortSignal.timeout(5_000), retries: 1 });
  // @ts-expect-error timeout is a number of milliseconds
  await pool.run(tasks.square, [3], { timeout: '1s' });

  // submit returns a typed Job.
  const job: Job<number> = pool.submit(tasks.square, [3]);
  const id: number = job.id;
  const state: JobState = job.state;
  const cancelled: boolean = job.cancel();
  const fromJob: number = await job;
  // @ts-expect-error a Job of square resolves to a number
  const jobWrong: Job<string> = pool.submit(tasks.square, [3]);

  // map, starmap and imap.
  const squares: number[] = await pool.map(tasks.square, [1, 2, 3], { chunksize: 'auto', ordered: true });
  const fromAsync: number[] = await pool.map(tasks.square, (async function* () { yield 1; })());
  // @ts-expect-error map's inputs must be the task's argument type
  await pool.map(tasks.square, ['a', 'b']);
  // @ts-expect-error chunksize is a number or 'auto'
  await pool.map(tasks.square, [1], { chunksize: 'big' });
  const settled: Array<Settled<number>> = await pool.map(tasks.square, [1, 2], { settle: true });
  // A flag known only at run time: either shape.
  const flag: boolean = settled.length > 1;
  const either: Array<number> | Array<Settled<number>> = await pool.map(tasks.square, [1, 2], { settle: flag });
  void either;
  // @ts-expect-error with an unknown flag the results may be outcomes, not numbers
  const plain: Array<number> = await pool.map(tasks.square, [1, 2], { settle: flag });
  void plain;
  for (const outcome of settled) {
    if (outcome.status === 'fulfilled') { const v: number = outcome.value; void v; }
  }
  const sums: number[] = await pool.starmap(tasks.add, [[1, 2], [3, 4]]);
  // @ts-expect-error starmap's inputs are argument lists of add
  await pool.starmap(tasks.add, [[1, '2']]);
  for await (const value of pool.imap(tasks.square, [1, 2], { ordered: false, progress: (p) => { const d: number = p.done; void d; } })) {
    const v: number = value;
    void v;
  }

  await pool.close({ cancelPending: true });
  void [n, sum, text, loud, none, wrong, doubled, asyncInline, id, state, cancelled, fromJob, jobWrong, squares, fromAsync, sums];
}

async function executors(): Promise<void> {
  const thread = new ThreadPool({ workers: 2, maxQueue: 100, setup: { task: tasks.add, args: [1, 2] } });
  const proc = new ProcessPool({ workers: 2, maxHeapMb: 64, env: { A: 'b' }, execArgv: [] });
  const local = new LocalExecutor({ concurrency: 8 });
  for (const pool of [thread, proc, local]) await onEveryExecutor(pool);
  // @ts-expect-error workers is a number
  new ThreadPool({ workers: '2' });
  // @ts-expect-error an unknown option is refused
  new ProcessPool({ wrokers: 2 });
  // @ts-expect-error LocalExecutor has no workers option
  new LocalExecutor({ workers: 2 });
  new ThreadPool({ timeout: 100, setup: { task: tasks.square, args: [1], timeout: 60_000 } });
  // @ts-expect-error a setup's timeout is a number of milliseconds
  new ThreadPool({ setup: { task: tasks.square, args: [1], timeout: '1m' } });
  // A setup's args are checked against its task's parameters, and left out only when it takes none.
  new ProcessPool({ setup: { task: tasks.nothing } });
  new ThreadPool({ setup: { task: tasks.greet, args: ['ada'] } });
  new ThreadPool({ setup: { task: (n: number) => n, args: [1] as const } });
  // @ts-expect-error add takes two numbers
  new ThreadPool({ setup: { task: tasks.add, args: [1, '2'] } });
  // @ts-expect-error square takes one argument
  new ThreadPool({ setup: { task: tasks.square, args: [1, 2, 3] } });
  // @ts-expect-error add's arguments cannot be left out
  new ProcessPool({ setup: { task: tasks.add } });
  // @ts-expect-error nor those of an inline function
  new ThreadPool({ setup: { task: (n: number) => n } });
  const stats = thread.stats();
  const numbers: number[] = [stats.workers, stats.queued, stats.running, stats.done, stats.failed, stats.utilisation, stats.latency.p99];
  void numbers;
}

// taskRef names one export, typed by hand.
const cube = taskRef<[number], number>(new URL('./fixture.js', import.meta.url), 'cube');
async function withRef(pool: Executor): Promise<number> {
  return pool.run(cube, [2]);
}

// isForkJoinError narrows to an error with a code.
function handle(err: unknown): string | undefined {
  if (isForkJoinError(err, 'FJ_TASK_TIMEOUT')) return err.code;
  // @ts-expect-error not a code of the registry
  isForkJoinError(err, 'FJ_NOT_A_CODE');
  return undefined;
}

void [squareRef, greetRef, wrongRef, squareResult, notString, onEveryExecutor, executors, withRef, handle];
