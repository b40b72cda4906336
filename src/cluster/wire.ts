/**
 * What crosses Redis between a cluster client and its engines: the key names, a job's
 * data (a task and its inputs: a few plain values as JSON, anything else v8-serialized and
 * base64'd, structured-clone compatible), and result messages (binary, several to one
 * element of the client's result list).
 */
import { isProxy, v8 } from '../builtins.js';
import { CloneError, ErrorCodes } from '../errors.js';
import { argumentsOf, describeUncloneable, findUncloneableIn, inputsOf } from '../pool/clone.js';
import type { ChunkResult } from '../pool/protocol.js';
import { refuseShared, viewOwning, type ViewType } from '../pool/process-codec.js';
import type { TaskSpec } from '../task.js';
import { ownWire, type WireValue } from '../wire-error.js';
import { codedError } from '../task-loader.js';
import { refuseLocks } from './locks.js';

const serialize = (value: unknown): Buffer => sharing().serialize(value);
const deserialize = (buffer: Buffer): unknown => ownViews().deserialize(buffer);

let refusing: { serialize(value: unknown): Buffer } | null = null;
/** v8.serialize, but a typed array, DataView or Buffer over a SharedArrayBuffer is refused (refuseShared). The format is Node's. */
function sharing(): { serialize(value: unknown): Buffer } {
  if (refusing !== null) return refusing;
  const Base = v8().DefaultSerializer as unknown as new () => import('node:v8').Serializer & { _writeHostObject(object: object): void };
  class Serializer extends Base {
    override _writeHostObject(object: object): void {
      if (ArrayBuffer.isView(object)) refuseShared(object, 'an engine');
      super._writeHostObject(object);
    }
  }
  refusing = {
    serialize(value) {
      const serializer = new Serializer();
      serializer.writeHeader();
      serializer.writeValue(value);
      return serializer.releaseBuffer();
    },
  };
  return refusing;
}

let owning: { deserialize(buffer: Buffer): unknown } | null = null;
/**
 * v8.deserialize with each typed array, DataView or Buffer revived owning an ArrayBuffer of
 * exactly its bytes: Node's own makes views into the bytes read (for a result, Redis's reply,
 * with the other results of its list element and the protocol's own bytes). The format is
 * Node's, so clients and engines of earlier versions still read each other.
 */
function ownViews(): { deserialize(buffer: Buffer): unknown } {
  if (owning !== null) return owning;
  const Base = v8().DefaultDeserializer as unknown as new (bytes: Uint8Array) => import('node:v8').Deserializer & { _readHostObject(): unknown };
  class Deserializer extends Base {
    override _readHostObject(): unknown {
      const view = super._readHostObject() as ArrayBufferView;
      if (view.byteOffset === 0 && view.buffer.byteLength === view.byteLength) return view;
      const Type = (Buffer.isBuffer(view) ? Buffer : view.constructor) as ViewType;
      return viewOwning(Type, new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
    }
  }
  owning = {
    deserialize(buffer) {
      const deserializer = new Deserializer(buffer);
      deserializer.readHeader();
      return deserializer.readValue();
    },
  };
  return owning;
}

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
    /** A random id, written again by whoever finds it missing: a new one means Redis lost the cluster's data. */
    epoch: `${base}:epoch`,
    /** Set when a job's caller cancelled it after an engine may have taken it: the engine stops it. */
    cancel: (job: string) => `${base}:cancel:${job}`,
    /** Set when a job's caller no longer awaits it (its map failed, its imap was left): the engine drops it unless begun. A key of its own, which engines that know only `cancel` do not read. */
    drop: (job: string) => `${base}:drop:${job}`,
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
  /** The items: as JSON values (`a`) when that keeps them exactly, else v8-serialized, base64 (`p`). */
  a?: unknown[];
  p?: string;
}

/** Inputs of at most this many values may travel as JSON, inside the job's data as BullMQ stores it. */
const JSON_VALUES = 16;

function jsonScalar(value: unknown): boolean {
  return value === null || typeof value === 'string' || typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value) && !Object.is(value, -0));
}

/**
 * The elements of `value`, each read once, when it is a plain array (no Proxy, no subclass)
 * of at most JSON_VALUES elements without holes or other own properties; else null.
 */
function plainElements(value: unknown): unknown[] | null {
  if (!Array.isArray(value) || isProxy(value) || Object.getPrototypeOf(value) !== Array.prototype) return null;
  if (value.length > JSON_VALUES || Object.keys(value).length !== value.length) return null;
  const copy: unknown[] = [];
  for (let i = 0; i < value.length; i++) {
    if (!(i in value)) return null;
    copy.push(value[i]);
  }
  return copy;
}

/**
 * A copy of `items` when JSON carries it exactly (a few finite numbers other than -0,
 * strings, booleans and nulls, alone or in plain arrays: a run's argument list), else null.
 * Each value is read once, as structured clone reads it, and checked as read.
 * Decoding v8's format costs more than a tiny task; JSON is parsed with the job anyway.
 */
