/**
 * A ProcessPool child's messages to its parent go on a pipe of their own (fd 4), each as a
 * length and its bytes, written synchronously: a message is out of the child once post()
 * returns. Node's IPC channel queues a large message and writes it as the event loop turns, so
 * results and output posted just before a task called process.exit() were lost, and the calls
 * that had finished ran again elsewhere. The IPC channel still carries the parent's messages.
 */
import { writeSync, writevSync } from 'node:fs';

/** The child's end of the pipe; the parent's stdio[4]. */
export const FRAMES_FD = 4;
const HEADER = 4;

/** Writes `bytes` as one frame to `fd`, waiting for room when the pipe is full. */
export function writeFrame(fd: number, bytes: Uint8Array): void {
  const header = Buffer.allocUnsafe(HEADER);
  header.writeUInt32LE(bytes.byteLength, 0);
  // Both in one call, which nearly always writes them whole.
  const written = retrying(() => writevSync(fd, [header, bytes]));
  if (written < HEADER) writeAll(fd, header.subarray(written));
  writeAll(fd, written <= HEADER ? bytes : bytes.subarray(written - HEADER));
}

let pause: Int32Array | null = null;

/** `write()`'s result, waiting while the pipe is full. */
function retrying(write: () => number): number {
  for (;;) {
    try {
      return write();
    } catch (error) {
      // A pipe left non-blocking is full: the parent reads it as its event loop turns.
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(pause ??= new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let offset = 0; offset < bytes.byteLength;) offset += retrying(() => writeSync(fd, bytes, offset, bytes.byteLength - offset));
}

/** Cuts the bytes read from the pipe into frames, whatever the chunks. */
export class FrameReader {
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** The length of the frame being read, once its header is in. */
  #need = -1;

  constructor(private readonly onFrame: (bytes: Buffer) => void) {}

  push(chunk: Buffer): void {
    if (this.#buffered === 0) chunk = this.#whole(chunk);
    if (chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
    for (;;) {
      if (this.#need < 0) {
        if (this.#buffered < HEADER) return;
        this.#need = this.#take(HEADER).readUInt32LE(0);
      }
      if (this.#buffered < this.#need) return;
      const frame = this.#take(this.#need);
      this.#need = -1;
      this.onFrame(frame);
    }
  }

  /** Frames that lie whole in `chunk`, read without copying; returns what is left of it. */
  #whole(chunk: Buffer): Buffer {
    let at = 0;
    while (this.#need < 0 && chunk.byteLength - at >= HEADER) {
      const length = chunk.readUInt32LE(at);
      if (chunk.byteLength - at - HEADER < length) break;
      this.onFrame(chunk.subarray(at + HEADER, at + HEADER + length));
      at += HEADER + length;
    }
    return at === 0 ? chunk : chunk.subarray(at);
  }

  /** The next `n` bytes buffered, in one Buffer. */
  #take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.#chunks[0];
    let out: Buffer;
    if (first.byteLength >= n) {
      out = first.subarray(0, n);
      if (first.byteLength === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const chunk = this.#chunks[0];
        const part = Math.min(chunk.byteLength, n - filled);
        chunk.copy(out, filled, 0, part);
        filled += part;
        if (part === chunk.byteLength) this.#chunks.shift();
        else this.#chunks[0] = chunk.subarray(part);
      }
    }
    this.#buffered -= n;
    return out;
  }
}
