// `npm run bench`: runs every benchmark in turn, each in its own Node process (so one's heap, JIT state
// and PGlite instance never colour the next), echoes their progress, collects the `BENCH_RESULT {json}`
// line each prints last, and rewrites docs/performance.md with the table. If any benchmark fails, the
// document is left as it was and the exit code is 1: the table always comes from one complete run.
//
// Plain JavaScript so that it starts on any Node; the benchmarks and helpers are TypeScript run by
// Node 24's type stripping, which npm scripts get because the `node` devDependency comes first on PATH.
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCHMARKS = [
  'signatures.ts',
  'pki.ts',
  'oauth-token.ts',
  'telemetry-ingest.ts',
  'telemetry.ts',
  'tenders.ts',
  'tender-latency.ts',
  'control-plane-auth.ts',
  'audit.ts',
  'edi.ts',
];
/** Each benchmark stops itself well before this (its own watchdog); this only guards against a hang. */
const HARD_TIMEOUT_MS = 120_000;

const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(
    `the benchmarks need Node.js 24 (found ${process.version}); run them with \`npm run bench\`, which puts ` +
      "the project's Node 24 first on PATH",
  );
  process.exit(1);
}

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
const { parseResultLine } = await import('./lib/result.ts');
const { renderPerformanceMarkdown, renderTable } = await import('./lib/report.ts');

function runOne(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(benchDir, file)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      process.stdout.write(chunk);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), HARD_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return resolve({ file, error: `exited with ${signal ?? `code ${code}`}` });
      try {
        const result = parseResultLine(stdout);
        resolve(result === undefined ? { file, error: 'printed no BENCH_RESULT line' } : { file, result });
      } catch (error) {
        resolve({ file, error: `invalid BENCH_RESULT line: ${error.message}` });
      }
    });
  });
}

function nproc() {
  try {
    return Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    return availableParallelism();
  }
}

const outcomes = [];
for (const file of BENCHMARKS) {
  console.log(`\n== bench/${file}`);
  outcomes.push(await runOne(file));
}

const failed = outcomes.filter((o) => o.error !== undefined);
if (failed.length > 0) {
  for (const f of failed) console.error(`bench/${f.file}: ${f.error}`);
  console.error('docs/performance.md was not changed.');
  process.exit(1);
}

const results = outcomes.map((o) => o.result);
const doc = renderPerformanceMarkdown(results, {
  date: new Date().toISOString().slice(0, 10),
  node: process.versions.node,
  openssl: process.versions.openssl,
  nproc: nproc(),
});
const target = join(root, 'docs', 'performance.md');
writeFileSync(target, doc);
console.log(`\n${renderTable(results)}\n\nwrote ${relative(process.cwd(), target)}`);
