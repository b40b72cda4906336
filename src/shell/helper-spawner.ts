/**
 * Jobs started by a small helper process, Python (python-script.ts) or Perl
 * (perl-script.ts), that speaks frames with the runner: the fast path.
 */
import type { ChildProcess } from 'node:child_process';
import { ErrorCodes, ForkJoinError } from '../errors.js';
import { spawnHelper, takeEarlyHelper } from './helper-process.js';
import type { Helper, Spawner, SpawnerEvents, SpawnerOptions } from './spawner.js';

const HEADER = 9;
const EMPTY = Buffer.alloc(0);

function spawnError(message: string, cause?: unknown): ForkJoinError {
  return new ForkJoinError(ErrorCodes.SHELL_SPAWN, message, cause === undefined ? {} : { cause });
}

/** NAME=value entries, NUL-separated, as bytes (a value may hold any byte but NUL). */
function environmentBlock(env: NodeJS.ProcessEnv): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !name.includes('=') && !name.includes('\0') && !value.includes('\0')) parts.push(Buffer.from(`${name}=${value}\0`));
  }
  return Buffer.concat(parts);
}

function epochMs(seconds: number): number | undefined {
  return seconds >= 0 ? seconds * 1000 : undefined;
}

export class HelperSpawner implements Spawner {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  readonly #events: SpawnerEvents;
  readonly #shell: Buffer;
  #rest: Buffer = EMPTY;
  #outbox: Buffer[] = [];
  #closing = false;
  #failed = false;

  constructor(helper: Helper, events: SpawnerEvents, options: SpawnerOptions) {
    this.#events = events;
    this.#shell = Buffer.from(`${options.shell}\0-c\0`);
    const { path } = helper;
    const child = takeEarlyHelper(helper, options.cwd) ?? spawnHelper(helper, options.cwd, options.env);
    this.#child = child;
    child.stdout?.on('data', (chunk: Buffer) => this.#read(chunk));
    child.stdin?.on('error', () => { /* the helper died: 'exit' reports it */ });
    child.on('error', (error) => this.#fail(spawnError(`cannot start the job spawner (${path}): ${error.message}`, error)));
    this.#exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        if (!this.#closing) this.#fail(spawnError(`the job spawner (${path}) exited unexpectedly (${signal ?? `code ${code}`})`));
        resolve();
      });
    });
    if (helper.kind === 'python') this.#send(0x56, 0, environmentBlock(options.env)); // 'V'
    this.#send(0x4a, options.concurrency >= 0xffffffff ? 0 : options.concurrency, EMPTY);
  }

  run(id: number, command: Buffer, first: boolean): void {
    const frame = Buffer.allocUnsafe(HEADER + this.#shell.length + command.length);
    frame[0] = first ? 0x72 : 0x52; // 'r' : 'R'
    frame.writeUInt32BE(id, 1);
    frame.writeUInt32BE(this.#shell.length + command.length, 5);
    this.#shell.copy(frame, HEADER);
    command.copy(frame, HEADER + this.#shell.length);
    this.#queue(frame);
  }

  kill(id: number, signal: number): void {
    const payload = Buffer.allocUnsafe(4);
    payload.writeUInt32BE(signal, 0);
    this.#send(0x4b, id, payload); // 'K'
  }

  cancelQueued(): void {
    this.#send(0x43, 0, EMPTY); // 'C'
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#flush();
    this.#child.stdin?.end();
    await this.#exited;
  }

  #send(type: number, id: number, payload: Buffer): void {
    const frame = Buffer.allocUnsafe(HEADER + payload.length);
    frame[0] = type;
    frame.writeUInt32BE(id, 1);
    frame.writeUInt32BE(payload.length, 5);
    payload.copy(frame, HEADER);
    this.#queue(frame);
  }

  // Frames sent in one turn of the event loop go out in one write.
  #queue(frame: Buffer): void {
    if (this.#outbox.push(frame) === 1) queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    if (this.#outbox.length === 0) return;
    const data = this.#outbox.length === 1 ? this.#outbox[0] : Buffer.concat(this.#outbox);
    this.#outbox = [];
    if (this.#child.stdin?.writable === true) this.#child.stdin.write(data);
  }

  #read(chunk: Buffer): void {
    const data = this.#rest.length === 0 ? chunk : Buffer.concat([this.#rest, chunk]);
    let at = 0;
    while (data.length - at >= HEADER) {
      const length = data.readUInt32BE(at + 5);
      if (data.length - at < HEADER + length) break;
      const type = data[at];
      const id = data.readUInt32BE(at + 1);
      const payload = data.subarray(at + HEADER, at + HEADER + length);
      at += HEADER + length;
      if (this.#failed) continue;
      switch (type) {
        case 0x53: this.#events.started(id, payload.readUInt32BE(0), epochMs(payload.readDoubleBE(4))); break; // S
        case 0x4f: this.#events.output(id, 1, Buffer.from(payload)); break; // O (a copy: it must not pin the whole read)
        case 0x45: this.#events.output(id, 2, Buffer.from(payload)); break; // E
        case 0x58: { // X
          const status = payload.readUInt32BE(0);
          const signal = status & 0x7f;
          this.#events.ended(id, signal === 0 ? (status >> 8) & 0xff : null, signal === 0 ? null : signal, epochMs(payload.readDoubleBE(4)), payload[12] === 1);
          break;
        }
        case 0x44: this.#events.dropped(id); break; // D
        case 0x46: this.#fail(spawnError(`cannot start a job: ${payload.toString()}`)); break; // F
        default: this.#fail(spawnError(`the job spawner sent an unknown frame type ${type}: a forkjoin bug`));
      }
    }
    this.#rest = at === data.length ? EMPTY : data.subarray(at);
  }

  #fail(error: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#events.failed(error);
  }
}
