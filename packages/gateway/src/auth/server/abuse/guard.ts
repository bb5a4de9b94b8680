/**
 * Abuse protection for /oauth/* (issue 4 item 5), in the order a request meets it:
 *  1. per-address token bucket, before the body is even looked at;
 *  2. per-client token bucket, once the request names a client id (unverified);
 *  3. lockout of the client id and the address (lockout.ts), before any credential is checked;
 *  4. after a failed client authentication: the failure is counted for both and audited
 *     (`auth.client.authentication_failed`), and a lock it starts is audited (`auth.client.locked`);
 *     after a success: both counters reset.
 * Refusals in 1–3 are 429 with Retry-After and an RFC 6749-shaped body. They are audited as
 * `auth.token.rate_limited`, at most one entry per key every AUDIT_EVERY_MS with the number of refusals
 * since the last one, so a flood cannot turn the audit log into its amplifier.
 *
 * IPv6 peers are keyed by their /64 (one host usually holds the whole prefix); IPv4-mapped addresses as
 * IPv4.
 */
import type { AuditLog } from '../../../audit/log.ts';
import type { AuthConfig } from '../../../config/config.ts';
import type { Store } from '../../../store/store.ts';
import { OAuthError } from '../errors.ts';
import { activeLock, type LockSubject, recordFailure, recordSuccess } from './lockout.ts';
import { TokenBuckets } from './token-buckets.ts';

export const AUDIT_EVERY_MS = 10_000;
const MAX_AUDIT_KEYS = 10_000;

export interface GuardDeps {
  store: Store;
  audit: AuditLog;
  config: AuthConfig;
  now: () => Date;
}

/** The rate-limit key of a peer address: IPv4 as is, IPv6 by its /64 prefix. */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => (g === '' ? '0' : g.replace(/^0+(?=.)/, '')))
    .join(':')}::/64`;
}

export class AbuseGuard {
  readonly #deps: GuardDeps;
  readonly #perAddress: TokenBuckets;
  readonly #perClient: TokenBuckets;
  readonly #audited = new Map<string, { at: number; suppressed: number }>();

  constructor(deps: GuardDeps) {
    this.#deps = deps;
    this.#perAddress = new TokenBuckets(deps.config.rateLimits.perAddress, deps.now);
    this.#perClient = new TokenBuckets(deps.config.rateLimits.perClient, deps.now);
  }

  /** Step 1. */
  async admitAddress(address: string, endpoint: string): Promise<void> {
    const taken = this.#perAddress.take(address);
    if (!taken.ok)
      await this.#refuse('OAUTH_RATE_LIMITED', `address:${address}`, taken.retryAfterSeconds, endpoint);
  }

  /** Steps 2 and 3. */
  /** Returns whether the store holds failure counters for these subjects (else a success need not reset). */
  async admitClient(clientId: string | undefined, address: string, endpoint: string): Promise<boolean> {
    const subjects: LockSubject[] = [`address:${address}`];
    if (clientId !== undefined) {
      const taken = this.#perClient.take(clientId);
      if (!taken.ok) {
        await this.#refuse('OAUTH_RATE_LIMITED', `client:${clientId}`, taken.retryAfterSeconds, endpoint);
      }
      subjects.unshift(`client:${clientId}`);
    }
    const now = this.#deps.now();
    const { lock, known } = await activeLock(this.#deps.store, subjects, now);
    if (lock !== undefined) {
      const seconds = Math.max(1, Math.ceil((lock.until.getTime() - now.getTime()) / 1000));
      await this.#refuse('OAUTH_CLIENT_LOCKED', lock.subject, seconds, endpoint);
    }
    return known;
  }

  /** Step 4, failure: count, audit, maybe lock. `clientId` is the claimed (syntactically valid) id, if any. */
  async failed(
    error: OAuthError,
    who: { clientId: string | undefined; address: string; certSha256: string | undefined; endpoint: string },
  ): Promise<void> {
    const subjects: LockSubject[] = [`address:${who.address}`];
    if (who.clientId !== undefined) subjects.unshift(`client:${who.clientId}`);
    const now = this.#deps.now();
    const actor = {
      kind: 'partner' as const,
      id: who.clientId ?? 'unknown',
      ...(who.certSha256 === undefined ? {} : { certSha256: who.certSha256 }),
    };
    await this.#deps.store.transaction(async (tx) => {
      const locks = await recordFailure(tx, subjects, now, this.#deps.config.lockout);
      await this.#deps.audit.appendInTx(tx, {
        class: 'auth.client.authentication_failed',
        actor,
        subject: { kind: 'oauth-client', id: who.clientId ?? 'unknown' },
        outcome: 'rejected',
        reasons: [error.reason],
        details: { endpoint: who.endpoint, address: who.address },
      });
      for (const lock of locks) {
        await this.#deps.audit.appendInTx(tx, {
          class: 'auth.client.locked',
          actor,
          subject: { kind: 'lockout', id: lock.subject },
          outcome: 'recorded',
          reasons: ['AUTHENTICATION_FAILURES'],
          details: { failures: lock.failures, until: lock.until.toISOString() },
        });
      }
    });
  }

  /** Step 4, success. */
  async succeeded(clientId: string, address: string): Promise<void> {
    await recordSuccess(this.#deps.store, [`client:${clientId}`, `address:${address}`]);
  }

  async #refuse(
    code: 'OAUTH_RATE_LIMITED' | 'OAUTH_CLIENT_LOCKED',
    key: string,
    retryAfterSeconds: number,
    endpoint: string,
  ): Promise<never> {
    const now = this.#deps.now().getTime();
    const auditKey = `${code}|${key}`;
    const seen = this.#audited.get(auditKey);
    if (seen !== undefined && now - seen.at < AUDIT_EVERY_MS) {
      seen.suppressed += 1;
    } else {
      if (this.#audited.size >= MAX_AUDIT_KEYS) this.#audited.clear();
      this.#audited.set(auditKey, { at: now, suppressed: 0 });
      await this.#deps.audit.append({
        class: 'auth.token.rate_limited',
        actor: { kind: 'system', id: 'oauth' },
        subject: { kind: 'rate-limit', id: key },
        outcome: 'rejected',
        reasons: [code === 'OAUTH_RATE_LIMITED' ? 'RATE_LIMITED' : 'CLIENT_LOCKED'],
        details: { endpoint, retryAfterSeconds, refusedSinceLastEntry: seen?.suppressed ?? 0 },
      });
    }
    const description =
      code === 'OAUTH_RATE_LIMITED'
        ? 'too many requests; retry later'
        : 'client authentication is locked after repeated failures; retry later';
    throw new OAuthError('temporarily_unavailable', code, description, {
      headers: { 'retry-after': String(retryAfterSeconds) },
    });
  }
}
