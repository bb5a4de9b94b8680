/**
 * What a benchmark hands to bench/run-all.js: one `BENCH_RESULT {json}` line, printed last on stdout.
 * Each row is a figure, the limit it is compared with (measured in the same process, in the same run)
 * and the ratio's median and spread over the rounds. The parser validates the shape, because a
 * half-printed or hand-edited line must fail the run rather than put a wrong number in the docs.
 */
import type { Spread } from './stats.ts';

export const RESULT_PREFIX = 'BENCH_RESULT ';

export interface Measure {
  /** Median over the rounds. */
  value: number;
  /** Unit of `value`, e.g. "batches/s". */
  unit: string;
  /** Extra context for the table cell, e.g. "p50 4.1 ms, p99 9.8 ms". */
  detail?: string;
}

export interface Limit extends Measure {
  /** What was measured as the limit, e.g. "Ed25519 verify, 1 thread". */
  name: string;
}

export interface BenchRow {
  benchmark: string;
  figure: Measure;
  limit: Limit;
  ratio: Spread;
}

export interface BenchResult {
  name: string;
  rounds: number;
  seconds: number;
  node: string;
  openssl: string;
  rows: BenchRow[];
}

export function resultLine(result: BenchResult): string {
  return RESULT_PREFIX + JSON.stringify(result);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

function checkMeasure(v: unknown, where: string, named: boolean): void {
  if (!isObject(v) || !isNumber(v.value) || !isString(v.unit))
    throw new TypeError(`${where}: value and unit are required`);
  if (v.detail !== undefined && typeof v.detail !== 'string')
    throw new TypeError(`${where}: detail must be a string`);
  if (named && !isString(v.name)) throw new TypeError(`${where}: name is required`);
}

/** Validates a parsed result; throws a TypeError naming the first wrong field. */
export function checkResult(v: unknown): BenchResult {
  if (!isObject(v)) throw new TypeError('result must be an object');
  for (const key of ['name', 'node', 'openssl'] as const) {
    if (!isString(v[key])) throw new TypeError(`${key} must be a non-empty string`);
  }
  if (!isNumber(v.rounds) || !isNumber(v.seconds)) throw new TypeError('rounds and seconds must be numbers');
  if (!Array.isArray(v.rows) || v.rows.length === 0) throw new TypeError('rows must be a non-empty array');
  v.rows.forEach((row: unknown, i) => {
    const where = `rows[${i}]`;
    if (!isObject(row) || !isString(row.benchmark)) throw new TypeError(`${where}.benchmark is required`);
    checkMeasure(row.figure, `${where}.figure`, false);
    checkMeasure(row.limit, `${where}.limit`, true);
    const r = row.ratio;
    if (!isObject(r) || !isNumber(r.median) || !isNumber(r.min) || !isNumber(r.max)) {
      throw new TypeError(`${where}.ratio needs median, min and max`);
    }
  });
  return v as unknown as BenchResult;
}

/** The last BENCH_RESULT line of a benchmark's stdout, validated; undefined when there is none. */
export function parseResultLine(stdout: string): BenchResult | undefined {
  const lines = stdout.split('\n').filter((l) => l.startsWith(RESULT_PREFIX));
  const last = lines.at(-1);
  if (last === undefined) return undefined;
  return checkResult(JSON.parse(last.slice(RESULT_PREFIX.length)));
}

const significant = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 });

/** A rate or count to three significant digits with thousands separators: 11,900 — 412 — 0.52. */
export function formatNumber(value: number): string {
  return Number.isFinite(value) ? significant.format(value) : 'n/a';
}

/** A ratio to three significant digits, e.g. "0.0412×". */
export function formatRatio(value: number): string {
  return Number.isFinite(value) ? `${significant.format(value)}×` : 'n/a';
}

/** Milliseconds to three significant digits, e.g. "4.12 ms". */
export function formatMs(value: number): string {
  return Number.isFinite(value) ? `${significant.format(value)} ms` : 'n/a';
}

export function formatMeasure(m: Measure): string {
  const base = `${formatNumber(m.value)} ${m.unit}`;
  return m.detail === undefined ? base : `${base} (${m.detail})`;
}
