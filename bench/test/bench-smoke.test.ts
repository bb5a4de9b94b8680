/**
 * The benchmarks' arithmetic and reporting, checked for correctness only — never a timing: nearest-rank
 * percentiles, medians and per-round ratio spreads, rates from a loop driven by a fake clock, the
 * measurement window of a load run, and the BENCH_RESULT line run-all.js parses into
 * docs/performance.md. No gateway is started here.
 */
import { describe, expect, it } from 'vitest';
import { renderPerformanceMarkdown, renderTable } from '../lib/report.ts';
import {
  type BenchResult,
  checkResult,
  formatMeasure,
  formatMs,
  formatNumber,
  formatRatio,
  parseResultLine,
  resultLine,
} from '../lib/result.ts';
import {
  concatSamples,
  LatencyWindow,
  median,
  percentile,
  rateOfAsync,
  rateOfSync,
  roundRatios,
  spread,
  summarizeLatencies,
} from '../lib/stats.ts';

/** A clock that advances by `step` on every read. */
const steppingClock = (step: number): (() => number) => {
  let t = 1_000;
  return () => {
    const now = t;
    t += step;
    return now;
  };
};

const result = (over: Partial<BenchResult> = {}): BenchResult => ({
  name: 'demo',
  rounds: 3,
  seconds: 12.3,
  node: '24.21.0',
  openssl: '3.5.8',
  rows: [
    {
      benchmark: 'thing | other',
      figure: { value: 412.4, unit: 'batches/s', detail: 'p50 4.1 ms' },
      limit: { name: 'Ed25519 verify', value: 11_870, unit: 'verifies/s' },
      ratio: { median: 0.034_74, min: 0.031, max: 0.0402 },
    },
  ],
  ...over,
});

describe('percentile (nearest rank)', () => {
  it('matches the nearest-rank definition on 1..100 and on unsorted input', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile(values, 1)).toBe(1);
    expect(percentile(values, 0.5)).toBe(1);
  });

  it('always returns an observed sample', () => {
    expect(percentile([3, 1, 2], 50)).toBe(2);
    expect(percentile([10, 20], 50)).toBe(10);
    expect(percentile([10, 20], 51)).toBe(20);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile(new Float64Array([5, 4, 3, 2, 1, 0, 9, 8, 7, 6]), 90)).toBe(8);
  });

  it('is NaN for no samples and refuses p outside (0, 100]', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 100.1)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });

  it('does not reorder the caller’s samples', () => {
    const samples = [3, 1, 2];
    percentile(samples, 50);
    expect(samples).toEqual([3, 1, 2]);
  });
});

describe('median, spread and per-round ratios', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('reports the spread of values', () => {
    expect(spread([3, 9, 6])).toEqual({ median: 6, min: 3, max: 9 });
    expect(spread([]).median).toBeNaN();
  });

  it('divides each round’s figure by the same round’s limit', () => {
    expect(roundRatios([100, 300, 200], [1000, 1000, 4000])).toEqual({ median: 0.1, min: 0.05, max: 0.3 });
    expect(() => roundRatios([1, 2], [1])).toThrow(RangeError);
  });

  it('summarises latencies and joins phases in order', () => {
    const joined = concatSamples([new Float64Array([1, 2]), [3], new Float64Array(0)]);
    expect(Array.from(joined)).toEqual([1, 2, 3]);
    const samples = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(summarizeLatencies(samples)).toEqual({ count: 1000, p50: 500, p99: 990, max: 1000 });
    expect(summarizeLatencies([]).count).toBe(0);
  });
});

describe('rates from a loop (fake clock)', () => {
  it('rateOfSync counts whole blocks over the time the clock says was spent', () => {
    let calls = 0;
    // Clock reads: start, then one per block of 4 calls, each 10 ms later; 100 ms → 10 blocks.
    const rate = rateOfSync(() => (calls += 1), 100, steppingClock(10), 4);
    expect(calls).toBe(40);
    expect(rate).toBe(400);
  });

  it('rateOfAsync awaits one call at a time', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    const rate = await rateOfAsync(
      async () => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await Promise.resolve();
        inFlight -= 1;
        calls += 1;
      },
      50,
      steppingClock(5),
    );
    expect(maxInFlight).toBe(1);
    expect(calls).toBe(10);
    expect(rate).toBe(200);
  });
});

