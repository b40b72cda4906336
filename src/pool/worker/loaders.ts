/**
 * Node 20 does not run `--import` preloads inside worker threads, and tsx
 * registers its ESM hooks only on the main thread there. A caller running
 * under tsx still expects TypeScript task modules to load in a ThreadPool, so
 * the worker registers tsx's hooks itself before any task module is imported.
 */
// The built-ins load only when a preload is given: most workers never need them.
interface Builtins {
  readFileSync: typeof import('node:fs').readFileSync;
  createRequire: typeof import('node:module').createRequire;
  dirname: typeof import('node:path').dirname;
  join: typeof import('node:path').join;
  fileURLToPath: typeof import('node:url').fileURLToPath;
  pathToFileURL: typeof import('node:url').pathToFileURL;
}

async function builtins(): Promise<Builtins> {
  const [fs, module, path, url] = await Promise.all([import('node:fs'), import('node:module'), import('node:path'), import('node:url')]);
  return {
    readFileSync: fs.readFileSync, createRequire: module.createRequire, dirname: path.dirname, join: path.join,
    fileURLToPath: url.fileURLToPath, pathToFileURL: url.pathToFileURL,
  };
}

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
function tsxPackageDir(spec: string, { createRequire, dirname, fileURLToPath, join, pathToFileURL }: Builtins): string | null {
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
  const specs = preloads(argv);
  if (specs.length === 0) return;
  const b = await builtins();
  const { join, pathToFileURL, readFileSync } = b;
  for (const spec of specs) {
    const dir = tsxPackageDir(spec, b);
    if (dir === null) continue;
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports?: Record<string, unknown> };
    const api = (pkg.exports?.['./esm/api'] as { import?: { default?: string } } | undefined)?.import?.default;
    if (typeof api !== 'string') continue;
    const { register } = (await import(pathToFileURL(join(dir, api)).href)) as { register?: () => unknown };
    register?.();
    return;
  }
}
