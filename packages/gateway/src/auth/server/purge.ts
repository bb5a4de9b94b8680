/**
 * Keeps the authorization server's tables bounded: token records a day after they expired (a resource
 * server refuses an expired token on `exp` alone), replay records once the assertion or proof they
 * guard has expired, and failure counters that have gone quiet and hold no live lock.
 */
import type { Logger } from 'pino';
import type { Queryable } from '../../store/store.ts';
import { RESET_AFTER_SECONDS } from './abuse/lockout.ts';

export const TOKEN_RECORD_RETENTION_MS = 86_400_000;

export async function purgeExpired(q: Queryable, now: Date): Promise<void> {
  await q.query('DELETE FROM oauth_tokens WHERE expires_at < $1', [
    new Date(now.getTime() - TOKEN_RECORD_RETENTION_MS),
  ]);
  await q.query('DELETE FROM oauth_replay WHERE expires_at < $1', [now]);
  await q.query(
    'DELETE FROM oauth_auth_failures WHERE last_failure_at < $1 AND (locked_until IS NULL OR locked_until < $2)',
    [new Date(now.getTime() - RESET_AFTER_SECONDS * 1000), now],
  );
}

/** A purge trigger for the request path: runs purgeExpired in the background at most once a minute. */
export function purgeAtMostEveryMinute(q: Queryable, logger?: Logger): (now: Date) => void {
  let last = Number.NEGATIVE_INFINITY;
  return (now) => {
    if (now.getTime() - last < 60_000) return;
    last = now.getTime();
    purgeExpired(q, now).catch((error: unknown) =>
      logger?.warn({ err: error }, 'purging expired OAuth records failed'),
    );
  };
}
