/**
 * Per-device token buckets for telemetry (issue 5 "Limits"; docs/telemetry.md "Limits"): one bucket of
 * envelope bytes and one of records per vehicle, each holding `burst` and refilled continuously at
 * `perSecond`. Bytes are charged when the envelope arrives, before any parsing or cryptography (the cheap
 * gate against a flood); records once the batch's signature verified (the count is then the vehicle's own
 * claim). A refusal is 429 REQUEST_RATE_LIMITED with the whole seconds until the cost is back
 * (Retry-After, RFC 9110 §10.2.3); nothing is taken from a bucket that refuses.
 *
 * A cost above `burst` (a configuration whose burst is below telemetry.maxRecordsPerBatch or
 * maxEnvelopeBytes) is charged as `burst`: such a batch passes only with a full bucket, instead of never.
 *
 * Per gateway node: a vehicle's connection lands on one node, so the limit is per device in practice;
 * several connections of one vehicle on several nodes get the rate once per node (docs/telemetry.md).
 * Memory is bounded by the fleet (identities are certificate-authenticated) and capped at MAX_VEHICLES.
 * Time comes from the injected clock, so tests control refill without sleeping.
 */
import type { TokenBucketConfig } from '../config/config.ts';

export const MAX_VEHICLES = 100_000;

export type TakeResult = { ok: true } | { ok: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

class Buckets {
  readonly #config: TokenBucketConfig;
  readonly #buckets = new Map<string, Bucket>();

  constructor(config: TokenBucketConfig) {
    this.#config = config;
  }

  take(key: string, cost: number, nowMs: number): TakeResult {
    const { burst, perSecond } = this.#config;
    const charge = Math.min(Math.max(cost, 0), burst);
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= MAX_VEHICLES) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
      bucket = { tokens: burst, at: nowMs };
      this.#buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, nowMs - bucket.at) / 1000) * perSecond);
    bucket.at = nowMs;
    if (bucket.tokens >= charge) {
      bucket.tokens -= charge;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((charge - bucket.tokens) / perSecond)) };
  }
}

export type RateLimitName = 'bytes' | 'records';

export class DeviceRateLimiter {
  readonly #bytes: Buckets;
  readonly #records: Buckets;
  readonly #now: () => Date;

  constructor(config: { records: TokenBucketConfig; bytes: TokenBucketConfig }, now: () => Date) {
    this.#bytes = new Buckets(config.bytes);
    this.#records = new Buckets(config.records);
    this.#now = now;
  }

  /** Charges an envelope's size to the vehicle's bytes bucket. */
  takeBytes(vehicleId: string, bytes: number): TakeResult {
    return this.#bytes.take(vehicleId, bytes, this.#now().getTime());
  }

  /** Charges a verified batch's record count to the vehicle's records bucket. */
  takeRecords(vehicleId: string, records: number): TakeResult {
    return this.#records.take(vehicleId, records, this.#now().getTime());
  }
}
