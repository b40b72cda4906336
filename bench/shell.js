// `npm run bench` (shell part): `forkjoin run` beside GNU parallel, `xargs -P` and a bash loop
// of background subshells, in one run, on the two scenarios of issue 4:
//
//   (t) 500 jobs of `true`, 2 at a time          wall time, and per job (wall / 500)
//   (s) 200 jobs of `sleep 0.01`, 8 at a time    wall time, and its ratio to the ideal 0.25 s
//   (1) 1 job of `true`                          each tool's fixed cost (start-up, shut-down)
//
// Every tool runs as a user would start it (a fresh process, its own startup included). The
// tools take turns, in an order that rotates each repetition, so drift on a shared machine hits
// all of them alike; the tables show medians. Targets (PASS/FAIL): per-job overhead at most 1/3
// of GNU parallel's and within 1.5x of xargs -P's (wall / jobs, as issue 4 measured them; also
// shown without each tool's fixed cost); (s) within 1.3x of the ideal.
// Full samples go to bench/results/shell-<timestamp>.json.
//
// Environment: BENCH_QUICK=1 (fewer repetitions).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, summarize, table } from './lib/stats.js';

const QUICK = process.env.BENCH_QUICK === '1';
const REPS = QUICK ? 3 : 7;
const bin = fileURLToPath(new URL('../dist/cli/main.cjs', import.meta.url));
const log = (message) => process.stderr.write(`${message}\n`);
const rotate = (list, by) => list.map((_, i) => list[(i + by) % list.length]);
const startedAt = new Date();

const scenarios = [
  { id: 't', label: '500 x true, 2 at a time', jobs: 500, slots: 2, command: 'true', value: 'x', idealMs: 0 },
  { id: 's', label: '200 x sleep 0.01, 8 at a time', jobs: 200, slots: 8, command: 'sleep', value: '0.01', idealMs: (200 / 8) * 10 },
  // One job: each tool's fixed cost (start-up and shut-down), to tell it from the cost per job.
  { id: '1', label: '1 x true (fixed cost)', jobs: 1, slots: 2, command: 'true', value: 'x', idealMs: 0 },
];

function version(command, args) {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return r.status === 0 ? (r.stdout || r.stderr).split('\n')[0].trim() : null;
}
const gnu = version('parallel', ['--version']);
const bash = version('bash', ['--version']);

const dir = mkdtempSync(join(os.tmpdir(), 'forkjoin-bench-shell-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

// Each tool: how it runs `command value` once per line of `file`, `slots` at a time.
const tools = [
  { id: 'forkjoin', label: 'forkjoin run', argv: (s, file) => [process.execPath, bin, 'run', '-j', String(s.slots), s.command, '::::', file] },
  { id: 'parallel', label: 'GNU parallel', available: gnu !== null,
    argv: (s, file) => ['parallel', '--will-cite', '-j', String(s.slots), s.command, '::::', file] },
  { id: 'xargs', label: 'xargs -P', argv: (s, file) => ['sh', '-c', `exec xargs -P ${s.slots} -n 1 ${s.command} < "$0"`, file] },
  { id: 'bash', label: 'bash loop (subshells)', available: bash !== null,
    // Background subshells, at most `slots` at once (wait -n: bash 4.3+).
    argv: (s, file) => ['bash', '-c', `n=0; while IFS= read -r v; do ( ${s.command} "$v" ) & n=$((n+1)); if [ $n -ge ${s.slots} ]; then wait -n; n=$((n-1)); fi; done < "$0"; wait`, file] },
];
for (const tool of tools) tool.available ??= true;

/**
 * Runs argv to its end under a small sh that reports, with `times`, the CPU time of everything
 * it ran; resolves to { wall, cpu } in ms (wall: spawn to exit, the same sh for every tool).
 * CPU time is steadier than wall time on a busy machine, so both are shown.
 */
function timeRun(argv) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, PARALLEL_SHELL: '/bin/sh' };
    const t0 = performance.now();
    const child = spawn('sh', ['-c', '"$@"; s=$?; times >&2; exit $s', 'sh', ...argv], { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk) => { stderr += chunk; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const wall = performance.now() - t0;
      if (code !== 0) return reject(new Error(`${argv.join(' ')} exited with ${code}: ${stderr}`));
      const children = stderr.trimEnd().split('\n').at(-1) ?? '';
      const cpu = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((ms, [, m, sec]) => ms + (Number(m) * 60 + Number(sec)) * 1000, 0);
      resolve({ wall, cpu });
    });
  });
}

