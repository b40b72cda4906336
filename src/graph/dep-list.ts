/**
 * The distinct inputs of a node in order of first appearance. A node with a handful of inputs
 * finds each by a scan, allocating nothing more; past that, an index by identity keeps building
 * a node with 100,000 inputs linear (a scan per input would compare each with every earlier one).
 */

/** Inputs up to this many are found by a scan. */
const SCAN = 16;

export class DepList<N> {
  readonly items: N[] = [];
  #index: Map<N, number> | null = null;

  /** The position of `dep`, added at the end when new. */
  indexOf(dep: N): number {
    const items = this.items;
    if (this.#index === null) {
      for (let i = 0; i < items.length; i++) if (items[i] === dep) return i;
      if (items.length < SCAN) return items.push(dep) - 1;
      this.#index = new Map(items.map((item, i) => [item, i]));
    }
    let index = this.#index.get(dep);
    if (index === undefined) {
      index = items.push(dep) - 1;
      this.#index.set(dep, index);
    }
    return index;
  }
}
