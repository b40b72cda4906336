/** Encoding calls into one Run message, with the function definitions the worker lacks. */
import type { Transferable } from '../transfer.js';
import { Msg, TaskFlag, type FnDef, type RunMessage } from './protocol.js';
import type { Call } from './records.js';

export interface EncodedBatch {
  message: RunMessage;
  transfer: Transferable[];
}

/** One message for `calls`; `known` is what the worker was already sent, `defs` every function by id. */
export function encodeBatch(calls: readonly Call[], known: ReadonlySet<number>, defs: readonly FnDef[]): EncodedBatch {
  let added: FnDef[] | null = null;
  const tasks: unknown[] = [];
  let transfer: Transferable[] = [];
  for (const call of calls) {
    if (!known.has(call.fnId) && !(added?.includes(defs[call.fnId]) ?? false)) (added ??= []).push(defs[call.fnId]);
    const o = call.options;
    tasks.push(call.id, call.fnId, o.watched ? o.flags | TaskFlag.Watched : o.flags, call.args);
    if (o.transfer !== undefined) transfer = transfer.concat(o.transfer);
  }
  return { message: { k: Msg.Run, defs: added, tasks }, transfer };
}
