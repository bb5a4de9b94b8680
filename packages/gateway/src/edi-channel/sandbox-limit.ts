/**
 * A per-partner limit on sandbox (ISA15 = T) interchanges (docs/tendering.md "Duplicates and the
 * sandbox"). Threat: the sandbox runs the decision engine against the fleet's real bookings, so a partner
 * could probe free capacity per lane and pickup window with unlimited dry runs, and each run is a
 * transaction. At most `edi.sandboxPerMinute` sandbox interchanges per partner in any 60 s (a sliding
 * window: no burst across a window edge); beyond, `429 EDI_SANDBOX_RATE_LIMITED` with Retry-After, and the
 * refusal is audited at most once a minute per partner so a flood cannot flood the audit log.
 *
 * Per gateway node, in memory, like the telemetry buckets: N nodes allow up to N times the limit. Memory is
 * bounded: one entry per configured partner (only authenticated partners whose identity matched reach
 * this), at most `perMinute` timestamps each.
 */
import type { EdiSettings } from './settings.ts';

const WINDOW_MS = 60_000;
const DEFAULT_PER_MINUTE = 30;

export type SandboxTake = { ok: true } | { ok: false; retryAfterSeconds: number; audit: boolean };

export class SandboxLimiter {
  readonly #perMinute: number;
  readonly #recent = new Map<string, number[]>();
  readonly #auditedAt = new Map<string, number>();

  constructor(perMinute: number) {
    this.#perMinute = perMinute;
  }

  get perMinute(): number {
    return this.#perMinute;
  }

  /** Counts one sandbox interchange of `partnerId` at `nowMs`, or refuses it (nothing counted then). */
  take(partnerId: string, nowMs: number): SandboxTake {
    const recent = (this.#recent.get(partnerId) ?? []).filter((t) => t > nowMs - WINDOW_MS);
    if (recent.length < this.#perMinute) {
      recent.push(nowMs);
      this.#recent.set(partnerId, recent);
      return { ok: true };
    }
    this.#recent.set(partnerId, recent);
    const oldest = recent[0] ?? nowMs;
    const retryAfterSeconds = Math.max(1, Math.ceil((oldest + WINDOW_MS - nowMs) / 1000));
    const last = this.#auditedAt.get(partnerId);
    const audit = last === undefined || nowMs - last >= WINDOW_MS;
    if (audit) this.#auditedAt.set(partnerId, nowMs);
    return { ok: false, retryAfterSeconds, audit };
  }
}

/**
 * The limiter of one gateway: the one passed in the dependencies, else one per store object (the upload
 * route and the drop directory of a gateway share its store, so they share the limit).
 */
const byStore = new WeakMap<object, SandboxLimiter>();

export function sandboxLimiterOf(deps: {
  store: object;
  settings: EdiSettings;
  sandboxLimiter?: SandboxLimiter;
}): SandboxLimiter {
  if (deps.sandboxLimiter !== undefined) return deps.sandboxLimiter;
  const configured = deps.settings.edi.sandboxPerMinute;
  // A partial configuration (a benchmark's) may lack the key: the documented default then.
  const perMinute = Number.isInteger(configured) && configured > 0 ? configured : DEFAULT_PER_MINUTE;
  let limiter = byStore.get(deps.store);
  if (limiter === undefined || limiter.perMinute !== perMinute) {
    limiter = new SandboxLimiter(perMinute);
    byStore.set(deps.store, limiter);
  }
  return limiter;
}