const results = {};
for (const s of scenarios) {
  const file = join(dir, `${s.id}.txt`);
  writeFileSync(file, `${s.value}\n`.repeat(s.jobs));
  const active = tools.filter((t) => t.available);
  log(`\n(${s.id}) ${s.label}: ${REPS} repetitions of ${active.map((t) => t.label).join(', ')}`);
  for (const tool of active) await timeRun(tool.argv(s, file)); // warm-up: caches, page cache
  const samples = Object.fromEntries(active.map((t) => [t.id, []]));
  const cpuSamples = Object.fromEntries(active.map((t) => [t.id, []]));
  for (let rep = 0; rep < REPS; rep++) {
    for (const tool of rotate(active, rep)) {
      const { wall, cpu } = await timeRun(tool.argv(s, file));
      samples[tool.id].push(wall);
      cpuSamples[tool.id].push(cpu);
    }
    log(`  rep ${rep + 1}: ${active.map((t) => `${t.id} ${samples[t.id].at(-1).toFixed(0)} ms (cpu ${cpuSamples[t.id].at(-1).toFixed(0)})`).join(', ')}`);
  }
  results[s.id] = Object.fromEntries(active.map((t) => [t.id, { label: t.label, ...summarize(samples[t.id]), cpu: summarize(cpuSamples[t.id]) }]));
}

const fmtMs = (ms, digits = 0) => (ms === null || ms === undefined ? '—' : `${ms.toFixed(digits)} ms`);
const med = (sid, tid) => results[sid]?.[tid]?.median ?? null;
const medCpu = (sid, tid) => results[sid]?.[tid]?.cpu?.median ?? null;

// (t): per job = wall / jobs (as issue 4 measured it), and the same without the fixed cost.
const t = scenarios[0];
const perJob = (tid) => (med('t', tid) === null ? null : med('t', tid) / t.jobs);
const marginal = (tid) => (med('t', tid) === null || med('1', tid) === null ? null : (med('t', tid) - med('1', tid)) / (t.jobs - 1));
console.log(`\n(t) ${t.label} - median wall time; per job (wall / ${t.jobs}); fixed cost (1 job); per job without it`);
const cpuPerJob = (tid) => (medCpu('t', tid) === null ? null : medCpu('t', tid) / t.jobs);
console.log(table(['tool', 'wall', 'per job', 'vs forkjoin', '1 job', 'per job - fixed', 'CPU per job'], tools.map((tool) => [
  tool.label, fmtMs(med('t', tool.id)), fmtMs(perJob(tool.id), 2),
  perJob(tool.id) === null ? (tool.available ? '—' : 'not installed') : `${(perJob(tool.id) / perJob('forkjoin')).toFixed(2)}x`,
  fmtMs(med('1', tool.id)), fmtMs(marginal(tool.id), 2), fmtMs(cpuPerJob(tool.id), 2),
])));

// (s): ratio to the ideal.
const s = scenarios[1];
console.log(`\n(s) ${s.label} - median wall time, ratio to the ideal ${s.idealMs} ms`);
console.log(table(['tool', 'wall', 'x ideal', 'CPU'], tools.map((tool) => [
  tool.label, fmtMs(med('s', tool.id)), med('s', tool.id) === null ? (tool.available ? '—' : 'not installed') : `${(med('s', tool.id) / s.idealMs).toFixed(2)}x`,
  fmtMs(medCpu('s', tool.id)),
])));

const targets = [];
function target(name, value, limit, detail) {
  const verdict = value === null || limit === null ? 'N/A' : value <= limit ? 'PASS' : 'FAIL';
  targets.push({ name, verdict, value, limit, detail });
}
const fj = perJob('forkjoin');
target('per-job overhead at most 1/3 of GNU parallel\'s', fj, perJob('parallel') === null ? null : perJob('parallel') / 3,
  perJob('parallel') === null ? 'GNU parallel is not installed' : `${fj.toFixed(2)} ms vs ${perJob('parallel').toFixed(2)} / 3 = ${(perJob('parallel') / 3).toFixed(2)} ms`);
