/**
 * Jobs started by a small helper process, Python (python-script.ts) or Perl
 * (perl-script.ts), that speaks frames with the runner: the fast path.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnHelper, takeEarlyHelper } from './helper-process.js';
import { cwdError, spawnError, type Helper, type Spawner, type SpawnerEvents, type SpawnerOptions } from './spawner.js';

const HEADER = 9;
const EMPTY = Buffer.alloc(0);

/** NAME=value entries, NUL-separated, as bytes; values are strings as child_process makes them. */
function environmentBlock(env: NodeJS.ProcessEnv): Buffer {
  const parts: Buffer[] = [];
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined) continue;
    const value = String(raw);
    if (!name.includes('=') && !name.includes('\0') && !value.includes('\0')) parts.push(Buffer.from(`${name}=${value}\0`));
  }
  return Buffer.concat(parts);
}

function epochMs(seconds: number): number | undefined {
  return seconds >= 0 ? seconds * 1000 : undefined;
}

function frameOf(type: number, id: number, payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(HEADER + payload.length);
  frame[0] = type;
  frame.writeUInt32BE(id, 1);
  frame.writeUInt32BE(payload.length, 5);
  payload.copy(frame, HEADER);
  return frame;
}

/**
 * A helper says Y once it runs. One that exits before (a python3 that is a stub or a
 * broken install) is replaced by the next candidate, which is sent every frame again.
 */
export class HelperSpawner implements Spawner {
  readonly #events: SpawnerEvents;
  readonly #options: SpawnerOptions;
  readonly #shell: Buffer;
  readonly #candidates: Helper[];
  readonly #envBlock: Buffer;
  readonly #exited: Promise<void>;
  #markExited: () => void = () => {};
  #child: ChildProcess | null = null;
  #ready = false;
  /** Frames sent to a helper that has not said Y yet: sent again to its replacement. */
  #unconfirmed: Buffer[] = [];
  #rest: Buffer = EMPTY;
  #outbox: Buffer[] = [];
  #closing = false;
  #failed = false;

  constructor(helpers: readonly Helper[], events: SpawnerEvents, options: SpawnerOptions) {
    this.#events = events;
    this.#options = options;
    this.#shell = Buffer.from(`${options.shell}\0-c\0`);
    this.#candidates = [...helpers];
    this.#envBlock = environmentBlock(options.env);
    this.#exited = new Promise((resolve) => { this.#markExited = resolve; });
    this.#startNext(true);
  }

  #startNext(first: boolean): void {
    const helper = this.#candidates.shift() as Helper;
    const { cwd, env } = this.#options;
    let child: ChildProcess;
    try {
      child = (first ? takeEarlyHelper(helper, cwd) : null) ?? spawnHelper(helper, cwd, env);
    } catch (error) {
      // A bad directory fails every helper alike: no other candidate is tried.
      const byCwd = cwdError(cwd, error);
      if (byCwd === null && this.#candidates.length > 0) return this.#startNext(false);
      this.#fail(byCwd ?? spawnError(`cannot start the job spawner (${helper.path}): ${(error as Error).message}`, error));
      this.#markExited();
      return;
    }
    this.#child = child;
    this.#ready = false;
    this.#rest = EMPTY;
    child.stdout?.on('data', (chunk: Buffer) => { if (this.#child === child) this.#read(chunk); });
    child.stdin?.on('error', () => { /* the helper died: 'close' reports it */ });
    let startError: Error | undefined;
    child.on('error', (error) => { startError ??= error; /* reported by 'close' */ });
    child.on('close', (code, signal) => {
      if (this.#child !== child) return;
      if (!this.#closing) {
        // A helper that never ran: for want of its directory (no other helper does better), or the next may run.
        const byCwd = this.#ready ? null : cwdError(cwd, startError);
        if (!this.#ready && byCwd === null && this.#candidates.length > 0) return this.#startNext(false);
        const how = startError?.message ?? signal ?? `code ${code}`;
        this.#fail(byCwd ?? spawnError(this.#ready
          ? `the job spawner (${helper.path}) exited unexpectedly (${how})`
          : `the job spawner (${helper.path}) could not start (${how}); set FORKJOIN_SPAWNER=node to start jobs without a helper`, startError));
      }
      this.#markExited();
    });
    const preamble = [frameOf(0x4a, this.#options.concurrency >= 0xffffffff ? 0 : this.#options.concurrency, EMPTY)]; // 'J'
    if (helper.kind === 'python') preamble.unshift(frameOf(0x56, 0, this.#envBlock)); // 'V'
    // The preamble is this helper's own; all the runner sent since the last Y (a superset of
    // what still waits in the outbox) goes to it again.
    this.#outbox = [...preamble, ...this.#unconfirmed];
    queueMicrotask(() => this.#flush());
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
    this.#child?.stdin?.end();
    await this.#exited;
  }

  #send(type: number, id: number, payload: Buffer): void {
    this.#queue(frameOf(type, id, payload));
  }

  // Frames sent in one turn of the event loop go out in one write.
  #queue(frame: Buffer): void {
    if (!this.#ready) this.#unconfirmed.push(frame);
    if (this.#outbox.push(frame) === 1) queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    if (this.#outbox.length === 0) return;
    const data = this.#outbox.length === 1 ? this.#outbox[0] : Buffer.concat(this.#outbox);
    this.#outbox = [];
    const stdin = this.#child?.stdin;
    if (stdin?.writable === true) stdin.write(data);
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
        case 0x59: this.#ready = true; this.#unconfirmed = []; break; // Y
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
        case 0x4c: this.#events.limited(id, payload.toString()); break; // L
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
