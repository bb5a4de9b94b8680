/**
 * Abuse protection on the token endpoint (issue 4 item 5), on every store engine with an injected clock
 * (buckets refill and locks expire on it — no sleeping): the per-address and per-client token buckets
 * answer 429 + Retry-After with an RFC 6749-shaped body and are audited at most once per key per 10 s;
 * repeated failed client authentication locks the client id and the address with exponential backoff
 * (2, 4, 8, 16, 16 s), audited; a success resets the counters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../support/engines.ts';
import { startTestGateway, type TestGateway } from '../../support/harness.ts';
import { auditEntries, manualClock, postForm } from './support.ts';

for (const engine of engines()) {
  describe(`token endpoint abuse protection on ${engine.name}`, () => {
    let t: TestGateway;
    const clock = manualClock();

    beforeAll(async () => {
      t = await startTestGateway(
        engine,
        (c) => {
          c.auth.rateLimits.perAddress = { burst: 8, perSecond: 1 };
          c.auth.rateLimits.perClient = { burst: 4, perSecond: 1 };
          c.auth.lockout = { threshold: 3, baseSeconds: 2, maxSeconds: 16 };
        },
        clock.now,
      );
    });
    afterAll(async () => t?.stop());

    /** A token request for `clientId` made with `certOf`'s certificate (another one fails authentication). */
    const request = (clientId: string, certOf = clientId) => {
      const c = t.partner(certOf);
      return postForm(`${t.url.control}/oauth/token`, {
        ca: c.ca,
        cert: c.chain,
        key: c.key,
        form: { grant_type: 'client_credentials', client_id: clientId },
      });
    };
    const refill = () => clock.advance(60);

    it('limits each address: 429, Retry-After, RFC 6749 body, one audit entry per 10 s', async () => {
      refill();
      const before = (await auditEntries(t, 'auth.token.rate_limited')).length;
      for (let i = 0; i < 8; i += 1) {
        expect((await request(i % 2 === 0 ? 'acme-tms' : 'globex-tms')).status).toBe(200);
      }
      const limited = await request('globex-tms');
      expect(limited.status).toBe(429);
      expect(limited.headers['retry-after']).toBe('1');
      expect(limited.headers['cache-control']).toBe('no-store');
      expect(limited.json()).toEqual({
        error: 'temporarily_unavailable',
        error_description: 'too many requests; retry later',
        code: 'OAUTH_RATE_LIMITED',
      });
      expect((await request('acme-tms')).status).toBe(429);
      // Introspection and revocation share the address bucket.
      const c = t.partner('acme-tms');
      const introspect = await postForm(`${t.url.control}/oauth/introspect`, {
        ca: c.ca,
        cert: c.chain,
        key: c.key,
        form: { client_id: 'acme-tms', token: 'x' },
      });
      expect(introspect.status).toBe(429);
      const entries = await auditEntries(t, 'auth.token.rate_limited');
      expect(entries.length).toBe(before + 1);
      expect(entries.at(-1)).toMatchObject({
        subject: { kind: 'rate-limit', id: 'address:127.0.0.1' },
        reasons: ['RATE_LIMITED'],
        outcome: 'rejected',
      });
      clock.advance(1);
      expect((await request('acme-tms')).status).toBe(200);
      clock.advance(11);
      for (let i = 0; i < 10; i += 1) await request('globex-tms');
      const later = await auditEntries(t, 'auth.token.rate_limited');
      expect(later.length).toBeGreaterThan(entries.length);
      expect(later.at(-1)).toMatchObject({ details: { refusedSinceLastEntry: 2 } });
    });

    it('limits each client id separately from the address', async () => {
      refill();
      for (let i = 0; i < 4; i += 1) expect((await request('acme-tms')).status).toBe(200);
      const limited = await request('acme-tms');
      expect(limited.status).toBe(429);
      expect(limited.json().code).toBe('OAUTH_RATE_LIMITED');
      expect((await request('globex-tms')).status).toBe(200);
      const entries = await auditEntries(t, 'auth.token.rate_limited');
      expect(entries.at(-1)).toMatchObject({ subject: { id: 'client:acme-tms' } });
    });

    it('locks a client id and the address after repeated failures, doubling the lock each time', async () => {
      refill();
      const lockedBefore = (await auditEntries(t, 'auth.client.locked')).length;
      // globex's certificate claiming to be acme-tms: a failed client authentication each time.
      for (let i = 0; i < 3; i += 1) expect((await request('acme-tms', 'globex-tms')).status).toBe(401);
      const locked = await request('acme-tms');
      expect(locked.status).toBe(429);
      expect(locked.headers['retry-after']).toBe('2');
      expect(locked.json()).toMatchObject({ error: 'temporarily_unavailable', code: 'OAUTH_CLIENT_LOCKED' });
      // The address is locked too: another client from it waits as well.
      expect((await request('globex-tms')).json().code).toBe('OAUTH_CLIENT_LOCKED');
      const locks = (await auditEntries(t, 'auth.client.locked')).slice(lockedBefore);
      expect(locks.map((e) => (e.subject as { id: string }).id).sort()).toEqual([
        'address:127.0.0.1',
        'client:acme-tms',
      ]);
      expect(locks[0]).toMatchObject({ reasons: ['AUTHENTICATION_FAILURES'], details: { failures: 3 } });

      const retryAfter: string[] = [];
      for (const wait of [3, 5, 9, 17]) {
        clock.advance(wait);
        expect((await request('acme-tms', 'globex-tms')).status).toBe(401);
        retryAfter.push((await request('acme-tms')).headers['retry-after'] as string);
      }
      expect(retryAfter).toEqual(['4', '8', '16', '16']);
      const failures = await auditEntries(t, 'auth.client.authentication_failed');
      expect(failures.at(-1)).toMatchObject({ reasons: ['CERT_SAN_MISMATCH'], actor: { id: 'acme-tms' } });
    });

    it('a success after the lock resets the counters', async () => {
      clock.advance(17);
      refill();
      expect((await request('acme-tms')).status).toBe(200);
      // One new failure is far below the threshold again: no lock.
      expect((await request('acme-tms', 'globex-tms')).status).toBe(401);
      expect((await request('acme-tms')).status).toBe(200);
      const rows = await t.gateway.store.query('SELECT subject FROM oauth_auth_failures');
      expect(rows).toEqual([]);
    });
  });
}
