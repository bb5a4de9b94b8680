/**
 * Test support for revocation: raw HTTPS bytes (CRL and OCSP bodies are binary), the real `openssl ocsp`
 * client, audit-entry lookups, a bounded wait for an outcome, and a Store view that shares a gateway's
 * database but is a different object — as another gateway node or the CLI would be, it gets no
 * in-process revocation notice, so the gateway can only learn of its revocations by polling.
 */
import { request } from 'node:https';
import type { Queryable, Store } from '../../src/store/store.ts';
import { OPENSSL, openssl } from '../pki/helpers.ts';
import { runPeer } from '../support/run.ts';

export { OPENSSL, openssl, runPeer };

export interface BytesResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export function httpsBytes(
  url: string,
  options: { ca: string; method?: string; body?: Uint8Array; contentType?: string },
): Promise<BytesResult> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {};
    if (options.body !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/octet-stream';
      headers['content-length'] = options.body.byteLength;
    }
    const req = request(
      url,
      { method: options.method ?? 'GET', headers, ca: options.ca, agent: false, minVersion: 'TLSv1.3' },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * `openssl ocsp` against the gateway's responder for one certificate file; stdout and stderr together.
 * Asynchronous: the gateway answering it runs in this process.
 */
export function opensslOcsp(
  dir: string,
  url: string,
  certPath: string,
  extra: readonly string[] = [],
): Promise<{ code: number; out: string }> {
  return runPeer(OPENSSL, [
    'ocsp',
    '-issuer',
    `${dir}/pki/intermediate/cert.pem`,
    '-cert',
    certPath,
    '-url',
    url,
    '-CAfile',
    `${dir}/pki/ca.pem`,
    ...extra,
  ]);
}

export async function auditEntries(
  q: Queryable,
  auditClass: string,
): Promise<Array<{ idx: number; entry: Record<string, unknown> }>> {
  const rows = await q.query<{ idx: string; entry: string }>(
    'SELECT idx, entry FROM audit_entries ORDER BY idx',
  );
  return rows
    .map((r) => ({ idx: Number(r.idx), entry: JSON.parse(r.entry) as Record<string, unknown> }))
    .filter((r) => r.entry.class === auditClass);
}

/** Resolves with the first truthy value of `probe`, polling every 50 ms; rejects after `limitMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined | false>,
  limitMs: number,
  what: string,
): Promise<T> {
  const deadline = performance.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) throw new Error(`not within ${limitMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The same database through a different Store object: no in-process notice reaches the gateway. */
export function detachedStore(store: Store): Store {
  return {
    engine: store.engine,
    query: (sql, params) => store.query(sql, params),
    transaction: (fn) => store.transaction(fn),
    exec: (sql) => store.exec(sql),
    close: async () => {},
  };
}
