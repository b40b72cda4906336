/**
 * A Results message that could not be sent: some result cannot be cloned. Each such result
 * becomes an error naming its path; in a map chunk, each such value becomes the error of its
 * own input, so the caller learns which input it was (`index`), not where it sat in the chunk.
 */
import { ErrorCodes } from '../../errors.js';
import { codedError } from '../../task-loader.js';
import { ownWire, toWire } from '../../wire-error.js';
import { describeUncloneable, findUncloneable } from '../clone.js';
import { Msg, type ChunkResult, type ResultsMessage } from '../protocol.js';

type CanClone = (value: unknown) => boolean;

/** The message with every result that cannot be cloned replaced by an error; `isChunk` tells a map chunk's result. */
export function salvage(message: ResultsMessage, canClone: CanClone, peer: string, isChunk: (value: unknown) => boolean): ResultsMessage {
  const ok: unknown[] = [];
  const bad = message.failed.slice();
  for (let i = 0; i < message.done.length; i += 2) {
    const value = message.done[i + 1];
    if (isChunk(value)) {
      ok.push(message.done[i], salvageChunk(value as ChunkResult, canClone, peer));
      continue;
    }
    const found = findUncloneable(value, 'result', canClone);
    if (found === null && canClone(value)) ok.push(message.done[i], value);
    // Not found by the walk, which a Proxy or a hostile object defeats: the whole result is named.
    else bad.push(message.done[i], ownWire(codedError(ErrorCodes.RESULT_NOT_CLONEABLE, found === null ? `The result cannot be sent to ${peer}: it cannot be read (a Proxy, or an object whose traps or getters throw). Pass plain data` : describeUncloneable(found, peer))));
  }
  for (let i = 1; i < bad.length; i += 2) {
    if (!canClone(bad[i])) bad[i] = toWire(codedError(ErrorCodes.TASK_FAILED, 'The task failed with an error that cannot be cloned'));
  }
  const salvaged: ResultsMessage = { k: Msg.Results, done: ok, failed: bad, busy: message.busy, started: message.started };
  if (message.begun !== undefined) salvaged.begun = message.begun;
  if (message.ended !== undefined) salvaged.ended = message.ended;
  return salvaged;
}

function salvageChunk(out: ChunkResult, canClone: CanClone, peer: string): ChunkResult {
  if (!Array.isArray(out.values)) return out; // packed numbers
  const values = out.values as unknown[];
  for (let k = 0; k < values.length; k++) {
    const found = findUncloneable(values[k], 'result', canClone);
    if (found === null) continue;
    values[k] = undefined;
    out.errors.push([k, ownWire(codedError(ErrorCodes.RESULT_NOT_CLONEABLE, describeUncloneable(found, peer)))]);
  }
  out.errors.sort((a, b) => a[0] - b[0]);
  return out;
}
