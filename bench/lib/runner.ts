/**
 * The frame every benchmark runs in: a watchdog that ends a stuck run (benchmarks stop by
 * themselves), progress lines on stdout, and the closing `BENCH_RESULT {json}` line that
 * bench/run-all.js collects. A failure prints its reason and exits non-zero without a result line.
 */
import { type BenchResult, type BenchRow, resultLine } from './result.ts';

export interface RunContext {
  /** Prints one progress line, prefixed with the benchmark's name. */
  log(line: string): void;
}

export async function runBenchmark(
  name: string,
  rounds: number,
  body: (ctx: RunContext) => Promise<BenchRow[]>,
  options: { watchdogMs?: number } = {},
): Promise<void> {
  const started = performance.now();
  const watchdogMs = options.watchdogMs ?? 90_000;
  const watchdog = setTimeout(() => {
    console.error(`${name}: still running after ${watchdogMs / 1000} s, giving up`);
    process.exit(2);
  }, watchdogMs);
  watchdog.unref();
  const ctx: RunContext = { log: (line) => console.log(`[${name}] ${line}`) };
  try {
    const rows = await body(ctx);
    const result: BenchResult = {
      name,
      rounds,
      seconds: Math.round((performance.now() - started) / 100) / 10,
      node: process.versions.node,
      openssl: process.versions.openssl,
      rows,
    };
    console.log(resultLine(result));
  } catch (error) {
    console.error(`${name} failed:`, error);
    process.exitCode = 1;
  } finally {
    clearTimeout(watchdog);
  }
}
