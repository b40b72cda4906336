/** What an engine agrees to run: modules under its root only, inline functions only when allowed. */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes } from '../errors.js';
import { codedError } from '../task-loader.js';
import type { JobData } from './wire.js';

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** Checks a job's task against the engine's rules; returns the error to send back, or null. */
export function refusal(data: JobData, root: string, allowInline: boolean, engine: string): Error | null {
  if (data.k === 'inline') {
    if (allowInline) return null;
    return codedError(
      ErrorCodes.ENGINE_INLINE_REFUSED,
      `The engine ${engine} refuses inline functions (${data.n}): start the engines with --allow-inline, ` +
        'or export the function from a module under the engines\' --root and use taskModule()',
    );
  }
  let path: string;
  try {
    const url = new URL(data.m);
    if (url.protocol !== 'file:') throw new Error('not a file: URL');
    path = fileURLToPath(url);
  } catch {
    return codedError(ErrorCodes.ENGINE_MODULE_REFUSED, `The engine ${engine} runs task modules only from files under its --root ${root}; refused ${data.m}`);
  }
  const rel = relative(real(root), real(path));
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    return codedError(
      ErrorCodes.ENGINE_MODULE_REFUSED,
      `The engine ${engine} runs task modules only from under its --root ${root}; ${path} is outside it ` +
        '(deploy the module under the root on every engine machine, or start the engines with a --root that holds it)',
    );
  }
  return null;
}