describe('LatencyWindow', () => {
  it('counts only requests that start after the warm-up and end before the stop', () => {
    const w = new LatencyWindow(100, 1100);
    expect(w.record(50, 150)).toBe(false); // started during warm-up
    expect(w.record(100, 104)).toBe(true);
    expect(w.record(500, 502.5)).toBe(true);
    expect(w.record(1090, 1101)).toBe(false); // finished after the stop
    expect(w.count).toBe(2);
    expect(Array.from(w.latencies())).toEqual([4, 2.5]);
    expect(w.rate()).toBe(2);
  });

  it('grows past its initial capacity without losing samples', () => {
    const w = new LatencyWindow(0, 10_000);
    for (let i = 0; i < 5_000; i += 1) w.record(i, i + (i % 7));
    expect(w.count).toBe(5_000);
    expect(w.latencies()[4_999]).toBe(4_999 % 7);
    expect(() => new LatencyWindow(5, 5)).toThrow(RangeError);
  });
});

describe('BENCH_RESULT line', () => {
  it('round-trips through stdout, taking the last result line', () => {
    const first = result({ name: 'first' });
    const last = result({ name: 'last' });
    const stdout = `progress\n${resultLine(first)}\nmore progress\n${resultLine(last)}\n`;
    expect(parseResultLine(stdout)).toEqual(last);
    expect(parseResultLine('no result here\n')).toBeUndefined();
  });

  it('refuses a result with a missing or non-finite field, naming it', () => {
    const bad = (mutate: (r: Record<string, unknown>) => void): (() => BenchResult) => {
      const r = JSON.parse(JSON.stringify(result())) as Record<string, unknown>;
      mutate(r);
      return () => checkResult(r);
    };
    expect(bad((r) => delete r.node)).toThrow(/node/);
    expect(bad((r) => (r.rows = []))).toThrow(/rows/);
    expect(
      bad(
        (r) =>
          (((r.rows as { ratio: { min: unknown } }[])[0] as { ratio: { min: unknown } }).ratio.min = null),
      ),
    ).toThrow(/rows\[0\]\.ratio/);
    expect(
      bad(
        (r) =>
          delete ((r.rows as { limit: { name?: string } }[])[0] as { limit: { name?: string } }).limit.name,
      ),
    ).toThrow(/rows\[0\]\.limit/);
    // NaN serialises as null: a failed measurement cannot slip into the table.
    expect(() => parseResultLine(resultLine(result({ rounds: Number.NaN })))).toThrow(/rounds/);
  });
});

describe('formatting and the performance document', () => {
  it('formats to three significant digits with units', () => {
    expect(formatNumber(11_874.2)).toBe('11,900');
    expect(formatNumber(412.44)).toBe('412');
    expect(formatNumber(Number.NaN)).toBe('n/a');
    expect(formatRatio(0.034_74)).toBe('0.0347×');
    expect(formatMs(4.1234)).toBe('4.12 ms');
    expect(formatMeasure({ value: 412.4, unit: 'batches/s', detail: 'p50 4 ms' })).toBe(
      '412 batches/s (p50 4 ms)',
    );
    expect(formatMeasure({ value: 2, unit: 'req/s' })).toBe('2 req/s');
  });

  it('renders one escaped table row per result row', () => {
    const table = renderTable([result()]).split('\n');
    expect(table).toHaveLength(3);
    expect(table[2]).toBe(
      '| thing \\| other | 412 batches/s (p50 4.1 ms) | Ed25519 verify: 11,900 verifies/s | 0.0347× (0.031×–0.0402×) |',
    );
  });

  it('states the environment and the command, and keeps numbers out of the prose', () => {
    const doc = renderPerformanceMarkdown([result()], {
      date: '2025-01-02',
      node: '24.21.0',
      openssl: '3.5.8',
      nproc: 2,
    });
    expect(doc).toContain('Measured on 2025-01-02 with Node.js 24.21.0 (OpenSSL 3.5.8), `nproc` = 2.');
    expect(doc).toContain('npm run bench');
    const prose = doc
      .split('\n')
      .filter((l) => !l.startsWith('|') && !l.startsWith('Measured on'))
      .join('\n');
    expect(prose).not.toMatch(/\d[\d,.]*\s*(?:\/s|ms|req|batches|entries|×)/);
  });
});
