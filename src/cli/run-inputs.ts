/**
 * The inputs of `forkjoin run`: its sources combined as GNU parallel combines them, each line
 * holding a NUL byte warned about once.
 */
import { combineSources } from '../shell/inputs.js';
import type { CommandInput } from '../shell/run-commands.js';
import type { Parsed } from './run-args.js';

/** One tuple of values per job, read lazily from the sources the command line gave. */
export function inputsOf(parsed: Parsed): AsyncIterable<CommandInput> {
  let warned = false;
  const onNul = (where: string): void => {
    if (warned) return;
    warned = true;
    process.stderr.write(`forkjoin run: warning: a NUL byte in ${where} was replaced with \\0, as GNU parallel does: no command line can carry one `
      + '(read NUL-separated input with -0); later lines holding one are not named\n');
  };
  return combineSources(parsed.groups, { nul: parsed.nul, onNul });
}
