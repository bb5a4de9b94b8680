/**
 * Time and multi-node behaviour over the real listener. The clock-skew flag (every engine, server clock
 * injected): a signed batch beyond the warning threshold but within the refusal limit is accepted and
 * raises the vehicle's flag once — one vehicle_flags transition, one audit entry, one metric count —
 * however many skewed batches follow; it clears, once, when the clock comes back within half the
 * threshold; batches beyond the limit, in the past or the future, are still refused. Two gateway nodes on
 * one PostgreSQL schema (PostgreSQL only): the same envelope, or two envelopes with one counter, sent to
 * both at once is accepted by exactly one; the flag is still raised once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAuditVerifierKeys } from '../../src/audit/keys.ts';
import { verifyAuditLog } from '../../src/audit/verify.ts';
import { engines } from '../support/engines.ts';
import { batchBytes, envelopeBytes, signerFromPem } from '../support/envelopes.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { postTelemetry } from './support.ts';

const flagEntries = async (t: TestGateway, vehicle: string) =>
  (
    await t.gateway.store.query<{ entry: string }>(
      "SELECT entry FROM audit_entries WHERE entry LIKE '%telemetry.vehicle-flag.%' ORDER BY idx",
    )
  )
    .map((r) => JSON.parse(r.entry))
    .filter((e) => e.actor.id === vehicle)
    .map((e) => e.class as string);

const metric = async (t: TestGateway, line: RegExp): Promise<number> => {
  const text = await (await fetch(`${t.url.ops}/metrics`)).text();
  const found = text.split('\n').find((l) => line.test(l));
  return found === undefined ? 0 : Number(found.split(' ').at(-1));
};

for (const engine of engines()) {
  describe(`clock-skew flag on ${engine.name}`, () => {
    let t: TestGateway;
    const offset = { ms: 0 };
    const clock = () => new Date(Date.now() + offset.ms);

    beforeAll(async () => {
      t = await startTestGateway(
        engine,
        (c) => {
          c.telemetryIngest.clockSkewWarnSeconds = 30;
          c.telemetry.maxClockSkewSeconds = 300;
        },
        clock,
      );
    });
    afterAll(async () => t?.stop());

    it('raises the flag once on a skewed but acceptable clock, clears it once, refuses beyond the limit', async () => {
      const trk = t.vehicle('TRK-001');
      const signer = signerFromPem(trk.key);
      let counter = 0n;
      const send = (skewSeconds: number) => {
        counter += 1n;
        const sentAt = clock().getTime() + skewSeconds * 1000;
        return postTelemetry(t, trk, envelopeBytes(signer, counter, batchBytes('TRK-001', { sentAt })));
      };
      expect((await send(2)).status).toBe(202);
      expect(await flagEntries(t, 'TRK-001')).toEqual([]);
      expect((await send(60)).status).toBe(202); // ahead by a minute: accepted, flagged
      expect((await send(90)).status).toBe(202);
      expect((await send(-45)).status).toBe(202); // behind by 45 s: still skewed
      expect((await send(20)).status).toBe(202); // within the threshold but not within half: no change
      expect(await flagEntries(t, 'TRK-001')).toEqual(['telemetry.vehicle-flag.raised']);
      const [flag] = await t.gateway.store.query<{
        active: boolean;
        detail: string;
        audit_index: string | null;
      }>(
        "SELECT active, detail, audit_index FROM vehicle_flags WHERE vehicle_id = 'TRK-001' AND flag = 'clock_skew'",
      );
      expect(flag?.active).toBe(true);
      // The skew of the batch that raised it: a minute ahead, less the time it took to arrive.
      const skewMs = Number(/^skew (\d+) ms \(warning at 30 s\)$/.exec(flag?.detail ?? '')?.[1]);
      expect(skewMs).toBeGreaterThan(50_000);
      expect(skewMs).toBeLessThanOrEqual(60_000);
      expect(flag?.audit_index).not.toBeNull();
      expect(await metric(t, /^fleetgate_telemetry_vehicles_flagged\{flag="clock_skew"\}/)).toBe(1);
      expect(
        await metric(
          t,
          /^fleetgate_telemetry_vehicle_flag_transitions_total\{flag="clock_skew",transition="raised"\}/,
        ),
      ).toBe(1);

      expect((await send(5)).status).toBe(202); // back within half the threshold: cleared
      expect((await send(1)).status).toBe(202);
      expect(await flagEntries(t, 'TRK-001')).toEqual([
        'telemetry.vehicle-flag.raised',
        'telemetry.vehicle-flag.cleared',
      ]);
      expect(await metric(t, /^fleetgate_telemetry_vehicles_flagged\{flag="clock_skew"\}/)).toBe(0);

      for (const skew of [301, 3600, -8 * 86_400]) {
        const res = await send(skew);
        expect([skew, res.status, res.json().code]).toEqual([skew, 400, 'TELEMETRY_CLOCK_SKEW']);
      }
      // Older than the skew limit but within maxBatchAgeSeconds: a delayed delivery from an offline spool,
      // accepted, and not taken as a clock reading (no flag transition).
      for (const skew of [-301, -3600, -86_400]) expect((await send(skew)).status).toBe(202);
      expect(await flagEntries(t, 'TRK-001')).toHaveLength(2);
    });
  });
}

const postgres = engines().find((e) => e.name === 'postgres');

describe.skipIf(postgres === undefined)('two gateway nodes on one PostgreSQL schema', () => {
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    a = await startTestGateway(postgres ?? { name: 'postgres' });
    b = await startTestGateway(postgres ?? { name: 'postgres' }, undefined, undefined, undefined, {
      nodeOf: a,
    });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('never lets both nodes accept one counter', async () => {
    const trk = a.vehicle('TRK-002');
    const signer = signerFromPem(trk.key);
    for (let c = 1n; c <= 25n; c += 1n) {
      // The same envelope to both nodes at once (a replay raced against the original)…
      const same = envelopeBytes(signer, c, batchBytes('TRK-002'));
      const answers = await Promise.all([postTelemetry(a, trk, same), postTelemetry(b, trk, same)]);
      expect(answers.map((r) => r.status).sort()).toEqual([202, 409]);
      expect(answers.find((r) => r.status === 409)?.json().code).toBe('TELEMETRY_REPLAYED');
    }
    for (let c = 101n; c <= 115n; c += 1n) {
      // …and two different envelopes claiming one counter.
      const answers = await Promise.all([
        postTelemetry(a, trk, envelopeBytes(signer, c, batchBytes('TRK-002', { records: 1 }))),
        postTelemetry(b, trk, envelopeBytes(signer, c, batchBytes('TRK-002', { records: 4 }))),
      ]);
      expect(answers.map((r) => r.status).sort()).toEqual([202, 409]);
    }
    const rows = await a.gateway.store.query<{ counter: string; n: string }>(
      "SELECT counter, count(*)::int8 AS n FROM telemetry_batches WHERE vehicle_id = 'TRK-002' GROUP BY counter",
    );
    expect(rows).toHaveLength(40);
    expect(rows.every((r) => Number(r.n) === 1)).toBe(true);
  });

  it('raises a flag once although both nodes see the skew', async () => {
    const trk = a.vehicle('TRK-003');
    const signer = signerFromPem(trk.key);
    const skewed = (c: bigint) =>
      envelopeBytes(signer, c, batchBytes('TRK-003', { sentAt: Date.now() + 120_000 }));
    const answers = await Promise.all([
      postTelemetry(a, trk, skewed(1n)),
      postTelemetry(b, trk, skewed(2n)),
      postTelemetry(a, trk, skewed(3n)),
      postTelemetry(b, trk, skewed(4n)),
    ]);
    expect(answers.map((r) => r.status)).toEqual([202, 202, 202, 202]);
    expect(await flagEntries(a, 'TRK-003')).toEqual(['telemetry.vehicle-flag.raised']);
  });

  it('keeps one dense, verifiable audit log across both nodes', async () => {
    await a.gateway.audit.publish();
    await a.gateway.audit.publish();
    const report = await verifyAuditLog(a.gateway.store, {
      origin: a.gateway.config.audit.origin,
      ...loadAuditVerifierKeys(a.dataDir),
      requireSealed: true,
    });
    expect(report.problems).toEqual([]);
  });
});
