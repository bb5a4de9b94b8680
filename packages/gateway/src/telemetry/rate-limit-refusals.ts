/**
 * Records refusals by a device's token buckets and connection cap without letting a flood write a row per
 * refused request (docs/telemetry.md "Limits"): per vehicle and limit, the first refusal of each
 * REFUSAL_RECORD_WINDOW_MS window is recorded at once (a telemetry_rejections row with
 * REQUEST_RATE_LIMITED and a `telemetry.rate-limited` audit entry, through group commit); later ones in
 * the window are counted and recorded as one row and entry with `attempts` when the window ends (or at
 * close). So "every rejection kept with its reason code" holds as a count, and a device that floods costs
 * at most one write per limit per window. The metric counts every single refusal.
 */
import { GatewayError } from '../errors/gateway-error.ts';
import type { PeerIdentity } from '../pki/peer-identity.ts';
import type { IngestQueue } from './group-commit.ts';
import type { TelemetryMetrics } from './metrics.ts';
import { rateLimitRejection } from './rejection.ts';

export const REFUSAL_RECORD_WINDOW_MS = 10_000;

export type LimitName = 'bytes' | 'records' | 'connections';

interface Window {
  startedAt: number;
  pending: number;
  identity: PeerIdentity;
  limit: LimitName;
  remoteAddress: string;
}

export class RateLimitRefusals {
  readonly #queue: IngestQueue;
  readonly #metrics: TelemetryMetrics | undefined;
  readonly #now: () => Date;
  readonly #windows = new Map<string, Window>();
  readonly #timer: NodeJS.Timeout;

  constructor(queue: IngestQueue, now: () => Date, metrics?: TelemetryMetrics) {
    this.#queue = queue;
    this.#now = now;
    this.#metrics = metrics;
    this.#timer = setInterval(() => void this.flush(false), REFUSAL_RECORD_WINDOW_MS);
    this.#timer.unref();
  }

  /** Counts one refusal and returns the 429 to answer; the first of a window is recorded before this resolves. */
  async refuse(
    identity: PeerIdentity,
    limit: LimitName,
    retryAfterSeconds: number,
    remoteAddress: string,
  ): Promise<GatewayError> {
    this.#metrics?.rateLimited.inc({ limit });
    const error = new GatewayError('REQUEST_RATE_LIMITED', `the device's ${limit} limit is exhausted`, {
      retryAfterSeconds,
    });
    const key = `${identity.id}\n${limit}`;
    const now = this.#now().getTime();
    const current = this.#windows.get(key);
    if (current !== undefined && now - current.startedAt < REFUSAL_RECORD_WINDOW_MS) {
      current.pending += 1;
      return error;
    }
    if (current !== undefined && current.pending > 0) this.#record(current, current.pending);
    this.#windows.set(key, { startedAt: now, pending: 0, identity, limit, remoteAddress });
    await this.#record({ identity, limit, remoteAddress, startedAt: now, pending: 0 }, 1);
    return error;
  }

  /** Records the counts of ended windows (all windows when `all`), e.g. at shutdown. */
  async flush(all = true): Promise<void> {
    const now = this.#now().getTime();
    const writes: Promise<void>[] = [];
    for (const [key, w] of this.#windows) {
      if (!all && now - w.startedAt < REFUSAL_RECORD_WINDOW_MS) continue;
      if (w.pending > 0) writes.push(this.#record(w, w.pending));
      this.#windows.delete(key);
    }
    await Promise.all(writes);
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush(true);
  }

  async #record(w: Window, attempts: number): Promise<void> {
    try {
      await this.#queue.submit(rateLimitRejection(w.identity, w.limit, attempts, w.remoteAddress));
    } catch {
      // Queue full or closing: the refusal was still answered and counted by the metric.
    }
  }
}
