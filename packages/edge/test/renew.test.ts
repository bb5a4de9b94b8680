/**
 * Renewal timing and the client switch, without a network (the full round trip against a real gateway
 * is packages/gateway/test/enrollment/edge-sdk.test.ts): renewal is due at the configured fraction of
 * the lifetime, always inside it; RotatingEdgeClient sends new records through the new client and
 * drains the old one before closing it.
 */
import { generateKeyPairSync } from 'node:crypto';
import { keyIdOf } from '@fleetgate/core/signature/ed25519';
import { DrivingState } from '@fleetgate/protocol/telemetry';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EdgeClient } from '../src/client.ts';
import type { DeviceCredentials } from '../src/enroll.ts';
import { DEFAULT_RENEW_AT_FRACTION, RotatingEdgeClient, renewalDueAt } from '../src/renew.ts';
import type { SendResult } from '../src/transport/https.ts';

describe('renewalDueAt', () => {
  it('defaults to two thirds of the lifetime', () => {
    const due = renewalDueAt(new Date(0), new Date(90 * 86_400_000));
    expect(due.getTime()).toBe(60 * 86_400_000);
    expect(DEFAULT_RENEW_AT_FRACTION).toBeCloseTo(2 / 3);
  });

  it('always falls inside the validity window and grows with the fraction (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        fc.integer({ min: 1, max: 10 * 365 * 86_400_000 }),
        fc.double({ min: 0.01, max: 0.99, noNaN: true }),
        fc.double({ min: 0.01, max: 0.99, noNaN: true }),
        (start, length, f1, f2) => {
          const nb = new Date(start);
          const na = new Date(start + length);
          const d1 = renewalDueAt(nb, na, Math.min(f1, f2)).getTime();
          const d2 = renewalDueAt(nb, na, Math.max(f1, f2)).getTime();
          return start <= d1 && d1 <= d2 && d2 < start + length;
        },
      ),
    );
  });

  it('refuses a fraction outside (0, 1)', () => {
    for (const f of [0, 1, -0.5, 1.5, Number.NaN]) {
      expect(() => renewalDueAt(new Date(0), new Date(1000), f)).toThrow(
        expect.objectContaining({ code: 'EDGE_INVALID_ARGUMENT' }),
      );
    }
  });
});

class RecordingTransport {
  readonly sent: Uint8Array[] = [];
  closed = false;
  async send(envelope: Uint8Array): Promise<SendResult> {
    this.sent.push(envelope);
    return { status: 202 };
  }
  close(): void {
    this.closed = true;
  }
}

function fakeCredentials(vehicleId: string): DeviceCredentials {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    vehicleId,
    privateKey,
    keyId: keyIdOf(publicKey),
    keyPem: '',
    certificatePem: '',
    chainPem: '',
    serialNumber: '01',
    notBefore: new Date(0),
    notAfter: new Date(1),
  };
}

describe('RotatingEdgeClient', () => {
  it('drains the old client under the old key, then closes it; new records use the new client', async () => {
    let n = 0n;
    const counter = { next: () => ++n };
    const transports: RecordingTransport[] = [];
    const keyIds: string[] = [];
    const client = new RotatingEdgeClient(fakeCredentials('TRK-7'), (c) => {
      const transport = new RecordingTransport();
      transports.push(transport);
      keyIds.push(c.keyId);
      return new EdgeClient({
        vehicleId: c.vehicleId,
        privateKey: c.privateKey,
        keyId: c.keyId,
        counter,
        transport,
      });
    });
    const record = {
      timeUnixMs: BigInt(Date.now()),
      latitude: 1,
      longitude: 2,
      speedMps: 3,
      headingDeg: 4,
      odometerM: 5,
      drivingState: DrivingState.AUTONOMOUS,
      faults: [],
    };
    client.record(record);
    client.record(record);
    const drained = await client.switchTo(fakeCredentials('TRK-7'));
    expect(drained.map((r) => r.outcome)).toEqual(['accepted']);
    expect(transports[0]?.sent).toHaveLength(1);
    expect(transports[0]?.closed).toBe(true);
    client.record(record);
    expect(client.pending).toBe(1);
    expect((await client.flush()).outcome).toBe('accepted');
    expect(transports[1]?.sent).toHaveLength(1);
    expect(keyIds[0]).not.toBe(keyIds[1]);
    client.close();
    expect(transports[1]?.closed).toBe(true);
  });
});
