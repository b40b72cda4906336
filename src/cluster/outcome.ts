/** Turning a cluster call's result (or its refusal) into what the caller sees. */
import { ErrorCodes, ForkJoinError } from '../errors.js';
import { reviveTaskError } from '../revive.js';
import type { TaskSpec } from '../task.js';
import type { WireValue } from '../wire-error.js';
import type { ResultMessage } from './wire.js';

/** Why a call may not go out: submit() rejects its Job with these, as the pools do (a wrong argument throws). */
const unsent = new Set<string>([ErrorCodes.ARG_NOT_CLONEABLE, ErrorCodes.EXECUTOR_CLOSED, ErrorCodes.EXECUTOR_TERMINATED, ErrorCodes.ABORTED]);
export const isUnsent = (error: unknown): boolean => error instanceof ForkJoinError && unsent.has(error.code);

/** Waits for `promise`, or `ms` at most. */
export function within(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise((r) => { timer = setTimeout(r, ms); })]).finally(() => clearTimeout(timer));
}

/** Marks an item's error with the engine that ran it (its cause carries `engine` and `host`). */
export function tagWire(wire: WireValue, message: ResultMessage): void {
  if (wire.error) Object.assign(wire.props, { engine: message.engine, host: message.host });
}

/** A task's outcome from its result message (null: it never came, `error` says why). */
export function outcomeOf(spec: TaskSpec, message: ResultMessage | null, error: unknown): { ok: boolean; value: unknown } {
  if (message === null) return { ok: false, value: error };
  const where = { engine: message.engine, host: message.host };
  if ('fail' in message) return { ok: false, value: reviveTaskError(message.fail, spec, where) };
  const first = message.ok.errors[0];
  if (first !== undefined) return { ok: false, value: reviveTaskError(first[1], spec, where) };
  return { ok: true, value: message.ok.values[0] };
}