target('per-job overhead within 1.5x of xargs -P\'s', fj, perJob('xargs') * 1.5,
  `${fj.toFixed(2)} ms vs 1.5 x ${perJob('xargs').toFixed(2)} = ${(perJob('xargs') * 1.5).toFixed(2)} ms (${(fj / perJob('xargs')).toFixed(2)}x)`);
const fjm = marginal('forkjoin');
target('(without fixed costs) per-job overhead at most 1/3 of GNU parallel\'s', fjm, marginal('parallel') === null ? null : marginal('parallel') / 3,
  marginal('parallel') === null ? 'GNU parallel is not installed' : `${fjm.toFixed(2)} ms vs ${marginal('parallel').toFixed(2)} / 3 = ${(marginal('parallel') / 3).toFixed(2)} ms`);
target('(without fixed costs) per-job overhead within 1.5x of xargs -P\'s', fjm, marginal('xargs') * 1.5,
  `${fjm.toFixed(2)} ms vs 1.5 x ${marginal('xargs').toFixed(2)} = ${(marginal('xargs') * 1.5).toFixed(2)} ms (${(fjm / marginal('xargs')).toFixed(2)}x)`);
target('200 x sleep 0.01 at 8 within 1.3x of the ideal 0.25 s', med('s', 'forkjoin'), s.idealMs * 1.3,
  `${med('s', 'forkjoin').toFixed(0)} ms vs 1.3 x ${s.idealMs} = ${(s.idealMs * 1.3).toFixed(0)} ms (${(med('s', 'forkjoin') / s.idealMs).toFixed(2)}x; its fixed cost alone is ${med('1', 'forkjoin').toFixed(0)} ms)`);

// Context for every fixed cost above: how long an empty Node process takes here. Node 20 parses
// the file NODE_EXTRA_CA_CERTS names at every start, used or not; when it is set, also without it.
const nodeStart = (env) => {
  const ms = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    spawnSync(process.execPath, ['-e', '0'], { env });
    ms.push(performance.now() - t0);
  }
  return median(ms);
};
const nodeEmpty = nodeStart(process.env);
const extraCa = process.env.NODE_EXTRA_CA_CERTS;
const nodeWithoutCa = extraCa ? nodeStart({ ...process.env, NODE_EXTRA_CA_CERTS: '' }) : null;
console.log(`\nan empty Node process (node -e 0) takes ${nodeEmpty.toFixed(0)} ms here` + (nodeWithoutCa === null ? ''
  : `; NODE_EXTRA_CA_CERTS is set (${extraCa}), which Node 20 reads at every start: ${nodeWithoutCa.toFixed(0)} ms without it`));

console.log('\ntargets');
for (const each of targets) console.log(`  ${each.verdict.padEnd(4)}  ${each.name}: ${each.detail}`);
const load = os.loadavg();
console.log(`\nload average ${load.map((l) => l.toFixed(2)).join(' ')} on ${os.availableParallelism()} cores (a shared machine: medians of ${REPS})`);

const out = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(out, { recursive: true });
const file = join(out, `shell-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify({
  meta: {
    date: startedAt.toISOString(), node: process.version, platform: `${process.platform} ${os.release()} ${process.arch}`,
    cpus: os.availableParallelism(), cpuModel: os.cpus()[0]?.model ?? null, loadavgStart: load, repetitions: REPS,
    versions: { forkjoin: JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version, parallel: gnu, bash },
  },
  nodeStartMs: { asRun: nodeEmpty, withoutExtraCaCerts: nodeWithoutCa },
  scenarios: Object.fromEntries(scenarios.map((sc) => [sc.id, { label: sc.label, jobs: sc.jobs, slots: sc.slots, idealMs: sc.idealMs, tools: results[sc.id] }])),
  perJobMs: Object.fromEntries(tools.map((tool) => [tool.id, perJob(tool.id)])),
  perJobWithoutFixedMs: Object.fromEntries(tools.map((tool) => [tool.id, marginal(tool.id)])),
  cpuPerJobMs: Object.fromEntries(tools.map((tool) => [tool.id, cpuPerJob(tool.id)])),
  targets,
}, null, 2)}\n`);
log(`\nsamples: ${file}`);
