/**
 * Logs are pino JSON and never carry a key, a certificate private part, or a raw payload — checked on
 * everything the gateway logs at trace level while serving accepted and refused tenders and telemetry.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchBytes, envelopeBytes, signerFromPem } from './support/envelopes.ts';
import { startTestGateway, type TestGateway } from './support/harness.ts';
import { httpsRequest } from './support/https-client.ts';

describe('logging', () => {
  const lines: string[] = [];
  let t: TestGateway;
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(
          ...chunk
            .toString('utf8')
            .split('\n')
            .filter((l) => l !== ''),
        );
        done();
      },
    });
    t = await startTestGateway({ name: 'pglite' }, undefined, undefined, pino({ level: 'trace' }, sink));
  });
  afterAll(async () => t?.stop());

  it('logs JSON lines without keys or payloads', async () => {
    const partner = t.partner('acme-tms');
    const vehicle = t.vehicle('TRK-001');
    const secretReference = 'REF-SHOULD-NOT-APPEAR-IN-LOGS';
    const start = new Date(Date.now() + 3_600_000);
    await httpsRequest(`${t.url.control}/v1/tenders`, {
      ca: partner.ca,
      cert: partner.chain,
      key: partner.key,
      body: JSON.stringify({
        reference: secretReference,
        origin: 'Dallas, TX',
        destination: 'Houston, TX',
        equipment: 'dry_van',
        weightKg: 1000,
        hazmat: false,
        pickupWindow: {
          start: start.toISOString(),
          end: new Date(start.getTime() + 3_600_000).toISOString(),
        },
        deliverBy: new Date(start.getTime() + 7_200_000).toISOString(),
      }),
    });
    await httpsRequest(`${t.url.control}/v1/tenders`, {
      ca: partner.ca,
      cert: partner.chain,
      key: partner.key,
      body: '{"__proto__":1}',
    });
    const payload = batchBytes('TRK-001');
    const envelope = envelopeBytes(signerFromPem(vehicle.key), 1n, payload);
    const post = (body: Uint8Array) =>
      httpsRequest(`${t.url.telemetry}/v1/telemetry`, {
        ca: vehicle.ca,
        cert: vehicle.chain,
        key: vehicle.key,
        body,
        contentType: 'application/x-protobuf',
      });
    expect((await post(envelope)).status).toBe(202);
    expect((await post(envelope)).status).toBe(409);
    await t.gateway.close();

    expect(lines.length).toBeGreaterThan(5);
    const forbidden = [
      'PRIVATE KEY',
      vehicle.key.split('\n')[1] as string,
      partner.key.split('\n')[1] as string,
      secretReference,
      Buffer.from(payload).toString('hex').slice(0, 32),
      Buffer.from(payload).toString('base64').slice(0, 24),
    ];
    for (const line of lines) {
      expect(() => JSON.parse(line)).not.toThrow();
      for (const f of forbidden) expect(line).not.toContain(f);
    }
    expect(lines.some((l) => l.includes('"code":"TELEMETRY_REPLAYED"'))).toBe(true);
  });
});
