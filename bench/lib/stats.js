// Small statistics and formatting helpers for the benchmark.
import v8 from 'node:v8';
import vm from 'node:vm';

export function median(values) {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/** Median plus the spread, for the JSON and the detail tables. */
export function summarize(samples) {
  const xs = samples.filter((v) => Number.isFinite(v));
  return {
    samples,
    median: median(xs),
    min: xs.length ? Math.min(...xs) : null,
    max: xs.length ? Math.max(...xs) : null,
  };
}

/** A full collection between measurements, so one pool's garbage is not charged to the next. */
let gcFn = null;
try {
  v8.setFlagsFromString('--expose-gc');
  gcFn = vm.runInNewContext('gc');
} catch {
  gcFn = null;
}
export function collect() {
  if (gcFn) gcFn();
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Rejects if `promise` takes longer than `ms` (a hung pool must not hang the whole run). */
export function withTimeout(promise, ms, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

// ---- formatting -------------------------------------------------------------

export function fmt(value, digits = 0) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Three significant digits, for ratios and small costs. */
export function sig(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  if (abs >= 1000) return fmt(value, 0);
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

export function ratio(value) {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : `${sig(value)}x`;
}

/** A plain text table; the first column is left-aligned, the rest right-aligned. */
export function table(header, rows) {
  const all = [header, ...rows].map((row) => row.map((cell) => String(cell ?? '')));
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const line = (row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(all[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}
