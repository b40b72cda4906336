/**
 * Where the package's own files are. The build bundles the code into a few
 * files and scripts under `dist/`, so a module cannot know its own place
 * in that tree; every path is taken from the `dist` folder instead.
 */

function findDist(): URL {
  const here = new URL('.', import.meta.url);
  for (let dir = here; ; ) {
    if (dir.pathname.endsWith('/dist/')) return dir;
    const up = new URL('..', dir);
    if (up.href === dir.href) return here;
    dir = up;
  }
}

const dist = findDist();

/** A file of the built package, by its path under `dist/`. */
export function distFile(path: string): URL {
  return new URL(path, dist);
}

export const threadEntry = distFile('pool/worker/thread-entry.js');
export const processEntry = distFile('pool/worker/process-entry.js');
export const cliMain = distFile('cli/main.cjs');
export const syncDecoder = distFile('sync/decode.js');
export const packageJson = distFile('../package.json');
