/** Runs an example's main() when its file is the program node was started with (not when imported). */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Calls `main` when the module at `moduleUrl` is the script node runs; failures set exit code 1. */
export function runIfMain(moduleUrl: string, main: () => Promise<void>): void {
  const script = process.argv[1];
  if (script === undefined || realpath(script) !== realpath(fileURLToPath(moduleUrl))) return;
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}

function realpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
