/**
 * Milliseconds on the monotonic clock, for durations and deadlines.
 *
 * The same clock as `performance.now()` up to its origin, and as cheap per call, but the
 * first call loads nothing: the first use of the global `performance` loads Node's
 * perf_hooks, about a millisecond of every thread's and child's start-up. It is also one
 * clock for the whole process, so threads can compare their readings.
 */
const hrtime = process.hrtime;

export function nowMs(): number {
  const [s, ns] = hrtime();
  return s * 1e3 + ns / 1e6;
}
