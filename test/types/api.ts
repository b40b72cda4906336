// Type tests of options, errors and helpers as users write them: options held in variables,
// readonly argument lists, errors narrowed by code, memoized functions keeping their signature.
import {
  AbortError, CloneError, Cluster, DeadlockError, ForkJoinError, GraphError, TaskTimeoutError, WorkerError, DiskCache, ErrorCodes, MemoryCache, ProcessPool, TaskError, ThreadPool, isForkJoinError, memoize, runCommands, taskModule,
  CommandRun, Job, JobOutput, Mutex, MutexLock, Permit, Semaphore,
  LocalExecutor, type ExecutorEvent, type ExecutorEventListener, type ObservableExecutor, type TaskEndEvent, type TaskEventError, type TaskStartEvent,
  type WorkerExitEvent, type WorkerExitReason, type WorkerStartEvent,
  record, dashboard, type Recorder, type RunRecord, type TaskSummary, type WorkerRecord, type Dashboard, type DashboardOptions,
  type CallOptions, type ErrorExtras, type Executor, type ForkJoinErrorWith, type HaltedBy, type MapOptions, type PoolOptions, type RedisTls, type Settled,
} from 'forkjoin';

import { parse, wrap } from './fixture.js';

const tasks = taskModule<typeof import('./fixture.js')>(new URL('./fixture.js', import.meta.url));

async function options(pool: Executor, maybe: number | undefined, signal: AbortSignal | undefined): Promise<void> {
  // Options typed as MapOptions (settle unknown to the compiler) give either shape of result.
  const opts: MapOptions = { chunksize: 100 };
  const either: number[] | Array<Settled<number>> = await pool.map(tasks.square, [1, 2], opts);
  const spread: number[] | Array<Settled<number>> = await pool.starmap(tasks.add, [[1, 2]], { ...opts, chunksize: 5 });
  for await (const item of pool.imap(tasks.square, [1], opts)) {
    const one: number | Settled<number> = item;
    void one;
  }
  // A literal without settle still gives plain results.
  const plain: number[] = await pool.map(tasks.square, [1, 2], { chunksize: 1 });
  // An option given as undefined is an option left out (exactOptionalPropertyTypes).
  const call: CallOptions = { signal, timeout: maybe };
  const poolOptions: PoolOptions = { workers: maybe, timeout: undefined };
  await pool.run(tasks.square, [1], call);
  // settle given as undefined is settle left out: plain results.
  const noSettle: number[] = await pool.map(tasks.square, [1], { settle: undefined });
  const noSettleSpread: number[] = await pool.starmap(tasks.add, [[1, 2]], { settle: undefined });
  const noSettleStream: AsyncIterableIterator<number> = pool.imap(tasks.square, [1], { settle: undefined });
  // Lists an option only reads may be readonly.
  const buffers: readonly ArrayBuffer[] = [new ArrayBuffer(8)];
  await pool.run(tasks.square, [1], { transfer: buffers });
  const flags: readonly string[] = ['--enable-source-maps'];
  const withFlags: PoolOptions = { execArgv: flags };
  new ProcessPool({ execArgv: flags });
  void Cluster.local({ execArgv: flags });
  // A readonly argument list, and readonly inputs of starmap.
  const args = [3] as const;
  const nine: number = await pool.run(tasks.square, args);
  const pairs = [[1, 2], [3, 4]] as const;
  const sums: number[] = await pool.starmap(tasks.add, pairs);
  // @ts-expect-error a readonly list is still checked against the task's parameters
  await pool.run(tasks.square, ['3'] as const);
  await pool.onIdle();
  void [either, spread, plain, poolOptions, nine, sums, noSettle, noSettleSpread, noSettleStream, withFlags];
}

function errors(err: unknown): void {
  // A code narrows to the class the Errors table names, with its properties.
  if (isForkJoinError(err, ErrorCodes.ARG_NOT_CLONEABLE)) {
    const path: string = err.path;
    const index: number | undefined = err.index;
    void [path, index];
  }
  if (isForkJoinError(err, ErrorCodes.TASK_TIMEOUT)) {
    const code: 'FJ_TASK_TIMEOUT' = err.code;
    const timeout: number = err.timeout;
    // @ts-expect-error a timeout error has no path
    void err.path;
    void [code, timeout];
  }
  const which: ForkJoinErrorWith<'FJ_DEADLOCK'> | undefined = isForkJoinError(err, 'FJ_DEADLOCK') ? err : undefined;
  if (err instanceof TaskError) {
    const facts: [number | undefined, string | undefined, string | undefined, string] = [err.index, err.engine, err.host, err.task];
    void facts;
  }
  if (err instanceof CloneError) void err.index;
  // Without a code, any of forkjoin's codes: a switch on the code reaches each code's properties.
  if (isForkJoinError(err)) {
    switch (err.code) {
      case 'FJ_ARG_NOT_CLONEABLE': { const path: string = err.path; void path; break; }
      case 'FJ_TASK_TIMEOUT': { const timeout: number = err.timeout; void timeout; break; }
      // @ts-expect-error a queue-full error has no path
      case 'FJ_QUEUE_FULL': void err.path;
    }
  }
  // A union of codes narrows on each of them.
  const code = ErrorCodes.TASK_TIMEOUT as 'FJ_TASK_TIMEOUT' | 'FJ_QUEUE_FULL';
  if (isForkJoinError(err, code) && err.code === 'FJ_TASK_TIMEOUT') {
    const timeout: number = err.timeout;
    void timeout;
  }
  // A class with one code declares it; every forkjoin error declares cause.
  if (err instanceof TaskError) { const failed: 'FJ_TASK_FAILED' = err.code; void failed; }
  if (err instanceof TaskTimeoutError) { const timedOut: 'FJ_TASK_TIMEOUT' = err.code; void timedOut; }
  if (err instanceof AbortError) { const aborted: 'FJ_ABORTED' = err.code; void aborted; }
  if (err instanceof DeadlockError) { const deadlock: 'FJ_DEADLOCK' = err.code; void deadlock; }
  if (err instanceof GraphError) { const nodeFailed: 'FJ_GRAPH_NODE_FAILED' = err.code; void nodeFailed; }
  // @ts-expect-error a WorkerError has one of three codes
  if (err instanceof WorkerError) { const exited: 'FJ_WORKER_EXITED' = err.code; void exited; }
  if (err instanceof ForkJoinError) { const cause: unknown = err.cause; void cause; }
  void which;
}

