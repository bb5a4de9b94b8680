/**
 * SIEM export over syslog/TLS (RFC 5425) to a real TLS collector written here with node:tls, using a
 * server certificate and CA made at test time (the harness's fresh PKI) and requiring a client
 * certificate (the sink's optional mutual TLS). The collector parses RFC 5425 octet-counted frames and
 * the RFC 5424 header; every committed entry arrives as one message whose MSG is the OCSF event and whose
 * structured data names the index. The collector then drops the connection: the sink reconnects (with
 * backoff) and later entries arrive. A collector with a certificate from another CA is refused.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.ts';
import { cursorName, ExportRunner } from '../../src/audit/export/runner.ts';
import { SyslogTlsSink } from '../../src/audit/export/syslog-tls-sink.ts';
import { readCursor } from '../../src/tendering/lifecycle-feed.ts';
import { engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { selfSignedCertificate } from '../support/self-signed.ts';

interface Received {
  pri: number;
  time: string;
  hostname: string;
  appName: string;
  msgId: string;
  index: number;
  origin: string;
  event: { class_uid: number; metadata: { uid: string; sequence: number }; severity_id: number };
}

const HEADER =
  /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) \[fleetgate@32473 index="(\d+)" origin="([^"]*)"\] \uFEFF([\s\S]*)$/;

/** A minimal RFC 5425 collector: octet-counted frames, each an RFC 5424 message. */
function collector(tls: { key: string; cert: string; ca: string }) {
  const messages: Received[] = [];
  const sockets = new Set<TLSSocket>();
  const protocols: string[] = [];
  const clientSubjects: string[] = [];
  const errors: string[] = [];
  const server: Server = createServer(
    { ...tls, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
    (socket) => {
      sockets.add(socket);
      protocols.push(socket.getProtocol() ?? '');
      clientSubjects.push(socket.getPeerX509Certificate()?.subject ?? '');
      let buf = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        for (;;) {
          const sp = buf.indexOf(0x20);
          if (sp < 0) break;
          const lenText = buf.subarray(0, sp).toString('ascii');
          if (!/^[1-9]\d{0,8}$/.test(lenText)) {
            errors.push(`bad MSG-LEN ${JSON.stringify(lenText)}`);
            socket.destroy();
            return;
          }
          const len = Number(lenText);
          if (buf.length < sp + 1 + len) break;
          const msg = buf.subarray(sp + 1, sp + 1 + len).toString('utf8');
          buf = buf.subarray(sp + 1 + len);
          const m = HEADER.exec(msg);
          if (m === null) {
            errors.push(`not RFC 5424: ${msg.slice(0, 80)}`);
            continue;
          }
          messages.push({
            pri: Number(m[1]),
            time: m[2] as string,
            hostname: m[3] as string,
            appName: m[4] as string,
            msgId: m[6] as string,
            index: Number(m[7]),
            origin: m[8] as string,
            event: JSON.parse(m[9] as string) as Received['event'],
          });
        }
      });
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    },
  );
  return { server, messages, sockets, protocols, clientSubjects, errors };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const event = (i: number): AuditEvent => ({
  class: 'auth.client.authentication_failed',
  actor: { kind: 'partner', id: 'acme-tms' },
  subject: { kind: 'client', id: 'acme-tms' },
  outcome: 'rejected',
  reasons: ['INVALID_CLIENT'],
  details: { attempt: i },
});

