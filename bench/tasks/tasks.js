// The work every library runs in the benchmark: plain functions, shared by all
// pools. forkjoin, piscina and tinypool load this module directly (named
// exports); workerpool and poolifier wrap it in their own worker files.

/** (a), (b), (e), (f): a tiny task. */
export function square(x) {
  return x * x;
}

/**
 * (c): a CPU-bound busy loop whose cost is linear in `n`. The loop-carried
 * dependency keeps the JIT from removing or vectorising it.
 */
export function spin(n) {
  let acc = 0;
  for (let i = 0; i < n; i++) acc = (Math.imul(acc, 31) + i) | 0;
  return acc;
}

/** (d): touches a received Float64Array and returns a small number. */
export function probe(arr) {
  return arr.length + arr[0] + arr[arr.length - 1];
}
