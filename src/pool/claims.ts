/**
 * Who runs a call sent ahead to a worker thread: the worker, when it reaches
 * the call, or another worker, when this thread takes the call back because the
 * first is stuck in a long call. One shared word per call decides, by
 * compare-and-swap, so a call is never run twice nor lost, even while its
 * worker is blocked in synchronous code and reads no message.
 *
 * Word of slot `id & MASK`: a tag naming the call waiting (> 0), CLAIMED (the
 * worker began it, or no call waits there), or TAKEN (this thread took it back).
 * A slot is marked only when no other call waits in it: a call that finds its
 * slot used is sent unmarked, and runs where it was sent.
 */
/** Where a worker thread finds its words in `workerData`. */
export const CLAIMS_KEY = 'forkjoin.claims';

const SLOTS = 4096;
const MASK = SLOTS - 1;
const CLAIMED = 0;
const TAKEN = -1;

function tagOf(id: number): number {
  return (id % 0x7ffffffe) + 1;
}

/** The words of one worker, as its pool sees them. */
export class Claims {
  readonly words = new Int32Array(new SharedArrayBuffer(SLOTS * 4));

  /** Marks call `id` as waiting (again, when a send failed); false when its slot holds another waiting call (it is then sent unmarked). */
  mark(id: number): boolean {
    const slot = id & MASK;
    const word = Atomics.load(this.words, slot);
    if (word > 0) return word === tagOf(id);
    // Only this thread writes tags, and the worker only turns a tag into CLAIMED: the word cannot change under us to a tag.
    return Atomics.compareExchange(this.words, slot, word, tagOf(id)) === word;
  }

  /** Whether marked call `id` still waits for its worker to begin it. */
  waiting(id: number): boolean {
    return waiting(this.words, id);
  }

  /** Takes a marked call back before its worker begins it; false once the worker has. */
  take(id: number): boolean {
    const tag = tagOf(id);
    return Atomics.compareExchange(this.words, id & MASK, tag, TAKEN) === tag;
  }
}

/** In the worker: whether it may begin marked call `id` (false: the pool took it back, and it is skipped). */
export function claim(words: Int32Array, id: number): boolean {
  const tag = tagOf(id);
  return Atomics.compareExchange(words, id & MASK, tag, CLAIMED) === tag;
}

/** Whether marked call `id` still waits for its worker (false: begun, from this or another copy of it, or taken back). */
export function waiting(words: Int32Array, id: number): boolean {
  return Atomics.load(words, id & MASK) === tagOf(id);
}
