/**
 * What a task's code is, for cache keys: an inline function's source, or the
 * contents of a task module's file (read and hashed once per path and
 * modification time), so a changed task never meets a stale result.
 *
 * A worker imports a module once and keeps it: after its file is edited, a
 * worker that imported it before still runs the old code, and one started
 * since runs the new. So the first digest this process takes of a module's file
 * is what the module's URL is taken to run. Once the file is seen to hold other
 * code (or to have changed since the module was first named for an executor,
 * when a worker may have imported it), every version of it runs under a URL of
 * its own, `tasks.js?forkjoin-v=<digest>`, which workers import afresh: the key
 * describes the code that runs. A module never edited runs under its URL as
 * given, in the same module instance as the executor's other calls and setup.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { moduleFile, sameStamp, stampOf, stampWhenNamed, type Stamp } from '../module-file.js';
import { taskRef, type TaskRef, type TaskSpec } from '../task.js';
import { Hasher, toText, type Digest } from './hash.js';

/** A task's code, as one computation sees it. */
export interface TaskCode {
  /** The digest of its code, for cache keys. */
  readonly digest: Digest;
  /** What runs it: the same export under its module's versioned URL; null for the task as given. */
  readonly runAs: TaskRef | null;
}

/** The query parameter that makes a URL of its own for each version of a module. */
const VERSION_PARAM = 'forkjoin-v';

interface FileDigest {
  readonly stamp: Stamp;
  readonly digest: Digest;
}

/** By file path: its digest, as of its stamp. */
const files = new Map<string, FileDigest>();

/** What this process knows of a module URL's versions. */
interface ModuleVersions {
  /** The digest of its file when this process first read it: what the URL as given is taken to run. */
  readonly first: Digest;
  /** The file was seen to hold other code: from then on, every version runs under a versioned URL. */
  changed: boolean;
}

const versions = new Map<string, ModuleVersions>();
const versionRefs = new Map<string, TaskRef>();
const inline = new WeakMap<TaskSpec, TaskCode>();

/** The digest of the module file at `path` (or of the TypeScript file run in its place), re-read only when its stamp changed; null when there is none. */
function fileDigest(path: string): FileDigest | null {
  const file = moduleFile(path);
  if (file === null) return null;
  const stamp = stampOf(file.stat);
  const known = files.get(file.path);
  if (known !== undefined && sameStamp(known.stamp, stamp)) return known;
  let bytes: Buffer;
  try {
    bytes = readFileSync(file.path);
  } catch {
    return null;
  }
  const h = new Hasher();
  h.bytes(bytes);
  const found = { stamp, digest: h.digest() };
  files.set(file.path, found);
  return found;
}

function sameDigest(x: Digest, y: Digest): boolean {
  return x.a === y.a && x.b === y.b && x.c === y.c && x.d === y.d;
}

/** The URL that runs the module at `url` as its file is now. */
function runUrl(url: string, file: FileDigest): string {
  let known = versions.get(url);
  if (known === undefined) {
    // Named before this first read, and changed since: a worker may hold either version.
    const named = stampWhenNamed(url);
    known = { first: file.digest, changed: named !== undefined && named !== null && !sameStamp(named, file.stamp) };
    versions.set(url, known);
  } else if (!known.changed && !sameDigest(known.first, file.digest)) {
    known.changed = true;
  }
  if (!known.changed) return url;
  const versioned = new URL(url);
  versioned.searchParams.set(VERSION_PARAM, toText(file.digest));
  return versioned.href;
}

function versionRef(url: string, name: string): TaskRef {
  const id = `${name}\0${url}`;
  let ref = versionRefs.get(id);
  if (ref === undefined) {
    ref = taskRef(url, name);
    versionRefs.set(id, ref);
  }
  return ref;
}

/**
 * The code of a task, or null when its file cannot be read (the task then runs
 * uncached, and its executor reports why it cannot load). Call once per task
 * per computation: the file is checked at each call, so an edit between two
 * computations is seen.
 */
export function taskCode(spec: TaskSpec): TaskCode | null {
  if (spec.kind === 'inline') {
    let code = inline.get(spec);
    if (code === undefined) {
      const h = new Hasher();
      h.string('inline');
      h.string(spec.code);
      code = { digest: h.digest(), runAs: null };
      inline.set(spec, code);
    }
    return code;
  }
  const h = new Hasher();
  h.string('module');
  h.string(spec.name);
  let runAs: TaskRef | null = null;
  if (spec.code.startsWith('file:')) {
    let file: FileDigest | null;
    try {
      file = fileDigest(fileURLToPath(spec.code));
    } catch {
      file = null; // a file: URL this system has no path for
    }
    if (file === null) return null;
    h.digestOf(file.digest);
    const url = runUrl(spec.code, file);
    if (url !== spec.code) runAs = versionRef(url, spec.name);
  } else {
    // data: URLs carry their code; node: builtins change with Node itself.
    h.string(spec.code);
    if (spec.code.startsWith('node:')) h.string(process.version);
  }
  return { digest: h.digest(), runAs };
}
