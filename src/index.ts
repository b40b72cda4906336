/** forkjoin: parallel computing for Node.js, one typed API from one core to many. */
export { ThreadPool, ProcessPool } from './pool/pools.js';
export type { PoolOptions } from './pool/options.js';
export { LocalExecutor } from './local.js';
export { Cluster } from './cluster/index.js';
export type { ClusterOptions, LocalClusterOptions, BroadcastResult } from './cluster/client.js';
export type { RedisTls } from './cluster/redis.js';
export type { EngineInfo } from './cluster/wire.js';
export type { LocalExecutorOptions } from './local.js';
export type { Executor, CallOptions, MapOptions, Settled } from './executor.js';
export { Job } from './job.js';
export type { JobState } from './job.js';
export { taskModule, taskRef, isTaskRef } from './task.js';
export type { Task, TaskRef, TaskFunction, TaskModule, TaskResult } from './task.js';
export { Mutex, MutexLock, Semaphore, Permit, Barrier, Latch, AtomicCounter } from './sync/index.js';
export type { MutexOptions, BarrierArrival, WaitOptions } from './sync/index.js';
export { delayed, isDelayed, Delayed } from './graph/delayed.js';
export type { DelayedOptions, Lazy, LazyArgs } from './graph/delayed.js';
export { compute } from './graph/compute.js';
export type { ComputeOptions, Computed } from './graph/compute.js';
export { toDot, toMermaid } from './graph/visualize.js';
export { GraphError } from './graph/error.js';
export type { GraphEvent, GraphEventType, GraphEventListener } from './graph/events.js';
export { memoize } from './cache/memoize.js';
export type { MemoizeOptions, Memoized } from './cache/memoize.js';
export { MemoryCache } from './cache/memory.js';
export type { MemoryCacheOptions } from './cache/memory.js';
export { DiskCache } from './cache/disk.js';
export type { DiskCacheOptions } from './cache/disk.js';
export type { Cache, SyncCache, CacheHit, CacheStats } from './cache/cache.js';
export { transfer } from './transfer.js';
export { rerunLocally } from './rerun.js';
export type { Transferable } from './transfer.js';
export type { ExecutorStats, LatencyStats } from './stats.js';
export type { ProgressEvent, ProgressListener } from './progress.js';
export type {
  ObservableExecutor, ExecutorEvent, ExecutorEventMap, ExecutorEventType, ExecutorEventListener,
  TaskStartEvent, TaskEndEvent, TaskEventError, WorkerStartEvent, WorkerExitEvent, WorkerExitReason,
} from './observe/events.js';
export { record } from './observe/record.js';
export type { Recorder, RecordOptions, RunRecord, WorkerRecord, TaskSummary } from './observe/record.js';
export { dashboard } from './observe/dashboard.js';
export type { Dashboard, DashboardOptions } from './observe/dashboard.js';
export { runCommands, CommandRun } from './shell/run-commands.js';
export type { CommandInput, CommandInputs } from './shell/run-commands.js';
export type { RunOptions } from './shell/options.js';
export type { CommandResult, RunSummary } from './shell/result.js';
export type { HaltSpec, HaltedBy } from './shell/halt.js';
export type { InputValue } from './shell/bytes.js';
export { JobOutput } from './shell/output.js';
export {
  ErrorCodes, ForkJoinError, TaskError, TaskTimeoutError, AbortError, WorkerError, CloneError,
  InvalidTypeError, InvalidValueError, DeadlockError, isForkJoinError,
} from './errors.js';
export type { ErrorCode, ErrorExtras, ForkJoinErrorWith } from './errors.js';
