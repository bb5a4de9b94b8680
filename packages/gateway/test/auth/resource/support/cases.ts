/**
 * Shared assertions for the resource-server integration tests: a refusal carries the status, the RFC
 * 6750 / RFC 9449 error in WWW-Authenticate, the problem+json code, and an `auth.token.refused` (or
 * `auth.policy.refused`) audit entry with that code; and the gateway keeps serving afterwards.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { Answer, AuthTestGateway } from './gateway.ts';
import { send } from './gateway.ts';
import { certThumbprint } from './mint.ts';

export interface Expected {
  status: number;
  code: string;
  /** The RFC error in WWW-Authenticate; null: no challenge error expected. */
  error: string | null;
  scheme?: 'Bearer' | 'DPoP';
  auditClass?: 'auth.token.refused' | 'auth.policy.refused';
}

/** The WWW-Authenticate challenges, one per header line as sent. */
export const challenges = (res: Answer): string[] =>
  res.rawHeaders.filter((_, i) => i % 2 === 1 && res.rawHeaders[i - 1]?.toLowerCase() === 'www-authenticate');

export async function expectRefused(t: AuthTestGateway, res: Answer, expected: Expected, auditFrom: number) {
  expect({ status: res.status, code: res.json().code }, res.text).toEqual({
    status: expected.status,
    code: expected.code,
  });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const www = challenges(res);
  if (expected.error !== null) {
    const challenge = www.find((c) => c.includes(`error="${expected.error}"`));
    expect(challenge, `WWW-Authenticate: ${www.join(' | ')}`).toBeDefined();
    if (expected.scheme !== undefined) expect(challenge?.startsWith(`${expected.scheme} `)).toBe(true);
  }
  const entries = await t.auditSince(auditFrom);
  const audited = entries.find(
    (e) =>
      e.class === (expected.auditClass ?? 'auth.token.refused') &&
      Array.isArray(e.reasons) &&
      e.reasons.includes(expected.code),
  );
  expect(audited, `audit entries: ${JSON.stringify(entries)}`).toBeDefined();
  // Never the token itself in the audit log.
  expect(JSON.stringify(entries)).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
}

/** A valid certificate-bound request still succeeds (the gateway keeps serving). */
export async function expectServing(t: AuthTestGateway): Promise<void> {
  const acme = t.partner('acme-tms');
  const { token } = await t.token({ cnf: { 'x5t#S256': certThumbprint(acme.cert) } });
  const res = await send(`${t.url.control}/v1/tenders/tnd_${randomUUID()}`, {
    creds: acme,
    headers: { authorization: `Bearer ${token}` },
  });
  expect({ status: res.status, code: res.json().code }).toEqual({ status: 404, code: 'TENDER_NOT_FOUND' });
}

export { tenderBody } from '../../../support/tender-body.ts';