function asJson(items: unknown): unknown[] | null {
  const copy = plainElements(items);
  if (copy === null) return null;
  let values = 0;
  for (let i = 0; i < copy.length; i++) {
    const item = copy[i];
    if (Array.isArray(item)) {
      const inner = plainElements(item);
      if (inner === null || !inner.every(jsonScalar)) return null;
      copy[i] = inner;
      values += inner.length;
    } else {
      if (!jsonScalar(item)) return null;
      values++;
    }
    if (values > JSON_VALUES) return null;
  }
  return copy;
}

/**
 * A job's data; `first` is the index of a map chunk's first input (a run has none). Throws,
 * as the pools do, a CloneError naming the argument that cannot be sent, or that is a lock.
 */
export function encodeJob(client: string, spec: TaskSpec, items: unknown, flags: number, timeout: number, retries: number, first?: number): JobData {
  const data: JobData = { c: client, k: spec.kind, m: spec.code, n: spec.name, f: flags, t: timeout, r: retries };
  const json = asJson(items);
  if (json !== null) {
    data.a = json;
  } else {
    // A run's items are [args]; a map chunk's are its inputs.
    const roots = (): Array<[unknown, string]> => !Array.isArray(items) ? [[items, 'inputs']]
      : first === undefined ? argumentsOf(items[0]) : inputsOf(items, first);
    refuseLocks(spec.label, roots);
    data.p = serializeItems(spec, items, roots, first);
  }
  return data;
}

function serializeItems(spec: TaskSpec, items: unknown, rootsOf: () => Array<[unknown, string]>, first: number | undefined): string {
  try {
    return serialize(items).toString('base64');
  } catch (cause) {
    const roots = rootsOf();
    const canSend = (value: unknown): boolean => {
      try {
        serialize(value);
        return true;
      } catch {
        return false;
      }
    };
    const found = findUncloneableIn(roots, canSend);
    const message = found === null
      ? `The arguments of ${spec.label} cannot be sent to an engine: ${(cause as Error)?.message ?? String(cause)}`
      : describeUncloneable(found, 'an engine');
    // A map chunk's input is named by its index too, as the pools do: the map fails it alone.
    const index = first === undefined || found === null || !Array.isArray(items) ? {} : { index: first + found.root };
    throw new CloneError(ErrorCodes.ARG_NOT_CLONEABLE, message, { cause, path: found?.path ?? roots[0]?.[1] ?? 'args', task: spec.label, ...index });
  }
}

export function decodeItems(data: JobData): unknown[] {
  return data.a ?? deserialize(Buffer.from(data.p as string, 'base64')) as unknown[];
}

export function isJobData(value: unknown): value is JobData {
  if (typeof value !== 'object' || value === null) return false;
  const d = value as Record<string, unknown>;
  return typeof d.c === 'string' && (d.k === 'module' || d.k === 'inline') && typeof d.m === 'string' &&
    typeof d.n === 'string' && typeof d.f === 'number' && typeof d.t === 'number' && typeof d.r === 'number' && (typeof d.p === 'string' || Array.isArray(d.a));
}

/** A result as it lands in the client's list: the chunk's outcome, or why the whole job failed. */
export type ResultMessage =
  | { id: string; engine: string; host: string; ok: ChunkResult }
  | { id: string; engine: string; host: string; fail: WireValue };

/** A result, or several in an array, encoded: see framed() for how they share a list element. */
export function encodeResult(message: ResultMessage | readonly ResultMessage[]): Buffer {
  return serialize(message);
}

/** At most this many results, of at most about this many bytes, per element of a client's result list. */
const REPLY_BATCH = 256;
const REPLY_BYTES = 4 * 1024 * 1024;

/**
 * The list elements for `messages`: all of them serialized together when that stays below
 * REPLY_BYTES (the usual case: one encoding for many results), else split in halves. A result
 * that cannot be encoded alone is replaced by its failure, so the client still settles it.
 */
export function encodeReplies(messages: readonly ResultMessage[]): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < messages.length; i += REPLY_BATCH) encodeInto(messages.slice(i, i + REPLY_BATCH), out);
  return out;
}

function encodeInto(messages: readonly ResultMessage[], out: Buffer[]): void {
  let encoded: Buffer | null = null;
  try {
    encoded = encodeResult(messages.length === 1 ? messages[0] : messages);
  } catch (error) {
    if (messages.length === 1) {
      const m = messages[0];
      const why = codedError(ErrorCodes.RESULT_NOT_CLONEABLE, `A result cannot be sent back from engine ${m.engine}: ${(error as Error)?.message ?? String(error)}`);
      out.push(framed(encodeResult({ id: m.id, engine: m.engine, host: m.host, fail: ownWire(why) })));
      return;
    }
  }
  if (encoded !== null && (encoded.length <= REPLY_BYTES || messages.length === 1)) {
    out.push(framed(encoded));
    return;
  }
  const half = Math.ceil(messages.length / 2);
  encodeInto(messages.slice(0, half), out);
  encodeInto(messages.slice(half), out);
}

/**
 * An element of a client's result list: encoded results, length-prefixed. An engine writes one
 * frame per element; decodeResults reads as many as an element holds.
 */
function framed(encoded: Buffer): Buffer {
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32BE(encoded.length, 0);
  return Buffer.concat([length, encoded]);
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
  /** Pool workers the engine replaced since it started (crashed, timed out, stopped under a cancelled task); absent from older engines. */
  replaced?: number;
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
