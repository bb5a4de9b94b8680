/**
 * Token buckets for the token endpoint (issue 4 "Abuse protection"): one bucket per key (a claimed client
 * id, a remote address), `burst` requests at once, refilled continuously at `perSecond`. A request that
 * finds its bucket empty is refused with 429 and the whole seconds until one token is back (Retry-After,
 * RFC 9110 §10.2.3).
 *
 * Per process: several gateway nodes each allow the configured rate (documented in docs/auth.md); the
 * lockout (lockout.ts) is the cross-node control for credential guessing. Memory is bounded: at most
 * MAX_KEYS buckets; full buckets are dropped first, then the oldest — an attacker cycling addresses can
 * evict state but never grow it.
 *
 * Time comes from the injected clock, so tests control refill without sleeping.
 */
import type { TokenBucketConfig } from '../../../config/config.ts';

export const MAX_KEYS = 100_000;

interface Bucket {
  tokens: number;
  at: number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterSeconds: number };

export class TokenBuckets {
  readonly #config: TokenBucketConfig;
  readonly #now: () => Date;
  readonly #buckets = new Map<string, Bucket>();

  constructor(config: TokenBucketConfig, now: () => Date) {
    this.#config = config;
    this.#now = now;
  }

  /** Takes one token from `key`'s bucket. */
  take(key: string): TakeResult {
    const now = this.#now().getTime();
    const { burst, perSecond } = this.#config;
    const bucket = this.#buckets.get(key) ?? { tokens: burst, at: now };
    const elapsed = Math.max(0, now - bucket.at) / 1000;
    bucket.tokens = Math.min(burst, bucket.tokens + elapsed * perSecond);
    bucket.at = now;
    this.#buckets.delete(key);
    this.#buckets.set(key, bucket); // most recently used last
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      this.#evict();
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond)) };
  }

  get size(): number {
    return this.#buckets.size;
  }

  #evict(): void {
    if (this.#buckets.size <= MAX_KEYS) return;
    const now = this.#now().getTime();
    const { burst, perSecond } = this.#config;
    for (const [key, b] of this.#buckets) {
      if (this.#buckets.size <= MAX_KEYS * 0.9) break;
      if (b.tokens + ((now - b.at) / 1000) * perSecond >= burst) this.#buckets.delete(key);
    }
    for (const key of this.#buckets.keys()) {
      if (this.#buckets.size <= MAX_KEYS) break;
      this.#buckets.delete(key);
    }
  }
}
