/**
 * imap: a map whose results stream to a consumer that paces it. It belongs to
 * the work close() finishes from the moment imap() is called; once its executor
 * is closing it stops waiting for its consumer and runs its inputs to the end
 * (or, under close({ cancelPending }), stops sending them).
 */
import { openEntry, runMap, type ChunkRunner, type MapEntry, type MapPlan, type MapSink } from './map.js';
import { kSoftAbort } from './pool/signals.js';

/** Results a closing executor's imap may hold unread; past them it waits for its consumer. */
export const CLOSING_BACKLOG = 65_536;
/** A consumer that takes nothing for this long while a closing executor's imap waits for it is taken to be gone. */
const CONSUMER_GONE_MS = 5_000;

/** Results as an async iterator; the consumer's pace bounds how much is buffered, until close(). */
export function streamResults(runner: ChunkRunner, inputs: unknown, plan: MapPlan, ordered: boolean): AsyncIterableIterator<unknown> {
  const controller = new AbortController();
  const outer = plan.signal;
  const ready: unknown[] = [];
  let readyHead = 0;
  const pending = new Map<number, { values: ArrayLike<unknown>; errors: Map<number, unknown> }>();
  let pendingItems = 0;
  let nextIndex = 0;
  let finished = false;
  let closing = false;
  let failure: { error: unknown } | null = null;
  // In order, without settle: the failed input the results reached; nothing after it is yielded.
  let reached: { error: unknown } | null = null;
  let engine: Promise<void> | null = null;
  let producerAt = -1;
  let taken = 0;
  let iterating = false;
  // The generator waits at a yield: the consumer holds a value and may leave.
  let atYield = false;
  const wake: { consumer: (() => void) | null; producer: (() => void) | null } = { consumer: null, producer: null };
  const backlog = (): number => ready.length - readyHead + pendingItems;

  const emit = (start: number, values: ArrayLike<unknown>, errors: Map<number, unknown>): void => {
    for (let i = 0; i < values.length; i++) {
      const reason = errors.get(start + i);
      if (plan.settle) ready.push(errors.has(start + i) ? { status: 'rejected', reason } : { status: 'fulfilled', value: values[i] });
      else if (!errors.has(start + i)) ready.push(values[i]);
      else {
        reached = { error: reason };
        return;
      }
    }
  };
  const sink: MapSink = {
    // In order, an input's error waits for the results before it, as Pool.imap raises it.
    failsInOrder: ordered,
    // The inputs' iterator failing ends the loop as an input's error does, after the results of what it gave.
    keepsPulled: true,
    deliver(start, values, errorList) {
      if (reached !== null) return reached;
      const errors = new Map(errorList);
      if (!ordered) emit(start, values, errors);
      else {
        pending.set(start, { values, errors });
        pendingItems += values.length;
        for (let chunk = pending.get(nextIndex); chunk !== undefined && reached === null; chunk = pending.get(nextIndex)) {
          pending.delete(nextIndex);
          pendingItems -= chunk.values.length;
          emit(nextIndex, chunk.values, chunk.errors);
          nextIndex += chunk.values.length;
        }
        if (reached !== null) {
          pending.clear();
          pendingItems = 0;
        }
      }
      wake.consumer?.();
      return reached ?? undefined;
    },
    ahead: () => (closing ? CLOSING_BACKLOG : 'paced'),
    backlog,
    drained: (n) => new Promise<boolean>((resolve) => {
      producerAt = n;
      let watch: NodeJS.Timeout | null = null;
      // A wait the map left (a chunk landed first) ends here, its watch with it.
      wakeProducer();
      wake.producer = () => {
        if (watch !== null) clearInterval(watch);
        resolve(true);
      };
      if (!closing) return;
      // Closing: a consumer that takes nothing for CONSUMER_GONE_MS is gone, and close() must not wait for it.
      let seen = taken;
      watch = setInterval(() => {
        if (taken !== seen) {
          seen = taken;
          return;
        }
        clearInterval(watch as NodeJS.Timeout);
        wake.producer = null;
        resolve(false);
      }, CONSUMER_GONE_MS);
    }),
  };
  const wakeProducer = (): void => {
    const producer = wake.producer;
    wake.producer = null;
    producer?.();
  };
  // The room a taken value makes reaches the producer a turn later: a consumer that breaks out on
  // that value has called return() by then, and nothing more starts (a LocalExecutor starts a task at once).
  let roomSoon = false;
  const makeRoom = (): void => {
    if (roomSoon) return;
    roomSoon = true;
    setImmediate(() => {
      roomSoon = false;
      if (wake.producer !== null && backlog() <= producerAt) wakeProducer();
    });
  };

  let entry: MapEntry | null = null;
  let refused: { error: unknown } | null = null;
  const start = (): void => {
    if (engine !== null || refused !== null) return;
    const forward = (): void => controller.abort(outer?.reason);
    if (outer?.aborted) forward();
    outer?.addEventListener('abort', forward, { once: true });
    engine = runMap(runner, inputs, { ...plan, signal: controller.signal }, sink, entry ?? undefined).then(
      () => { finished = true; },
      (error: unknown) => { failure = { error }; finished = true; },
    ).finally(() => {
      entry?.end();
      // A wait for the consumer ends with the map, its watch with it.
      wakeProducer();
      outer?.removeEventListener('abort', forward);
      wake.consumer?.();
    });
  };
  try {
    // Registered now, not at the first next(): `it = imap(); close(); for await (… of it)` works.
    const opened = openEntry(runner, () => {
      // The consumer may be gone: run the inputs to the end, buffering (up to CLOSING_BACKLOG) for it.
      closing = true;
      start();
      wakeProducer();
    });
    // Cancelled before it ran (close({ cancelPending }), terminate()): it never runs, and its iteration fails. Once it runs, runMap cancels it.
    opened.cancel = (error) => {
      refused = { error };
      opened.end();
    };
    entry = opened;
  } catch (error) {
    refused = { error };
  }

  async function* results(): AsyncGenerator<unknown, void, undefined> {
    iterating = true;
    if (refused !== null) throw refused.error;
    start();
    try {
      for (;;) {
        while (readyHead < ready.length) {
          const value = ready[readyHead];
          ready[readyHead++] = undefined;
          if (readyHead === ready.length) {
            ready.length = 0;
            readyHead = 0;
          }
          taken++;
          if (wake.producer !== null && backlog() <= producerAt) makeRoom();
          atYield = true;
          yield value;
          atYield = false;
        }
        if (failure !== null) throw (failure as { error: unknown }).error;
        if (finished) return;
        await new Promise<void>((resolve) => { wake.consumer = resolve; });
        wake.consumer = null;
      }
    } finally {
      if (!finished) stop();
      await engine;
    }
  }

  const generator = results();
  const stop = (): void => {
    controller.abort(kSoftAbort);
    wakeProducer();
  };
  // Given back before its first next(), an imap stops (or never runs): close() need not wait for it. Given
  // back at a yield, it stops at once: nothing more starts while return() makes its way into the generator.
  const leaving = (): void => {
    if (!iterating && engine === null) entry?.end();
    else if (!iterating || (atYield && !finished)) stop();
  };
  return {
    next: () => generator.next(),
    return: (value?: unknown) => {
      leaving();
      return generator.return(value as undefined);
    },
    throw: (error?: unknown) => {
      leaving();
      return generator.throw(error);
    },
    [Symbol.asyncIterator]() { return this; },
  };
}
