/**
 * Lockout after repeated failed client authentication (issue 4; OWASP API2 "credential stuffing / brute
 * force"), per claimed client id and per remote address, shared by every gateway node through the store
 * (table oauth_auth_failures).
 *
 * After `threshold` consecutive failures a subject is locked for baseSeconds × 2^(failures − threshold),
 * at most maxSeconds; every further failure doubles it. A success for the client resets the client and
 * the address. A subject whose last failure is older than RESET_AFTER_SECONDS starts from zero again.
 * While locked, requests are refused before any credential is checked (429 + Retry-After).
 *
 * Trade-off (docs/auth.md): a lock on a client id can be triggered by someone guessing that id. The
 * per-address limits bound how fast that happens; mTLS-authenticated clients cannot be impersonated, so
 * their failures are their own.
 */
import type { AuthConfig } from '../../../config/config.ts';
import type { Queryable } from '../../../store/store.ts';

export const RESET_AFTER_SECONDS = 3600;

export type LockSubject = `client:${string}` | `address:${string}`;

export interface ActiveLock {
  subject: LockSubject;
  until: Date;
}

/** The lock that ends last among `subjects`, if any is locked at `now`. */
export async function activeLock(
  q: Queryable,
  subjects: readonly LockSubject[],
  now: Date,
): Promise<{ lock: ActiveLock | undefined; known: boolean }> {
  const rows = await q.query<{ subject: LockSubject; locked_until: Date | null }>(
    'SELECT subject, locked_until FROM oauth_auth_failures WHERE subject = ANY($1)',
    [[...subjects]],
  );
  let lock: ActiveLock | undefined;
  for (const row of rows) {
    if (
      row.locked_until !== null &&
      row.locked_until > now &&
      (lock === undefined || row.locked_until > lock.until)
    ) {
      lock = { subject: row.subject, until: row.locked_until };
    }
  }
  return { lock, known: rows.length > 0 };
}

/** Counts one failure for each subject; returns the locks this failure started or extended. */
export async function recordFailure(
  q: Queryable,
  subjects: readonly LockSubject[],
  now: Date,
  config: AuthConfig['lockout'],
): Promise<Array<ActiveLock & { failures: number }>> {
  const started: Array<ActiveLock & { failures: number }> = [];
  const resetBefore = new Date(now.getTime() - RESET_AFTER_SECONDS * 1000);
  for (const subject of subjects) {
    const [row] = await q.query<{ failures: number }>(
      `INSERT INTO oauth_auth_failures (subject, failures, locked_until, last_failure_at) VALUES ($1, 1, NULL, $2)
       ON CONFLICT (subject) DO UPDATE SET
         failures = CASE WHEN oauth_auth_failures.last_failure_at < $3 THEN 1 ELSE oauth_auth_failures.failures + 1 END,
         last_failure_at = $2
       RETURNING failures`,
      [subject, now, resetBefore],
    );
    const failures = Number(row?.failures ?? 1);
    if (failures < config.threshold) continue;
    const exponent = Math.min(failures - config.threshold, 30);
    const seconds = Math.min(config.maxSeconds, config.baseSeconds * 2 ** exponent);
    const until = new Date(now.getTime() + seconds * 1000);
    await q.query('UPDATE oauth_auth_failures SET locked_until = $2 WHERE subject = $1', [subject, until]);
    started.push({ subject, until, failures });
  }
  return started;
}

/** Forgets the failures of these subjects (after a successful authentication). */
export async function recordSuccess(q: Queryable, subjects: readonly LockSubject[]): Promise<void> {
  await q.query('DELETE FROM oauth_auth_failures WHERE subject = ANY($1)', [[...subjects]]);
}
