/**
 * The path operations behind {.} {/} {//} {/.}, with GNU parallel's exact meaning
 * (they differ from node:path at the edges: `.bashrc` has the extension `.bashrc`,
 * the dirname of `a/` is `.`). Inputs and outputs are byte strings.
 */

/** {/}: everything after the last slash (on the first line holding one, as GNU parallel's Perl does). */
export function basename(value: string): string {
  return value.replace(/[^\n]*\//, '');
}

/** {.}: without the extension - a last `.` after the last slash, up to the end. */
export function withoutExtension(value: string): string {
  return value.replace(/\.[^/.]*$/, '');
}

/** {/.}: the basename without its extension. */
export function basenameWithoutExtension(value: string): string {
  return withoutExtension(basename(value));
}

function splitLast(path: string): [dir: string, base: string] {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? ['./', path] : [path.slice(0, slash + 1), path.slice(slash + 1)];
}

function stripTrailingSlashes(dir: string): string {
  let end = dir.length;
  while (end > 1 && dir[end - 1] === '/') end--;
  return dir.slice(0, end);
}

/** {//}: the directory, as Perl's File::Basename::dirname (`x` -> `.`, `a/` -> `.`, `/` -> `/`). */
export function dirname(value: string): string {
  const [dir, base] = splitLast(value);
  if (base.length > 0) return stripTrailingSlashes(dir);
  return stripTrailingSlashes(splitLast(stripTrailingSlashes(dir))[0]);
}
