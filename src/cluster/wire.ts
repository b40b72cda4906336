/**
 * What crosses Redis between a cluster client and its engines: the key names, a job's
 * data (a task and its inputs, v8-serialized and base64'd: structured-clone compatible),
 * and result messages (binary, several to one element of the client's result list).
 */
import { v8 } from '../builtins.js';

const serialize = (value: unknown): Buffer => v8().serialize(value);
const deserialize = (buffer: Buffer): unknown => v8().deserialize(buffer);
import type { ChunkResult } from '../pool/protocol.js';
import type { TaskSpec } from '../task.js';
import type { WireValue } from '../wire-error.js';

/** Key names of one cluster; BullMQ's own keys live under `prefix`. */
export function clusterKeys(cluster: string) {
  const base = `fj:${cluster}`;
  return Object.freeze({
    /** BullMQ's prefix for this cluster's queues. */
    prefix: base,
    /** The shared, load-balanced queue. */
    tasks: 'tasks' as string,
    /** The queue only `engine` reads (broadcast). */
    direct: (engine: string) => `direct-${engine}`,
    /** The set of engine names that ever announced themselves (pruned as they go). */
    engines: `${base}:engines`,
    /** An engine's heartbeat: its info as JSON, expiring unless refreshed. */
    engine: (name: string) => `${base}:engine:${name}`,
    /** A client's liveness, expiring unless refreshed: engines skip the jobs of a dead client. */
    client: (id: string) => `${base}:client:${id}`,
    /** A client's result list. */
    results: (id: string) => `${base}:results:${id}`,
  });
}

export type ClusterKeys = ReturnType<typeof clusterKeys>;

/** A job's data as BullMQ stores it (JSON). */
export interface JobData {
  /** Client id: where the result goes. */
  c: string;
  /** Task kind, code (module URL or function source), export name. */
  k: 'module' | 'inline';
  m: string;
  n: string;
  /** TaskFlag bits for the pool's chunk runner. */
  f: number;
  /** Timeout of the chunk in ms, 0 for none. */
  t: number;
  /** Retries: crashes of a pool worker, and engines lost while running it. */
  r: number;
  /** The items, v8-serialized, base64. */
  p: string;
}

export function encodeJob(client: string, spec: TaskSpec, items: unknown, flags: number, timeout: number, retries: number): JobData {
  return { c: client, k: spec.kind, m: spec.code, n: spec.name, f: flags, t: timeout, r: retries, p: serialize(items).toString('base64') };
}

export function decodeItems(data: JobData): unknown[] {
  return deserialize(Buffer.from(data.p, 'base64')) as unknown[];
}

export function isJobData(value: unknown): value is JobData {
  if (typeof value !== 'object' || value === null) return false;
  const d = value as Record<string, unknown>;
  return typeof d.c === 'string' && (d.k === 'module' || d.k === 'inline') && typeof d.m === 'string' &&
    typeof d.n === 'string' && typeof d.f === 'number' && typeof d.t === 'number' && typeof d.r === 'number' && typeof d.p === 'string';
}

/** A result as it lands in the client's list: the chunk's outcome, or why the whole job failed. */
export type ResultMessage =
  | { id: string; engine: string; host: string; ok: ChunkResult }
  | { id: string; engine: string; host: string; fail: WireValue };

/** A result, or several in an array, encoded: see joinResults for how they share a list element. */
export function encodeResult(message: ResultMessage | readonly ResultMessage[]): Buffer {
  return serialize(message);
}

/** Encoded results (or arrays of them) in one element of a client's result list: each is length-prefixed. */
export function joinResults(encoded: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const one of encoded) {
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32BE(one.length, 0);
    parts.push(length, one);
  }
  return Buffer.concat(parts);
}

/** The well-formed results of one list element; anything else in it is dropped. */
export function decodeResults(element: Buffer): ResultMessage[] {
  const out: ResultMessage[] = [];
  let at = 0;
  while (at + 4 <= element.length) {
    const end = at + 4 + element.readUInt32BE(at);
    if (end > element.length) break;
    try {
      const decoded = deserialize(element.subarray(at + 4, end));
      for (const message of Array.isArray(decoded) ? decoded as unknown[] : [decoded]) {
        if (isResultMessage(message)) out.push(message);
      }
    } catch {
      // not a result: dropped
    }
    at = end;
  }
  return out;
}

function isResultMessage(m: unknown): m is ResultMessage {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Record<string, unknown>;
  return typeof r.id === 'string' && typeof r.engine === 'string' && typeof r.host === 'string' && ('ok' in r || 'fail' in r);
}

/** What an engine announces in its heartbeat. */
export interface EngineInfo {
  name: string;
  host: string;
  pid: number;
  workers: number;
  /** Jobs running now. */
  busy: number;
  done: number;
  failed: number;
  started: number;
  /** ms since the epoch of this heartbeat, by the engine's clock. */
  heartbeat: number;
  state: 'running' | 'stopping';
}

export function isEngineInfo(value: unknown): value is EngineInfo {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return typeof e.name === 'string' && typeof e.host === 'string' && typeof e.pid === 'number' && typeof e.workers === 'number';
}
