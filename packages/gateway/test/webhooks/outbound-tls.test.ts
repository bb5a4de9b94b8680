/**
 * The outbound TLS policy (http/outbound-tls.ts) against real peers, for every client that uses it —
 * webhook delivery (deliver.ts), the SIEM HTTPS sink and the syslog-over-TLS sink:
 *  - `openssl s_server` offering ONLY a CBC suite (ECDHE-ECDSA-AES128-SHA256) under TLS 1.2 is refused
 *    (Node's default cipher list would connect to it: the test asserts that too, so it proves the policy
 *    and not the environment), and the server logs "no shared cipher";
 *  - a TLS 1.2-only receiver with an ECDHE + AES-GCM suite is still accepted (partners without 1.3);
 *  - the policy string holds AEAD suites only.
 * Keys and certificates are made here by openssl.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpsSink } from '../../src/audit/export/https-sink.ts';
import { SyslogTlsSink } from '../../src/audit/export/syslog-tls-sink.ts';
import { OUTBOUND_CIPHERS } from '../../src/http/outbound-tls.ts';
import { deliverOnce } from '../../src/webhooks/deliver.ts';
import { tenderDecidedRecord } from '../support/export-record.ts';
import { selfSignedCertificate } from '../support/self-signed.ts';
import { freePort } from '../support/wait.ts';

const CBC_SUITE = 'ECDHE-ECDSA-AES128-SHA256';
const GCM_SUITE = 'ECDHE-ECDSA-AES128-GCM-SHA256';

const record = tenderDecidedRecord(1);

describe('outbound TLS: ECDHE + AEAD only under TLS 1.2', () => {
  let dir: string;
  let ca: string;
  let sServer: ChildProcess;
  let sServerLog = '';
  let cbcPort: number;
  let https: HttpsServer;
  let httpsPort: number;
  let tls: TlsServer;
  let tlsPort: number;
  const received: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fleetgate-outbound-tls-'));
    const made = await selfSignedCertificate(dir, '/CN=localhost', [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]);
    expect(made.code, made.out).toBe(0);
    ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const key = readFileSync(join(dir, 'key.pem'), 'utf8');

    cbcPort = await freePort();
    // stdin stays open (a pipe): s_server would otherwise treat EOF on stdin as the end of a session.
    sServer = spawn(
      'openssl',
      [
        's_server',
        '-accept',
        `127.0.0.1:${cbcPort}`,
        '-cert',
        join(dir, 'cert.pem'),
        '-key',
        join(dir, 'key.pem'),
        '-tls1_2',
        '-cipher',
        CBC_SUITE,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    await new Promise<void>((resolve, reject) => {
      const onData = (c: Buffer) => {
        sServerLog += c.toString('utf8');
        if (sServerLog.includes('ACCEPT')) resolve();
      };
      sServer.stdout?.on('data', onData);
      sServer.stderr?.on('data', onData);
      sServer.on('exit', (code) => reject(new Error(`s_server exited ${code}: ${sServerLog}`)));
    });

    const aeadOnly12 = {
      key,
      cert: ca,
      minVersion: 'TLSv1.2' as const,
      maxVersion: 'TLSv1.2' as const,
      ciphers: GCM_SUITE,
    };
    https = createHttpsServer(aeadOnly12, (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    httpsPort = (https.address() as { port: number }).port;
    tls = createTlsServer(aeadOnly12, (socket) => {
      socket.on('data', (c: Buffer) => received.push(c.toString('utf8')));
      socket.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    tlsPort = (tls.address() as { port: number }).port;
  }, 30_000);

  afterAll(async () => {
    sServer?.kill('SIGTERM');
    await new Promise<void>((resolve) => https?.close(() => resolve()));
    await new Promise<void>((resolve) => tls?.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('the policy offers AEAD suites only', () => {
    const suites = OUTBOUND_CIPHERS.split(':');
    expect(suites.length).toBeGreaterThanOrEqual(9);
    for (const s of suites) {
      expect({ s, aead: /GCM|CHACHA20[-_]POLY1305/.test(s) }).toEqual({ s, aead: true });
      expect({ s, ok: s.startsWith('TLS_') || s.startsWith('ECDHE-') }).toEqual({ s, ok: true });
    }
  });

  it("Node's default cipher list would have connected to the CBC-only server", async () => {
    const cipher = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: cbcPort, ca, minVersion: 'TLSv1.2' });
      socket.on('secureConnect', () => {
        resolve(socket.getCipher().name);
        socket.destroy();
      });
      socket.on('error', reject);
    });
    expect(cipher).toBe(CBC_SUITE);
  });

  it('a webhook to a CBC-only receiver fails as WEBHOOK_TARGET_TLS; to a TLS 1.2 AEAD receiver it is delivered', async () => {
    const options = { timeoutMs: 5_000, allowPrivateAddresses: true, ca: [ca] };
    const refused = await deliverOnce(new URL(`https://127.0.0.1:${cbcPort}/hooks`), '{}', {}, options);
    expect(refused).toMatchObject({ ok: false, code: 'WEBHOOK_TARGET_TLS', statusCode: null });
    const delivered = await deliverOnce(new URL(`https://127.0.0.1:${httpsPort}/hooks`), '{}', {}, options);
    expect(delivered).toMatchObject({ ok: true, statusCode: 204 });
    expect(sServerLog).toMatch(/no shared cipher/);
  });

  it('the HTTPS sink refuses the CBC-only receiver and delivers to the AEAD one', async () => {
    const sink = (port: number) =>
      new HttpsSink({
        name: 'lake',
        url: `https://127.0.0.1:${port}/v1/ocsf`,
        format: 'ndjson',
        timeoutMs: 5_000,
        ca,
      });
    const failure = await sink(cbcPort)
      .deliver([record], new AbortController().signal)
      .then(
        () => undefined,
        (error: unknown) => error as Error & { cause?: { code?: string } },
      );
    expect(failure?.name).toBe('ExportDeliveryError');
    expect(String(failure?.cause?.code)).toMatch(/^(ERR_SSL_|EPROTO$)/);
    await expect(sink(httpsPort).deliver([record], new AbortController().signal)).resolves.toBeUndefined();
  });

  it('the syslog sink refuses the CBC-only collector and delivers to the AEAD one', async () => {
    const sink = (port: number) =>
      new SyslogTlsSink({ name: 'soc', host: '127.0.0.1', port, ca, servername: 'localhost', settleMs: 50 });
    const cbc = sink(cbcPort);
    const failure = await cbc.deliver([record], new AbortController().signal).then(
      () => undefined,
      (error: unknown) => error as Error & { cause?: { code?: string } },
    );
    expect(failure?.name).toBe('ExportDeliveryError');
    expect(String(failure?.cause?.code)).toMatch(/^(ERR_SSL_|EPROTO$)/);
    await cbc.close();
    const good = sink(tlsPort);
    await expect(good.deliver([record], new AbortController().signal)).resolves.toBeUndefined();
    await good.close();
    expect(received.join('')).toContain('fleetgate.test/audit/1');
  });
});
