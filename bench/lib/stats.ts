/**
 * Measurement arithmetic shared by every benchmark: percentiles (nearest-rank, so a reported p99 is a
 * latency that was actually observed), medians and spreads over rounds, rates from a fixed-duration
 * loop, and the measurement window of a closed-loop load run. Pure functions with an injectable clock,
 * so bench/test checks the arithmetic without ever asserting a timing.
 */

/** Nearest-rank percentile (p in (0, 100]) of unsorted samples; NaN when there are none. */
export function percentile(samples: ArrayLike<number>, p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError('percentile must be in (0, 100]');
  if (samples.length === 0) return Number.NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** Median of unsorted values (mean of the two middle ones for an even count); NaN when empty. */
export function median(values: ArrayLike<number>): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/**
 * Per-round ratios figure ÷ limit, each round measuring both back to back so that they share the
 * machine's state at that moment; the spread of these is what a noisy machine makes of the ratio.
 */
export function roundRatios(figures: readonly number[], limits: readonly number[]): Spread {
  if (figures.length !== limits.length) throw new RangeError('one limit per figure is needed');
  return spread(figures.map((f, i) => f / (limits[i] as number)));
}

/** The samples of several phases as one array, in order. */
export function concatSamples(parts: readonly ArrayLike<number>[]): Float64Array {
  const all = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarizeLatencies(samples: ArrayLike<number>): LatencySummary {
  let max = Number.NaN;
  for (let i = 0; i < samples.length; i += 1) {
    const v = samples[i] as number;
    if (!(v <= max)) max = v;
  }
  return { count: samples.length, p50: percentile(samples, 50), p99: percentile(samples, 99), max };
}

export type Clock = () => number;

/**
 * Calls `fn` in blocks of `block` until `durationMs` have passed on `clock` (milliseconds), and returns
 * calls per second over the time actually spent. Synchronous: it owns the thread for the duration.
 */
export function rateOfSync(
  fn: () => void,
  durationMs: number,
  clock: Clock = performance.now.bind(performance),
  block = 64,
): number {
  const start = clock();
  const end = start + durationMs;
  let calls = 0;
  let now = start;
  do {
    for (let i = 0; i < block; i += 1) fn();
    calls += block;
    now = clock();
  } while (now < end);
  return calls / ((now - start) / 1000);
}

/** Awaits `fn` one call at a time until `durationMs` have passed; returns completed calls per second. */
export async function rateOfAsync(
  fn: () => Promise<unknown>,
  durationMs: number,
  clock: Clock = performance.now.bind(performance),
): Promise<number> {
  const start = clock();
  const end = start + durationMs;
  let calls = 0;
  let now = start;
  do {
    await fn();
    calls += 1;
    now = clock();
  } while (now < end);
  return calls / ((now - start) / 1000);
}

/**
 * The measurement window of a closed-loop run: only requests that start after the warm-up and finish
 * before the stop count, so connection set-up, JIT warm-up and the drain at the end stay out of both
 * the rate and the percentiles.
 */
export class LatencyWindow {
  readonly #from: number;
  readonly #to: number;
  #samples = new Float64Array(1024);
  #count = 0;

  constructor(from: number, to: number) {
    if (!(to > from)) throw new RangeError('window must end after it starts');
    this.#from = from;
    this.#to = to;
  }

  /** Records one request's start and end (same clock); returns whether it fell inside the window. */
  record(start: number, end: number): boolean {
    if (start < this.#from || end > this.#to) return false;
    if (this.#count === this.#samples.length) {
      const grown = new Float64Array(this.#samples.length * 2);
      grown.set(this.#samples);
      this.#samples = grown;
    }
    this.#samples[this.#count] = end - start;
    this.#count += 1;
    return true;
  }

  get count(): number {
    return this.#count;
  }

  /** Requests per second over the window. */
  rate(): number {
    return this.#count / ((this.#to - this.#from) / 1000);
  }

  /** The recorded latencies (a copy, milliseconds). */
  latencies(): Float64Array {
    return this.#samples.slice(0, this.#count);
  }
}
