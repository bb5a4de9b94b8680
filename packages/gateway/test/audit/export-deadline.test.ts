/**
 * SIEM sinks against misbehaving real TLS peers (certificate made here by openssl):
 *  - HTTPS sink: `timeoutMs` is a deadline for the whole exchange. A receiver that trickles its header
 *    one byte at a time — well inside any idle timeout — no longer holds the sink: the batch fails with
 *    ExportDeliveryError (an idle timeout alone would wait for ever: this test would time out);
 *  - syslog over TLS: a collector that resets the connection as the batch arrives fails the batch when the
 *    sink waits its settle window (so the runner sends it again); with no window the same batch counts as
 *    delivered although the collector dropped it — the at-most-once limit docs/audit.md "SIEM export"
 *    states for RFC 5425.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpsSink } from '../../src/audit/export/https-sink.ts';
import { SyslogTlsSink } from '../../src/audit/export/syslog-tls-sink.ts';
import { tenderDecidedRecord } from '../support/export-record.ts';
import { selfSignedCertificate } from '../support/self-signed.ts';

const record = tenderDecidedRecord(7);

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

describe('SIEM sinks against misbehaving peers', () => {
  let dir: string;
  let ca: string;
  let key: string;
  const servers: Server[] = [];
  const sockets = new Set<TLSSocket>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fleetgate-export-deadline-'));
    const made = await selfSignedCertificate(dir, '/CN=localhost', [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]);
    expect(made.code, made.out).toBe(0);
    ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
    key = readFileSync(join(dir, 'key.pem'), 'utf8');
  }, 30_000);

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    rmSync(dir, { recursive: true, force: true });
  });

  const server = (onSocket: (socket: TLSSocket) => void): Server => {
    const s = createServer({ key, cert: ca }, (socket) => {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => sockets.delete(socket));
      onSocket(socket);
    });
    servers.push(s);
    return s;
  };

  it('the HTTPS sink gives up on a receiver that trickles its answer, at the deadline', async () => {
    let trickled = 0;
    const port = await listen(
      server((socket) => {
        socket.once('data', () => {
          socket.write('HTTP/1.1 200 OK\r\nx-slow: ');
          const timer = setInterval(() => {
            if (socket.destroyed) return clearInterval(timer);
            trickled += 1;
            socket.write('a');
          }, 40);
          socket.on('close', () => clearInterval(timer));
        });
      }),
    );
    const sink = new HttpsSink({
      name: 'lake',
      url: `https://127.0.0.1:${port}/v1/ocsf`,
      format: 'ndjson',
      timeoutMs: 600,
      ca,
    });
    const failure = await sink.deliver([record], new AbortController().signal).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(failure?.name).toBe('ExportDeliveryError');
    expect(failure?.message).toBe(`https sink lake: request to 127.0.0.1:${port} failed`);
    // The receiver was alive and sending all along: only an overall deadline ends this.
    expect(trickled).toBeGreaterThanOrEqual(3);
  }, 15_000);

  it('syslog: a collector that resets as the batch arrives fails it inside the settle window', async () => {
    let batches = 0;
    const port = await listen(
      server((socket) => {
        socket.once('data', () => {
          batches += 1;
          socket.destroy(); // a collector crashing on (or after) the batch: nothing acknowledged
        });
      }),
    );
    const waiting = new SyslogTlsSink({
      name: 'soc',
      host: '127.0.0.1',
      port,
      ca,
      servername: 'localhost',
      settleMs: 2_000,
    });
    const failure = await waiting.deliver([record], new AbortController().signal).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(failure?.name).toBe('ExportDeliveryError');
    expect(failure?.message).toBe('syslog sink soc: write failed');
    await waiting.close();

    // Without the window the write callback alone "acknowledges": the batch the collector dropped counts
    // as delivered. That is RFC 5425's at-most-once limit, which the window narrows but cannot remove.
    const trusting = new SyslogTlsSink({
      name: 'soc',
      host: '127.0.0.1',
      port,
      ca,
      servername: 'localhost',
      settleMs: 0,
    });
    await expect(trusting.deliver([record], new AbortController().signal)).resolves.toBeUndefined();
    // The collector did get the second batch (and dropped it, as the first).
    for (let i = 0; i < 100 && batches < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(batches).toBe(2);
    await trusting.close();
  }, 15_000);

  it('syslog: a collector that keeps the connection up gets the batch acknowledged after the window', async () => {
    let received = '';
    const port = await listen(
      server((socket) => {
        socket.on('data', (c: Buffer) => {
          received += c.toString('utf8');
        });
      }),
    );
    const sink = new SyslogTlsSink({ name: 'soc', host: '127.0.0.1', port, ca, servername: 'localhost' });
    await expect(sink.deliver([record], new AbortController().signal)).resolves.toBeUndefined();
    await sink.close();
    expect(received).toContain('index="7"');
  });
});