function memoized(): void {
  // A synchronous cache keeps the function's own signature: overloads and generics too.
  const parsed = memoize(parse);
  const n: number = parsed('3');
  const s: string = parsed(3);
  const wrapped = memoize(wrap, { cache: new DiskCache('/tmp/x') });
  const list: string[] = wrapped('a');
  const typed = memoize((x: number) => x * 2, { cache: new MemoryCache() });
  // @ts-expect-error the memoized function takes what the original takes
  typed('2');
  void [n, s, list];
}

async function shell(): Promise<void> {
  for await (const record of runCommands('echo {}', ['a'], { jobs: '50%' })) void record;
  runCommands('echo {}', ['a'], { jobs: '+1' });
  runCommands(new TextEncoder().encode('echo {}'), ['a']);
  runCommands('echo {}', ['a'], { jobs: 4 });
  runCommands('echo {}', ['a'], { jobs: process.env.JOBS ?? 2 }); // a string from the environment is checked when run
}

// What forkjoin makes for itself is not for users to make or call.
function internals(mutex: Mutex, semaphore: Semaphore, cluster: Cluster): void {
  // @ts-expect-error a Job is made by an executor
  new Job<number>(() => true);
  // @ts-expect-error a MutexLock is made by its Mutex
  new MutexLock(mutex, false, 0);
  // @ts-expect-error a Permit is made by its Semaphore
  new Permit(semaphore);
  // @ts-expect-error a JobOutput is made by runCommands
  new JobOutput(null, 0, null);
  // @ts-expect-error a CommandRun is made by runCommands
  new CommandRun('run', null as never, [], null as never);
  // @ts-expect-error a cluster's close hooks are forkjoin's own
  cluster.onClose(async () => {});
  // @ts-expect-error a lock's wire record is forkjoin's own
  mutex.toRecord();
}

// The types public signatures use can be named.
function named(run: CommandRun): void {
  const tls: RedisTls = { ca: 'PEM' };
  const extras: ErrorExtras = { cause: new Error('x'), task: 'square' };
  const halted: HaltedBy | null = run.summary.haltedBy;
  void [tls, extras, halted];
}

void [options, errors, memoized, shell, internals, named, ThreadPool];

// Events are typed by their type: a listener of 'taskEnd' reads end, ok and error.
function events(pool: ThreadPool, local: LocalExecutor, cluster: Cluster): void {
  pool.on('taskEnd', (e) => {
    const ms: number = e.end - e.start;
    const code: string | undefined = e.ok ? undefined : e.error?.code;
    void [ms, code];
  }).on('workerExit', (e) => {
    const reason: WorkerExitReason = e.reason;
    void reason;
  });
  const onStart = (e: TaskStartEvent): void => { void e.at; };
  local.on('taskStart', onStart).off('taskStart', onStart);
  const any: ExecutorEventListener = (e: ExecutorEvent) => { void e.type; };
  pool.on('workerStart', any);
  const observed: ObservableExecutor = local;
  void observed;
  // @ts-expect-error no such event type
  pool.on('taskFinish', () => {});
  // @ts-expect-error a taskStart event has no `end`
  pool.on('taskStart', (e) => e.end);
  // @ts-expect-error a taskStart listener does not take taskEnd events
  pool.on('taskEnd', onStart);
  // @ts-expect-error the Cluster emits no events yet
  cluster.on('taskEnd', () => {});
  const end: TaskEndEvent | WorkerExitEvent | WorkerStartEvent | TaskEventError | undefined = undefined;
  void end;
}
void events;

// A recorder's record and a dashboard are typed; neither takes a Cluster.
async function observing(pool: ProcessPool, cluster: Cluster): Promise<void> {
  const recorder: Recorder = record(pool, { maxTasks: 1_000 });
  const run: RunRecord = recorder.stop();
  const slowest: TaskSummary | undefined = run.byTask[0];
  const alive: WorkerRecord[] = run.workers.filter((w) => w.end === undefined);
  const html: string = recorder.html();
  await recorder.save('report.html');
  const options: DashboardOptions = { port: 0, host: undefined };
  const board: Dashboard = await dashboard(pool, options);
  const url: string = board.url;
  await board.close();
  // @ts-expect-error the Cluster emits no events yet
  record(cluster);
  // @ts-expect-error the Cluster emits no events yet
  await dashboard(cluster);
  // @ts-expect-error no such option
  await dashboard(pool, { bind: '0.0.0.0' });
  void [slowest, alive, html, url];
}
void observing;
