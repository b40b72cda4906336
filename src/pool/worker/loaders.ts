/**
 * Node 20 does not run `--import` preloads inside worker threads, and tsx
 * registers its ESM hooks only on the main thread there. A caller running
 * under tsx still expects TypeScript task modules to load in a ThreadPool, so
 * the worker registers tsx's hooks itself before any task module is imported.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const preloadFlags = new Set(['--import', '--loader', '--experimental-loader']);

/** The specifiers given to --import / --loader in `argv`. */
function preloads(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    if (eq > 0 && preloadFlags.has(arg.slice(0, eq))) out.push(arg.slice(eq + 1));
    else if (preloadFlags.has(arg) && i + 1 < argv.length) out.push(argv[++i]);
  }
  return out;
}

/** tsx's package directory for a preload specifier that names tsx, else null. */
function tsxPackageDir(spec: string): string | null {
  if (spec === 'tsx' || spec.startsWith('tsx/')) {
    try {
      const require = createRequire(pathToFileURL(join(process.cwd(), 'noop.js')));
      return dirname(require.resolve('tsx/package.json'));
    } catch {
      return null;
    }
  }
  const path = spec.startsWith('file:') ? fileURLToPath(spec) : spec;
  const at = path.lastIndexOf('/node_modules/tsx/');
  return at < 0 ? null : path.slice(0, at + '/node_modules/tsx'.length);
}

/** Registers the caller's tsx hooks in this worker thread, when Node would not. */
export async function inheritTypeScriptLoader(argv: readonly string[]): Promise<void> {
  if (Number(process.versions.node.split('.')[0]) >= 22) return;
  for (const spec of preloads(argv)) {
    const dir = tsxPackageDir(spec);
    if (dir === null) continue;
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports?: Record<string, unknown> };
    const api = (pkg.exports?.['./esm/api'] as { import?: { default?: string } } | undefined)?.import?.default;
    if (typeof api !== 'string') continue;
    const { register } = (await import(pathToFileURL(join(dir, api)).href)) as { register?: () => unknown };
    register?.();
    return;
  }
}
