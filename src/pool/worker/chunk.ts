/**
 * A map chunk in a worker: the task called on each item, in turn (awaited once an item
 * returns a promise), its results packed into one Float64Array when they are all numbers.
 */
import { nowMs } from '../../clock.js';
import { isThenable, untransferred, type Transferable } from '../../transfer.js';
import type { WireValue } from '../../wire-error.js';
import { TaskFlag, packNumbers, type ChunkResult } from '../protocol.js';

type Fn = (...args: unknown[]) => unknown;

/** What a chunk needs of the runtime running it. */
export interface ChunkContext {
  /** A failed item's error, as the pool receives it. */
  wireOf(thrown: unknown, fnId: number): WireValue;
  /** Moves `buffers` (instead of copying them) with the next results message. */
  transfer(buffers: readonly Transferable[]): void;
  /** Notes a finished chunk's result. */
  produced(out: ChunkResult): void;
}

/** Runs `fn` on each item; turns async the first time an item returns a promise. */
export function runChunk(ctx: ChunkContext, fn: Fn, fnId: number, items: ArrayLike<unknown>, flags: number): ChunkResult | Promise<ChunkResult> {
  const t0 = nowMs();
  const out: ChunkResult = { values: new Array(items.length), errors: [], ms: 0 };
  const spread = (flags & TaskFlag.Spread) !== 0;
  const settle = (flags & TaskFlag.Settle) !== 0;
  for (let i = 0; i < items.length; i++) {
    let value: unknown;
    try {
      value = spread ? fn(...(items[i] as unknown[])) : fn(items[i]);
    } catch (thrown) {
      out.errors.push([i, ctx.wireOf(thrown, fnId)]);
      if (!settle) break;
      continue;
    }
    if (isThenable(value)) return finishAsync(ctx, fn, fnId, items, i, value, out, t0, spread, settle);
    (out.values as unknown[])[i] = untransferred(value, ctx.transfer);
  }
  return pack(ctx, out, t0);
}

async function finishAsync(
  ctx: ChunkContext, fn: Fn, fnId: number, items: ArrayLike<unknown>, from: number, first: PromiseLike<unknown>,
  out: ChunkResult, t0: number, spread: boolean, settle: boolean,
): Promise<ChunkResult> {
  for (let i = from; i < items.length; i++) {
    try {
      const value = await (i === from ? first : spread ? fn(...(items[i] as unknown[])) : fn(items[i]));
      (out.values as unknown[])[i] = untransferred(value, ctx.transfer);
    } catch (thrown) {
      out.errors.push([i, ctx.wireOf(thrown, fnId)]);
      if (!settle) break;
    }
  }
  return pack(ctx, out, t0);
}

/** Numbers go back as one transferred Float64Array instead of an array of values. */
function pack(ctx: ChunkContext, out: ChunkResult, t0: number): ChunkResult {
  const packed = out.errors.length === 0 ? packNumbers(out.values) : null;
  if (packed !== null) {
    out.values = packed;
    ctx.transfer([packed.buffer as ArrayBuffer]);
  }
  out.ms = nowMs() - t0;
  ctx.produced(out);
  return out;
}
