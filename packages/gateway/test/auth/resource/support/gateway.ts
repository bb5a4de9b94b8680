/**
 * A real gateway for the resource-server tests (harness.ts) with what the authorization server provides
 * made sure of: the configured partners registered as OAuth clients (seedClientsFromConfig, idempotent)
 * and the token signing key in DIR/pki/oauth/. Tokens for the negative cases are minted here with that
 * key and recorded in oauth_tokens exactly as the authorization server records its own; positive flows
 * use the real token endpoint (oauth-client.ts). Also: an HTTPS client that can send any header (twice,
 * too), a clock the tests move, and readers for the audit log.
 */
import { request } from 'node:https';
import { seedClientsFromConfig } from '../../../../src/auth/server/seed-clients.ts';
import { ensureTokenSigningKey, loadTokenSigningKey } from '../../../../src/auth/server/signing-key.ts';
import type { GatewayConfig } from '../../../../src/config/config.ts';
import type { EngineCase } from '../../../support/engines.ts';
import { type Credentials, startTestGateway, type TestGateway } from '../../../support/harness.ts';
import { mintToken, type SigningKey, type TokenSpec } from './mint.ts';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Every header line as sent (repeated WWW-Authenticate lines stay apart). */
  rawHeaders: string[];
  text: string;
  json(): Record<string, unknown>;
}

export interface SendOptions {
  method?: string;
  /** Header values; an array sends the header once per value. */
  headers?: Record<string, string | string[]>;
  /** Sent as application/json unless `headers` names another content-type. */
  body?: string | Uint8Array;
  creds: Credentials;
}

export function send(url: string, options: SendOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[] | number> = { ...options.headers };
    if (options.body !== undefined) {
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
        headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(options.body);
    }
    const req = request(
      url,
      {
        method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
        headers,
        ca: options.creds.ca,
        cert: options.creds.chain,
        key: options.creds.key,
        servername: 'localhost',
        agent: false,
        minVersion: 'TLSv1.3',
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            text,
            json: () => JSON.parse(text) as Record<string, unknown>,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface AuthTestGateway extends TestGateway {
  /** The authorization server's signing key, as tests sign with it. */
  signing: SigningKey;
  /** Moves the gateway's clock (milliseconds added to the real time). */
  shiftClock(ms: number): void;
  /** Mints a token with the AS key and records it in oauth_tokens like the AS does. */
  token(spec?: TokenSpec, record?: boolean): Promise<{ token: string; jti: string }>;
  /** The audit entries appended since `fromIndex`, parsed. */
  auditSince(fromIndex: number): Promise<Record<string, unknown>[]>;
  auditSize(): Promise<number>;
}

export async function startAuthGateway(
  engine: EngineCase,
  tweak?: (config: GatewayConfig) => void,
): Promise<AuthTestGateway> {
  let offset = 0;
  const t = await startTestGateway(engine, tweak, () => new Date(Date.now() + offset));
  const { store, audit } = t.gateway;
  await seedClientsFromConfig({ store, audit, now: () => new Date() }, t.gateway.config.partners);
  ensureTokenSigningKey(t.dataDir);
  const key = loadTokenSigningKey(t.dataDir);
  const signing: SigningKey = { privateKey: key.privateKey, publicKey: key.publicKey, kid: key.kid };
  return {
    ...t,
    signing,
    shiftClock: (ms) => {
      offset = ms;
    },
    token: async (spec = {}, record = true) => {
      const minted = await mintToken(signing, spec);
      if (record) {
        const iat = spec.iat ?? Math.floor(Date.now() / 1000);
        const cnf = spec.cnf ?? {};
        await store.query(
          `INSERT INTO oauth_tokens (jti, client_id, issued_at, expires_at, binding) VALUES ($1, $2, $3, $4, $5)`,
          [
            minted.jti,
            spec.clientId ?? 'acme-tms',
            new Date(iat * 1000),
            new Date((iat + (spec.lifetimeSeconds ?? 300)) * 1000),
            'jkt' in cnf ? 'dpop' : 'mtls',
          ],
        );
      }
      return minted;
    },
    auditSince: async (fromIndex) => {
      const rows = await store.query<{ entry: string }>(
        'SELECT entry FROM audit_entries WHERE idx >= $1 ORDER BY idx',
        [String(fromIndex)],
      );
      return rows.map((r) => JSON.parse(r.entry) as Record<string, unknown>);
    },
    auditSize: () => audit.size(),
  };
}
