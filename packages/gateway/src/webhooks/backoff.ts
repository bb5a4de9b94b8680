/**
 * Retry schedule of a webhook delivery: after attempt n (1-based) fails, the next one waits
 * `backoffBaseMs × STEPS[n-1]` (the last step repeats), ±20 % jitter so that retries of many deliveries
 * to one recovering receiver do not arrive in lockstep. With the default base of 5 s: 5 s, 30 s, 2 min,
 * 10 min, 1 h, 2 h, 4 h, 6 h, 6 h — ten attempts over about 19 hours (webhooks.maxAttempts).
 */
const STEPS = [1, 6, 24, 120, 720, 1440, 2880, 4320] as const;
const JITTER = 0.2;

/** Milliseconds to wait after failed attempt `attempt` (1-based); `random` in [0, 1). */
export function retryDelayMs(attempt: number, baseMs: number, random: number = Math.random()): number {
  const step = STEPS[Math.min(Math.max(attempt, 1), STEPS.length) - 1] ?? STEPS[STEPS.length - 1];
  const nominal = baseMs * (step ?? 1);
  return Math.max(1, Math.round(nominal * (1 - JITTER + 2 * JITTER * random)));
}
