/**
 * Per-device limits on the real telemetry listener, on every store engine: the records/s and bytes/s
 * token buckets answer 429 REQUEST_RATE_LIMITED with Retry-After, take nothing from a refused batch
 * (its counter stays usable), and leave one record per vehicle, limit and window (with the count of
 * refusals) rather than one per request; the connection cap answers a request on an extra connection
 * with 429 and closes that connection, over HTTP/1.1 and HTTP/2, and frees the slot when a connection
 * closes. The server clock is injected, so refill is driven without sleeping.
 */

import { connect as http2Connect } from 'node:http2';
import { Agent, request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/engines.ts';
import { batchBytes, envelopeBytes, signerFromPem } from '../support/envelopes.ts';
import { type Credentials, startTestGateway, type TestGateway } from '../support/harness.ts';
import { countRows, postTelemetry } from './support.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  code: unknown;
}

function postWith(
  t: TestGateway,
  agent: Agent,
  body: Uint8Array,
): Promise<Answer & { socketClosed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${t.url.telemetry}/v1/telemetry`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/x-protobuf', 'content-length': body.byteLength },
      },
      (res) => {
        const socketClosed = new Promise<void>((done) => {
          if (res.socket.destroyed) done();
          else res.socket.once('close', () => done());
        });
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            code: JSON.parse(text).code,
            socketClosed,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function agentFor(creds: Credentials): Agent {
  return new Agent({
    keepAlive: true,
    maxSockets: 1,
    ca: creds.ca,
    cert: creds.chain,
    key: creds.key,
    minVersion: 'TLSv1.3',
  });
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i += 1) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
}

for (const engine of engines()) {
  describe(`telemetry limits on ${engine.name}`, () => {
    let t: TestGateway;
    let offsetMs = 0;
    const clock = (): Date => new Date(Date.now() + offsetMs);

    beforeAll(async () => {
      t = await startTestGateway(
        engine,
        (c) => {
          c.telemetryIngest.rateLimits.records = { burst: 10, perSecond: 1 };
          c.telemetryIngest.rateLimits.bytes = { burst: 2048, perSecond: 100 };
          c.telemetryIngest.maxConnectionsPerDevice = 1;
        },
        clock,
      );
    });
    afterAll(async () => t?.stop());

    it('refuses a device over its records/s bucket with 429 and Retry-After, and records the refusals coalesced', async () => {
      const trk1 = t.vehicle('TRK-001');
      const signer = signerFromPem(trk1.key);
      const sentAt = () => clock().getTime();
      expect(
        (
          await postTelemetry(
            t,
            trk1,
            envelopeBytes(signer, 1n, batchBytes('TRK-001', { records: 10, sentAt: sentAt() })),
          )
        ).status,
      ).toBe(202);
      const refused = await postTelemetry(
        t,
        trk1,
        envelopeBytes(signer, 2n, batchBytes('TRK-001', { records: 2, sentAt: sentAt() })),
      );
      expect(refused.status).toBe(429);
      expect(refused.json().code).toBe('REQUEST_RATE_LIMITED');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(2);
      for (const c of [3n, 4n, 5n]) {
        const again = await postTelemetry(
          t,
          trk1,
          envelopeBytes(signer, c, batchBytes('TRK-001', { records: 2, sentAt: sentAt() })),
        );
        expect(again.status).toBe(429);
      }
      // One row for the first refusal of the window; the next three are counted, not written one by one.
      const rows = () =>
        t.gateway.store.query<{ detail: string; audit_index: string }>(
          "SELECT detail, audit_index FROM telemetry_rejections WHERE vehicle_id = 'TRK-001' AND code = 'REQUEST_RATE_LIMITED' ORDER BY id",
        );
      expect((await rows()).map((r) => r.detail)).toEqual(['1 request(s) over the records limit']);
      // Ten seconds later the bucket is full again; the refused counter 2 was never consumed.
      offsetMs += 10_000;
      expect(
        (
          await postTelemetry(
            t,
            trk1,
            envelopeBytes(signer, 2n, batchBytes('TRK-001', { records: 2, sentAt: sentAt() })),
          )
        ).status,
      ).toBe(202);
      await t.gateway.telemetryIngest.refusals.flush();
      const all = await rows();
      expect(all.map((r) => r.detail)).toEqual([
        '1 request(s) over the records limit',
        '3 request(s) over the records limit',
      ]);
      const entries = await t.gateway.store.query<{ entry: string }>(
        'SELECT entry FROM audit_entries WHERE idx = ANY($1::int8[])',
        [all.map((r) => r.audit_index)],
      );
      expect(
        entries
          .map((e) => JSON.parse(e.entry))
          .map((e) => [e.class, e.reasons, e.details.limit, e.details.attempts]),
      ).toEqual([
        ['telemetry.rate-limited', ['REQUEST_RATE_LIMITED'], 'records', 1],
        ['telemetry.rate-limited', ['REQUEST_RATE_LIMITED'], 'records', 3],
      ]);
      expect(await countRows(t, 'telemetry_batches', 'TRK-001')).toBe(2);
    });

    it('refuses a device over its bytes/s bucket before parsing anything', async () => {
      const trk3 = t.vehicle('TRK-003');
      const signer = signerFromPem(trk3.key);
      // A garbage body still costs its bytes: the bucket is the gate in front of the parser.
      const garbage = new Uint8Array(2000).fill(0xff);
      const first = await postTelemetry(t, trk3, garbage);
      expect(first.json().code).toBe('TELEMETRY_MALFORMED');
      const second = await postTelemetry(
        t,
        trk3,
        envelopeBytes(signer, 1n, batchBytes('TRK-003', { sentAt: clock().getTime() })),
      );
      expect(second.status).toBe(429);
      expect(second.json().code).toBe('REQUEST_RATE_LIMITED');
      expect(Number(second.headers['retry-after'])).toBeGreaterThan(1);
      const [entry] = await t.gateway.store.query<{ entry: string }>(
        "SELECT entry FROM audit_entries WHERE entry LIKE '%telemetry.rate-limited%' AND entry LIKE '%TRK-003%'",
      );
      expect(JSON.parse(entry?.entry ?? '{}').details).toEqual({ limit: 'bytes', attempts: 1 });
    });

    it('caps live connections per device over HTTP/1.1: 429 on the extra one, which is closed', async () => {
      const trk2 = t.vehicle('TRK-002');
      const signer = signerFromPem(trk2.key);
      const body = (c: bigint) =>
        envelopeBytes(signer, c, batchBytes('TRK-002', { records: 1, sentAt: clock().getTime() }));
      const first = agentFor(trk2);
      const second = agentFor(trk2);
      try {
        expect((await postWith(t, first, body(1n))).status).toBe(202);
        const extra = await postWith(t, second, body(2n));
        expect([extra.status, extra.code, extra.headers.connection]).toEqual([
          429,
          'REQUEST_RATE_LIMITED',
          'close',
        ]);
        expect(Number(extra.headers['retry-after'])).toBeGreaterThan(0);
        await extra.socketClosed;
        // The admitted connection keeps working; another vehicle is not affected.
        expect((await postWith(t, first, body(3n))).status).toBe(202);
        expect(t.gateway.telemetryIngest.connections.count('TRK-002')).toBe(1);
        // Closing the admitted connection frees the slot.
        first.destroy();
        await until(() => t.gateway.telemetryIngest.connections.count('TRK-002') === 0);
        expect((await postWith(t, second, body(2n))).status).toBe(202);
      } finally {
        first.destroy();
        second.destroy();
      }
    });

    it('caps live connections per device over HTTP/2: the extra session gets 429 and is closed', async () => {
      const trk2 = t.vehicle('TRK-002');
      const signer = signerFromPem(trk2.key);
      const open = () =>
        http2Connect(t.url.telemetry, {
          ca: trk2.ca,
          cert: trk2.chain,
          key: trk2.key,
          minVersion: 'TLSv1.3',
        });
      const post = (session: ReturnType<typeof open>, c: bigint): Promise<Answer> =>
        new Promise((resolve, reject) => {
          const req = session.request({
            ':method': 'POST',
            ':path': '/v1/telemetry',
            'content-type': 'application/x-protobuf',
          });
          const chunks: Buffer[] = [];
          let status = 0;
          let headers: Answer['headers'] = {};
          req.on('response', (h) => {
            status = Number(h[':status']);
            headers = h as Answer['headers'];
          });
          req.on('data', (chunk: Buffer) => chunks.push(chunk));
          req.on('end', () =>
            resolve({ status, headers, code: JSON.parse(Buffer.concat(chunks).toString()).code }),
          );
          req.on('error', reject);
          req.end(envelopeBytes(signer, c, batchBytes('TRK-002', { records: 1, sentAt: clock().getTime() })));
        });
      // The previous test's HTTP/1.1 connections are gone first.
      await until(() => t.gateway.telemetryIngest.connections.count('TRK-002') === 0);
      const a = open();
      const b = open();
      try {
        expect((await post(a, 100n)).status).toBe(202);
        const closed = new Promise<void>((resolve) => b.once('close', () => resolve()));
        const extra = await post(b, 101n);
        expect([extra.status, extra.code]).toEqual([429, 'REQUEST_RATE_LIMITED']);
        expect(Number(extra.headers['retry-after'])).toBeGreaterThan(0);
        await closed;
        expect((await post(a, 102n)).status).toBe(202);
      } finally {
        a.close();
        b.destroy();
      }
    });
  });
}
