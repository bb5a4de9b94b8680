/**
 * The EDI channel's limits against a real gateway (mTLS, bound tokens), on every engine:
 * - sandbox interchanges (ISA15 = T) per partner: beyond `edi.sandboxPerMinute` in 60 s, 429
 *   EDI_SANDBOX_RATE_LIMITED with Retry-After, audited once per minute, no booking read and no ISA13
 *   consumed; production traffic and other partners are not limited by it; allowed again after 60 s;
 * - the upload cap (maxFileBytes): a body over it is 413 REQUEST_BODY_TOO_LARGE, coded, and the cap is
 *   applied before the body is buffered — a declared Content-Length over it is answered while the body is
 *   still being sent, and so is a chunked body as soon as it passes the cap.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EDI_LIMITS } from '../../src/edi/limits.ts';
import { withTenant } from '../../src/tendering/tenant-scope.ts';
import { engines } from '../support/engines.ts';
import type { TenderApi } from '../tendering/support.ts';
import { nextIcn, startEdiApi, tender204, tokenFor, upload } from './support.ts';

const ship = () => `SH-${randomBytes(4).toString('hex').toUpperCase()}`;

interface Early {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Bytes of the body written when the answer arrived. */
  sent: number;
}

/**
 * POSTs an upload whose body is never finished: `chunks` of 1 MiB are written (as the socket drains) and
 * the request is left open. Only a server that refuses before reading the whole body answers at all.
 */
function openUpload(api: TenderApi, token: string, headers: Record<string, string>, chunks: number) {
  const creds = api.t.partner('acme-tms');
  return new Promise<Early>((resolve, reject) => {
    let sent = 0;
    const req = request(
      `${api.t.url.control}/v1/edi/interchanges`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/edi-x12', ...headers },
        ca: creds.ca,
        cert: creds.chain,
        key: creds.key,
        servername: 'localhost',
        agent: false,
        minVersion: 'TLSv1.3',
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(parts).toString('utf8'),
            sent,
          });
          req.destroy();
        });
      },
    );
    req.on('error', (error) => {
      // The server may close the connection after answering; only an error before any answer counts.
      if (sent === 0) reject(error);
    });
    const chunk = Buffer.alloc(1024 * 1024, 0x41);
    const pump = () => {
      while (sent < chunks * chunk.length) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      // Deliberately not ended.
    };
    req.flushHeaders();
    pump();
  });
}

for (const engine of engines()) {
  describe(`EDI channel limits on ${engine.name}`, () => {
    let api: TenderApi;
    const perMinute = 2;

    beforeAll(async () => {
      api = await startEdiApi(engine, (config) => {
        config.edi.sandboxPerMinute = perMinute;
      });
    });
    afterAll(async () => {
      await api?.stop();
    });

    it('limits sandbox interchanges per partner: 429 with Retry-After, audited once a minute', async () => {
      const fromIndex = await api.t.auditSize();
      const acceptedIcns: string[] = [];
      for (let i = 0; i < perMinute; i += 1) {
        acceptedIcns.push(nextIcn());
        const ok = await upload(
          api,
          'acme-tms',
          tender204({ shipmentId: ship(), icn: acceptedIcns[i] as string, usage: 'T' }),
        );
        expect(ok.status, ok.text).toBe(200);
      }
      const limitedIcn = nextIcn();
      const limited = await upload(
        api,
        'acme-tms',
        tender204({ shipmentId: ship(), icn: limitedIcn, usage: 'T' }),
      );
      expect(limited.status).toBe(429);
      expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(limited.json()).toMatchObject({ code: 'EDI_SANDBOX_RATE_LIMITED', status: 429 });
      const retryAfter = Number(limited.headers['retry-after']);
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      const again = await upload(
        api,
        'acme-tms',
        tender204({ shipmentId: ship(), icn: nextIcn(), usage: 'T' }),
      );
      expect(again.status).toBe(429);

      // Production traffic and another partner's sandbox are not limited by it.
      const production = await upload(api, 'acme-tms', tender204({ shipmentId: ship(), icn: nextIcn() }));
      expect(production.status, production.text).toBe(200);
      const globex = await upload(
        api,
        'globex-tms',
        tender204({ shipmentId: ship(), icn: nextIcn(), usage: 'T', sender: 'GLOBEXTMS' }),
      );
      expect(globex.status, globex.text).toBe(200);

      const refusals = (await api.t.auditSince(fromIndex)).filter(
        (e) =>
          e.class === 'edi.interchange.refused' &&
          (e.reasons as string[]).includes('EDI_SANDBOX_RATE_LIMITED'),
      );
      expect(refusals).toHaveLength(1);
      expect(refusals[0]).toMatchObject({ actor: { kind: 'partner', id: 'acme-tms' }, outcome: 'rejected' });
      // A refused interchange records nothing: its ISA13 is still free.
      const recorded = (icn: string) =>
        withTenant(api.t.gateway.store, 'acme', (tx) =>
          tx.query('SELECT 1 FROM edi_interchanges WHERE partner_id = $1 AND control_number = $2', [
            'acme-tms',
            icn,
          ]),
        );
      expect(await recorded(acceptedIcns[0] as string)).toHaveLength(1);
      expect(await recorded(limitedIcn)).toEqual([]);

      // A minute later (the gateway's clock), the window has passed.
      api.t.shiftClock(61_000);
      try {
        const later = await upload(
          api,
          'acme-tms',
          tender204({ shipmentId: ship(), icn: limitedIcn, usage: 'T' }),
        );
        expect(later.status, later.text).toBe(200);
      } finally {
        api.t.shiftClock(0);
      }
    });

    it('refuses a body over the cap with a coded 413', async () => {
      const answer = await upload(api, 'acme-tms', Buffer.alloc(DEFAULT_EDI_LIMITS.maxFileBytes + 1, 0x41));
      expect(answer.status).toBe(413);
      expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(answer.json()).toMatchObject({ code: 'REQUEST_BODY_TOO_LARGE', status: 413 });
    });

    it('applies the cap from Content-Length before reading the body', async () => {
      const token = await tokenFor(api, 'acme-tms');
      const early = await openUpload(
        api,
        token,
        { 'content-length': String(DEFAULT_EDI_LIMITS.maxFileBytes * 8) },
        1,
      );
      expect(early.status).toBe(413);
      expect(JSON.parse(early.body)).toMatchObject({ code: 'REQUEST_BODY_TOO_LARGE' });
    });

    it('stops reading a chunked body once it passes the cap', async () => {
      const token = await tokenFor(api, 'acme-tms');
      const mib = Math.ceil(DEFAULT_EDI_LIMITS.maxFileBytes / (1024 * 1024));
      // The request is never ended: an answer means the server stopped at the cap, not at the end.
      const early = await openUpload(api, token, { 'transfer-encoding': 'chunked' }, mib + 2);
      expect(early.status).toBe(413);
      expect(JSON.parse(early.body)).toMatchObject({ code: 'REQUEST_BODY_TOO_LARGE' });
    });
  });
}
