/**
 * An engine's side of its clients' result lists: the results of one turn go out together, one
 * RPUSH per client, whose list's expiry is renewed at most once a second; a push that Redis
 * refuses (out of memory, say) is retried, and logged.
 */
import type { Redis } from 'ioredis';
import { ErrorCodes } from '../errors.js';
import { codedError } from '../task-loader.js';
import { ownWire } from '../wire-error.js';
import { redactText } from './redis.js';
import { TurnBatch } from './turn-batch.js';
import { encodeReplies, type ClusterKeys, type ResultMessage } from './wire.js';

/** How long a result waits in a client's list before Redis drops it (the client died). */
export const DEFAULT_RESULT_TTL_MS = 600_000;
/** Attempts to store a client's results before the engine gives up on them (it logs each). */
const PUSH_ATTEMPTS = 5;

interface Reply { client: string; message: ResultMessage; issued(): void }

export class ResultLists {
  readonly #redis: Redis;
  readonly #keys: ClusterKeys;
  readonly #engine: string;
  readonly #log: (line: string) => void;
  /** When each client's list had its expiry renewed last. */
  readonly #renewed = new Map<string, number>();
  readonly #replies = new TurnBatch<Reply>((replies) => this.#sendAll(replies));

  constructor(redis: Redis, keys: ClusterKeys, engine: string, log: (line: string) => void) {
    this.#redis = redis;
    this.#keys = keys;
    this.#engine = engine;
    this.#log = log;
  }

  /**
   * Pushes the result to `client`'s list, and resolves once the push is issued: BullMQ
   * then completes (and deletes) the job with a command on the same connection, which
   * Redis runs after the push. A crash in between re-runs the job, and the client keeps
   * only the first result; the job's slot is not held for a round trip of its own.
   */
  send(client: string, message: ResultMessage): Promise<void> {
    return new Promise((resolve) => this.#replies.add({ client, message, issued: resolve }));
  }

  #sendAll(replies: Reply[]): void {
    const byClient = new Map<string, Reply[]>();
    for (const reply of replies) {
      const list = byClient.get(reply.client);
      if (list === undefined) byClient.set(reply.client, [reply]);
      else list.push(reply);
    }
    const now = Date.now();
    if (this.#renewed.size > 10_000) this.#renewed.clear();
    for (const [id, list] of byClient) {
      const refresh = now - (this.#renewed.get(id) ?? 0) > 1_000;
      if (refresh) this.#renewed.set(id, now);
      // Issued before any job of `list` completes: see send().
      const messages = list.map((reply) => reply.message);
      this.#push(id, encodeReplies(messages), refresh, 0, messages);
      for (const reply of list) reply.issued();
    }
  }

  /**
   * RPUSHes `values` to a client's result list (and renews its expiry when `refresh`).
   * Redis refusing the push (out of memory, say) is retried: the jobs are already complete.
   * Past the last attempt, several results are pushed one by one, and one that still cannot be
   * stored is replaced by a short failure saying why, so that its caller is not left waiting
   * (`messages`: those of `values`; null for that failure's own push).
   */
  #push(id: string, values: Buffer[], refresh: boolean, attempt: number, messages: ResultMessage[] | null): void {
    const key = this.#keys.results(id);
    const sent = refresh
      ? this.#redis.multi().rpush(key, ...values).pexpire(key, DEFAULT_RESULT_TTL_MS).exec().then((replies) => {
        const failed = replies?.find(([error]) => error !== null);
        if (failed !== undefined) throw failed[0];
      })
      : this.#redis.rpush(key, ...values);
    sent.catch((error: unknown) => {
      const inner = (error as { previousErrors?: Error[] }).previousErrors?.[0];
      const why = redactText((inner ?? (error as Error)).message);
      const last = attempt + 1 >= PUSH_ATTEMPTS;
      const next = !last ? 'retrying' : messages === null ? 'giving up' : messages.length > 1 ? 'sending them one by one' : 'sending its failure instead';
      this.#log(`forkjoin engine ${this.#engine}: ${messages === null ? 'failures' : 'results'} for client ${id} not stored (${why}); ${next}`);
      // Later: a push Redis refused for its size holds memory for a moment after (its query buffer).
      const retry = (then: () => void): void => { setTimeout(then, 1_000 * (attempt + 1)).unref(); };
      if (!last) retry(() => this.#push(id, values, true, attempt + 1, messages));
      // Several results: each alone, so that only one Redis cannot take is lost.
      else if (messages !== null && messages.length > 1) retry(() => { for (const m of messages) this.#push(id, encodeReplies([m]), true, 0, [m]); });
      else if (messages !== null) retry(() => this.#push(id, encodeReplies(messages.map((m) => unstored(m, why))), true, 0, null));
    });
  }
}

/** A result Redis would not store, as the failure of its call. */
function unstored(m: ResultMessage, why: string): ResultMessage {
  const error = codedError(ErrorCodes.RESULT_NOT_CLONEABLE, `The result could not be stored in Redis for its caller (${why}); engine ${m.engine} gave up after ${PUSH_ATTEMPTS} attempts`);
  return { id: m.id, engine: m.engine, host: m.host, fail: ownWire(error) };
}
