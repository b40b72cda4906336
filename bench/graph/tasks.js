// The graph benchmark's tasks, as in Dask's classic example.
export function inc(x) {
  return x + 1;
}

export function add(a, b) {
  return a + b;
}