for (const engine of engines()) {
  describe(`SIEM export over syslog/TLS on ${engine.name}`, () => {
    let t: TestGateway;
    let c: ReturnType<typeof collector>;
    let port: number;
    let ca: string;
    const pki = (...p: string[]) => readFileSync(join(t.dataDir, 'pki', ...p), 'utf8');

    beforeAll(async () => {
      t = await startTestGateway(engine);
      ca = pki('ca.pem');
      c = collector({ key: pki('server', 'key.pem'), cert: pki('server', 'chain.pem'), ca });
      port = await listen(c.server);
      await Promise.all(Array.from({ length: 120 }, (_, i) => t.gateway.audit.append(event(i))));
    });
    afterAll(async () => {
      for (const s of c?.sockets ?? []) s.destroy();
      await new Promise((r) => c?.server.close(r));
      await t?.stop();
    });

    it('delivers every entry as an RFC 5424 message in an octet-counted frame, and reconnects', async () => {
      const { store, audit } = t.gateway;
      const partner = t.partner('acme-tms');
      const sink = new SyslogTlsSink({
        name: 'collector',
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ca,
        cert: partner.chain,
        key: partner.key,
        hostname: 'gw-1.example',
      });
      const runner = new ExportRunner({
        store,
        sink,
        origin: audit.origin,
        batchSize: 50,
        pollIntervalMs: 30,
        retryMinMs: 20,
        retryMaxMs: 200,
        now: () => new Date(),
      });
      runner.start();
      try {
        const first = await audit.size();
        await until(() => c.messages.length >= first, `${first} messages`);
        expect(c.errors).toEqual([]);
        expect(c.protocols[0]).toBe('TLSv1.3');
        expect(c.clientSubjects[0]).toContain(
          new X509Certificate(partner.cert).subject.split('\n')[0] as string,
        );
        const byIndex = new Map(c.messages.map((m) => [m.index, m]));
        for (let i = 0; i < first; i++) {
          const m = byIndex.get(i);
          expect(m, `index ${i}`).toBeDefined();
          expect(m?.event.metadata).toMatchObject({ uid: `${audit.origin}/${i}`, sequence: i });
          expect(m?.origin).toBe(audit.origin);
          expect(m?.hostname).toBe('gw-1.example');
          expect(m?.appName).toBe('fleetgate');
          expect(m?.msgId).toBe(`ocsf-${m?.event.class_uid}`);
          expect(Number.isNaN(Date.parse(m?.time ?? ''))).toBe(false);
          expect(Math.floor((m?.pri ?? 0) / 8)).toBe(13); // facility: log audit
        }
        const failed = c.messages.find((m) => m.event.class_uid === 3002);
        expect((failed?.pri ?? 0) % 8).toBe(4); // Medium → warning
        // The cursor moves once the last batch's settle window passed with the connection up.
        for (let i = 0; i < 200 && (await readCursor(store, cursorName('collector'))) < first - 1; i++)
          await new Promise((r) => setTimeout(r, 20));
        expect(await readCursor(store, cursorName('collector'))).toBeGreaterThanOrEqual(first - 1);

        // The collector drops the connection; entries committed afterwards still arrive.
        for (const s of c.sockets) s.destroy();
        await new Promise((r) => setTimeout(r, 200));
        await Promise.all(Array.from({ length: 30 }, (_, i) => audit.append(event(500 + i))));
        const second = await audit.size();
        await until(() => c.messages.some((m) => m.index === second - 1), 'the entries after the drop');
        expect(c.protocols.length).toBeGreaterThanOrEqual(2);
        const after = new Set(c.messages.map((m) => m.index));
        for (let i = first; i < second; i++) expect(after.has(i), `index ${i}`).toBe(true);
      } finally {
        await runner.stop();
      }
    });

    it('refuses a collector whose certificate does not chain to the configured CA', async () => {
      // Another CA, made now with openssl: same name as nothing the collector presents chains to it.
      const dir = mkdtempSync(join(tmpdir(), 'fleetgate-other-ca-'));
      try {
        const made = await selfSignedCertificate(dir, '/CN=Another Root');
        expect(made.code).toBe(0);
        const sink = new SyslogTlsSink({
          name: 'wrong-ca',
          host: '127.0.0.1',
          port,
          servername: 'localhost',
          ca: readFileSync(made.certPath, 'utf8'),
        });
        const runner = new ExportRunner({
          store: t.gateway.store,
          sink,
          origin: t.gateway.audit.origin,
          batchSize: 10,
          pollIntervalMs: 30,
          retryMinMs: 20,
          retryMaxMs: 200,
          now: () => new Date(),
        });
        await expect(runner.step()).rejects.toThrow(/cannot connect/);
        expect(await readCursor(t.gateway.store, cursorName('wrong-ca'))).toBe(-1);
        await sink.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
