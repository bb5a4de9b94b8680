/**
 * SIEM export over HTTPS to a real local HTTPS receiver (node:https, certificate from the test's fresh
 * PKI): the receiver fails the first POST (503) and accepts the retry; the cursor moves only after the
 * 2xx, and the retry carries the same events. NDJSON and JSON-array bodies; the bearer token comes from
 * the environment variable named in the config and never appears in an error; a 302 is a failure and is
 * never followed; a receiver with an untrusted certificate is refused.
 */
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.ts';
import { HttpsSink } from '../../src/audit/export/https-sink.ts';
import { cursorName, ExportRunner } from '../../src/audit/export/runner.ts';
import { readCursor } from '../../src/tendering/lifecycle-feed.ts';
import { engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';

interface Hit {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

const event = (i: number): AuditEvent => ({
  class: 'tender.decided',
  actor: { kind: 'partner', id: 'acme-tms', certSha256: 'ab'.repeat(32) },
  subject: { kind: 'tender', id: `tnd_${i}` },
  outcome: 'accepted',
  reasons: ['LANE_SERVED'],
});

const TOKEN = 'siem-token-7f3a9c';

for (const engine of engines()) {
  describe(`SIEM export over HTTPS on ${engine.name}`, () => {
    let t: TestGateway;
    let server: Server;
    let base: string;
    let ca: string;
    const hits: Hit[] = [];
    let failNext = 0;

    const runner = (name: string, path: string, format: 'ndjson' | 'json-array', env = {}) =>
      new ExportRunner({
        store: t.gateway.store,
        sink: new HttpsSink({
          name,
          url: `${base}${path}`,
          format,
          timeoutMs: 5_000,
          ca,
          bearerTokenEnv: 'SIEM_TOKEN',
          env: { SIEM_TOKEN: TOKEN, ...env },
        }),
        origin: t.gateway.audit.origin,
        batchSize: 25,
        pollIntervalMs: 30,
        retryMinMs: 10,
        retryMaxMs: 100,
        now: () => new Date(),
      });

    beforeAll(async () => {
      t = await startTestGateway(engine);
      const pki = (...p: string[]) => readFileSync(join(t.dataDir, 'pki', ...p), 'utf8');
      ca = pki('ca.pem');
      server = createServer(
        { key: pki('server', 'key.pem'), cert: pki('server', 'chain.pem') },
        (req, res) => {
          let body = '';
          req.on('data', (c: Buffer) => {
            body += c.toString('utf8');
          });
          req.on('end', () => {
            let status = 200;
            if (req.url === '/moved') status = 302;
            else if (failNext > 0) {
              failNext -= 1;
              status = 503;
            }
            hits.push({ path: req.url ?? '', headers: req.headers, body, status });
            res.writeHead(status, status === 302 ? { location: `${base}/ingest-moved` } : {});
            res.end(status === 200 ? '' : 'receiver says no');
          });
        },
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `https://localhost:${(server.address() as AddressInfo).port}`;
      await Promise.all(Array.from({ length: 40 }, (_, i) => t.gateway.audit.append(event(i))));
    });
    afterAll(async () => {
      server?.closeAllConnections();
      await new Promise((r) => server?.close(r));
      await t?.stop();
    });

    it('retries a failed POST and advances the cursor only after a 2xx (NDJSON, bearer from env)', async () => {
      hits.length = 0;
      failNext = 1;
      const r = runner('ndjson', '/ingest', 'ndjson');
      const error = await r.step().catch((e: unknown) => e as Error);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/answered 503/);
      expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain(TOKEN);
      expect(await readCursor(t.gateway.store, cursorName('ndjson'))).toBe(-1);

      expect(await r.step()).toBe(25);
      expect(await readCursor(t.gateway.store, cursorName('ndjson'))).toBe(24);
      expect(hits.map((h) => h.status)).toEqual([503, 200]);
      expect(hits[1]?.body).toBe(hits[0]?.body); // the same batch, re-sent
      for (const h of hits) {
        expect(h.path).toBe('/ingest');
        expect(h.headers.authorization).toBe(`Bearer ${TOKEN}`);
        expect(h.headers['content-type']).toBe('application/x-ndjson');
      }
      const lines = (hits[1]?.body ?? '').trimEnd().split('\n');
      expect(
        lines.map((l) => (JSON.parse(l) as { metadata: { sequence: number } }).metadata.sequence),
      ).toEqual(Array.from({ length: 25 }, (_, i) => i));
    });

    it('sends a JSON array when configured, and continues from the cursor', async () => {
      hits.length = 0;
      const r = runner('array', '/ingest', 'json-array');
      const second = Math.min(25, (await t.gateway.audit.size()) - 25);
      expect(second).toBeGreaterThan(10);
      expect(await r.step()).toBe(25);
      expect(await r.step()).toBe(second);
      expect(hits[0]?.headers['content-type']).toBe('application/json');
      const events = JSON.parse(hits[1]?.body ?? '') as { metadata: { uid: string; sequence: number } }[];
      expect(events.map((e) => e.metadata.sequence)).toEqual(
        Array.from({ length: second }, (_, i) => 25 + i),
      );
      expect(events[0]?.metadata.uid).toBe(`${t.gateway.audit.origin}/25`);
    });

    it('never follows a redirect: a 302 is a failure and the cursor stays', async () => {
      hits.length = 0;
      const r = runner('redirected', '/moved', 'ndjson');
      await expect(r.step()).rejects.toThrow(/302 \(redirects are not followed\)/);
      expect(hits.map((h) => h.path)).toEqual(['/moved']);
      expect(await readCursor(t.gateway.store, cursorName('redirected'))).toBe(-1);
    });

    it('refuses to send without the token it was told to use, naming only the variable', async () => {
      hits.length = 0;
      const r = runner('no-token', '/ingest', 'ndjson', { SIEM_TOKEN: undefined });
      await expect(r.step()).rejects.toThrow(/environment variable SIEM_TOKEN is not set/);
      expect(hits).toEqual([]);
    });

    it('refuses a receiver whose certificate it cannot verify', async () => {
      hits.length = 0;
      const sink = new HttpsSink({
        name: 'untrusted',
        url: `${base}/ingest`,
        format: 'ndjson',
        timeoutMs: 5_000,
      });
      const r = new ExportRunner({
        store: t.gateway.store,
        sink,
        origin: t.gateway.audit.origin,
        batchSize: 5,
        pollIntervalMs: 30,
        retryMinMs: 10,
        retryMaxMs: 100,
        now: () => new Date(),
      });
      await expect(r.step()).rejects.toThrow(/request to localhost:\d+ failed/);
      expect(hits).toEqual([]);
      expect(await readCursor(t.gateway.store, cursorName('untrusted'))).toBe(-1);
    });
  });
}
