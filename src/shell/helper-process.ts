/**
 * Starting the helper process, and starting it early: the CLI calls prestartHelper()
 * before it loads the code of `forkjoin run`, so that Python's start-up overlaps Node's
 * loading of that code; the run's spawner then takes the process over. The CLI's main and
 * the run command are bundled apart, so the hand-over goes through a global slot.
 */
import type { ChildProcess } from 'node:child_process';
import { childProcess } from '../builtins.js';
import { PERL_SPAWNER } from './perl-script.js';
import { PYTHON_SPAWNER } from './python-script.js';
import { chooseHelper, type Helper } from './spawner.js';

/** Starts `helper` with `cwd`; the Python helper receives the jobs' environment in a frame. */
export function spawnHelper(helper: Helper, cwd: string | undefined, env: NodeJS.ProcessEnv): ChildProcess {
  if (helper.kind === 'python') {
    // -I: no PYTHON* variables, no user site; -S: no site import (a quicker start).
    return childProcess().spawn(helper.path, ['-I', '-S', '-c', PYTHON_SPAWNER], { cwd, env, stdio: ['pipe', 'pipe', 'inherit'] });
  }
  // Perl must not warn about an uninstalled locale; the jobs must see the environment unchanged.
  const perlEnv = { ...env };
  let flag = 'keep';
  if (perlEnv.PERL_BADLANG === undefined) {
    perlEnv.PERL_BADLANG = '0';
    flag = 'unset-badlang';
  }
  return childProcess().spawn(helper.path, ['-e', PERL_SPAWNER, flag], { cwd, env: perlEnv, stdio: ['pipe', 'pipe', 'inherit'] });
}

interface Early { path: string; cwd: string; child: ChildProcess }
const slot = Symbol.for('forkjoin.shell.earlyHelper');
type Slots = { [slot]?: Early | null };

/** Starts the Python helper now, in this process's directory, for a run about to begin. */
export function prestartHelper(): void {
  const helper = chooseHelper();
  if (helper === null || helper.kind !== 'python' || (globalThis as Slots)[slot]) return;
  let cwd: string;
  try {
    cwd = process.cwd();
  } catch {
    return; // this process's directory was removed: the run starts its helper itself
  }
  const child = spawnHelper(helper, undefined, process.env);
  child.on('error', () => { /* reported by the spawner that takes it, or never needed */ });
  (globalThis as Slots)[slot] = { path: helper.path, cwd, child };
}

/** The early helper, if it is `helper` started in `cwd` (it is then no longer shared). */
export function takeEarlyHelper(helper: Helper, cwd: string | undefined): ChildProcess | null {
  const early = (globalThis as Slots)[slot];
  if (!early || helper.kind !== 'python' || early.path !== helper.path || early.cwd !== (cwd ?? process.cwd())) return null;
  // One that could not start (out of file handles: its error came before anyone listened) is left; the run starts its own.
  if (early.child.pid === undefined) return null;
  (globalThis as Slots)[slot] = null;
  return early.child;
}

/** Lets an early helper nobody took go: told its input has ended, it exits. */
export function discardEarlyHelper(): void {
  const early = (globalThis as Slots)[slot];
  if (!early) return;
  (globalThis as Slots)[slot] = null;
  early.child.stdin?.end();
  early.child.unref();
}
