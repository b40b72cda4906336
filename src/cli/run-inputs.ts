/**
 * The inputs of `forkjoin run`: its sources combined as GNU parallel combines them, each line
 * holding a NUL byte warned about once, values split into columns (--colsep) and trimmed (--trim).
 */
import { columnsOf } from '../shell/columns.js';
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
  const tuples = combineSources(parsed.groups, { nul: parsed.nul, onNul });
  // As GNU parallel: --colsep trims the columns' white space unless --trim says otherwise.
  const trim = parsed.trim ?? (parsed.colsep === null ? 'n' : 'lr');
  if (parsed.colsep === null && trim === 'n') return tuples;
  const columns = columnsOf(parsed.colsep, trim);
  return (async function* inColumns() {
    for await (const tuple of tuples) yield columns(tuple);
  })();
}
