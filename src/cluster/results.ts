/** A cluster client's side of its result list: results are read as they land, many per round trip. */
import type { Redis } from 'ioredis';
import { decodeResults, type ResultMessage } from './wire.js';

/**
 * Reads the list at `key` while `reading()` holds and the connection lasts: each result
 * goes to `deliver`, then `afterBatch` runs once per batch read.
 */
export async function readResults(
  reader: Redis, key: string, reading: () => boolean, deliver: (message: ResultMessage) => void, afterBatch: () => void,
): Promise<void> {
  while (reading()) {
    let batch: Buffer[] = [];
    try {
      const first = await reader.blpopBuffer(key, 1);
      if (first === null) continue;
      batch.push(first[1]);
      const more = (await reader.lpopBuffer(key, 1_000)) as unknown as Buffer[] | null;
      if (more !== null) batch = batch.concat(more);
    } catch {
      if (reader.status === 'end') return;
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    for (const raw of batch) {
      for (const message of decodeResults(raw)) deliver(message);
    }
    afterBatch();
  }
}
