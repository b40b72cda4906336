/**
 * A worker's stdout and stderr, sent on the channel that carries its results.
 *
 * Node carries a thread's writes to the calling thread on a port of their own, read in whatever
 * order the two ports' messages are taken, and only once the previous write was acknowledged; a
 * child process's stderr comes through a pipe read apart from its IPC channel. Either way a
 * task's `console.log` could show after the caller had its result and printed more, and a
 * thread's could be lost when it exited. Here each write is posted at once, in order with the
 * results, and the transport writes it to the process's stream (writeAroundBars) before it reads
 * the results that follow, clearing a progress bar's line first.
 */
import { Msg, type OutputMessage } from '../protocol.js';

type Callback = (error?: Error | null) => void;

/** Routes what JavaScript writes to `process.stdout` (1) and `process.stderr` (2) through `post`. */
export function sendOutput(fds: ReadonlyArray<1 | 2>, post: (message: OutputMessage) => void): void {
  for (const fd of fds) {
    const stream = fd === 1 ? process.stdout : process.stderr;
    stream.write = function write(chunk: unknown, encoding?: BufferEncoding | Callback, callback?: Callback): boolean {
      const done = typeof encoding === 'function' ? encoding : callback;
      const data = typeof chunk === 'string'
        ? (typeof encoding === 'string' && encoding !== 'utf8' && encoding !== 'utf-8' ? Buffer.from(chunk, encoding) : chunk)
        : ArrayBuffer.isView(chunk) ? new Uint8Array(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength)) : null;
      if (data === null) throw new TypeError(`The "chunk" argument of ${fd === 1 ? 'stdout' : 'stderr'}.write must be a string or a Buffer, got ${typeof chunk}`);
      post({ k: Msg.Output, fd, data });
      if (done !== undefined) process.nextTick(done, null);
      return true;
    } as typeof stream.write;
  }
}
