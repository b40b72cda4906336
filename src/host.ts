/**
 * The two things only an ES module can do: import a module, and resolve a specifier as an
 * import would. The built library runs as a script (compiled with V8's code cache; see
 * src/load.ts), so there they come from the ES module that loaded it, as `forkjoinHost`; a
 * bundle that is an ES module (a worker's entry, the CLI) does them itself.
 */
export interface Host {
  importModule(specifier: string): Promise<unknown>;
  resolve(specifier: string): string;
}

declare const forkjoinHost: Host | undefined;

const host: Host =
  typeof forkjoinHost === 'object'
    ? forkjoinHost
    : { importModule: (specifier) => import(specifier), resolve: (specifier) => import.meta.resolve(specifier) };

/** `import(specifier)`, from the package's place. */
export const importModule = (specifier: string): Promise<unknown> => host.importModule(specifier);

/** `import.meta.resolve(specifier)`, from the package's place. */
export const resolveSpecifier = (specifier: string): string => host.resolve(specifier);
