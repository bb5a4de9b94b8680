/**
 * The edge SDK's offline spool against a real broker outage and a vehicle restart, and the simulated
 * fleet on both transports — through a real Mosquitto into a real gateway, on every store engine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgeClient } from '@fleetgate/edge/client';
import { DurableCounter } from '@fleetgate/edge/counter';
import { EnvelopeSpool } from '@fleetgate/edge/spool';
import { MqttTransport } from '@fleetgate/edge/transport/mqtt';
import { DrivingState } from '@fleetgate/protocol/telemetry';
import { FleetSimulator } from '@fleetgate/sim/fleet';
import { HUBS } from '@fleetgate/sim/geo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/engines.ts';
import { signerFromPem } from '../support/envelopes.ts';
import { MOSQUITTO, type MqttGateway, startMqttGateway } from './support.ts';

describe.skipIf(MOSQUITTO === undefined).each(engines())('spool and fleet over MQTT on $name', (engine) => {
  let m: MqttGateway;
  let state: string;

  beforeAll(async () => {
    m = await startMqttGateway(engine);
    state = mkdtempSync(join(tmpdir(), 'fleetgate-vehicle-'));
  });
  afterAll(async () => {
    await m?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  /** One vehicle process: its counter, spool and MQTT client, as a truck would open them at boot. */
  const boot = (id: string) => {
    const creds = m.tg.vehicle(id);
    const signer = signerFromPem(creds.key);
    // The simulated fleet's layout (sim/fleet.ts), so the fleet test below continues this vehicle.
    const spool = EnvelopeSpool.open(join(state, id, 'spool'));
    const counter = DurableCounter.open(join(state, id, 'envelope-counter'));
    const transport = new MqttTransport({
      url: m.url,
      vehicleId: id,
      cert: creds.chain,
      key: creds.key,
      ca: creds.ca,
      connectTimeoutMs: 2_000,
      ackTimeoutMs: 5_000,
    });
    const client = new EdgeClient({
      vehicleId: id,
      privateKey: signer.privateKey,
      keyId: signer.keyId,
      counter,
      transport,
      spool,
      batch: { maxRecords: 1 },
      retry: { maxAttempts: 2, baseDelayMs: 10 },
    });
    let i = 0;
    return {
      client,
      flush: () => {
        const now = Date.now();
        client.record(
          {
            timeUnixMs: BigInt(now),
            latitude: 31.0,
            longitude: -97.0 + i++ * 0.0005,
            speedMps: 26,
            headingDeg: 180,
            odometerM: i,
            drivingState: DrivingState.AUTONOMOUS,
            faults: [],
          },
          now,
        );
        return client.flush(now);
      },
      shutdown: async () => {
        await transport.close();
        spool.close();
        counter.close();
      },
    };
  };

  it('spools through a broker outage and a vehicle restart, then delivers everything in counter order', async () => {
    let truck = boot('TRK-001');
    expect(await truck.flush()).toMatchObject({ outcome: 'accepted', counter: 1n });
    await m.broker.stop();
    expect(await truck.flush()).toMatchObject({ outcome: 'spooled', counter: 2n });
    expect(await truck.flush()).toMatchObject({ outcome: 'spooled', counter: 3n });
    // The vehicle restarts while the broker is still down: its spool and counter survive.
    await truck.shutdown();
    truck = boot('TRK-001');
    expect(truck.client.spoolStats.waiting).toBe(2);
    expect(await truck.flush()).toMatchObject({ outcome: 'spooled', counter: 4n });
    await m.restartBroker();
    await m.tg.gateway.mqtt?.ready();
    // Back: the next flush drains 2, 3, 4 first, then sends 5.
    expect(await truck.flush()).toMatchObject({ outcome: 'accepted', counter: 5n });
    expect(truck.client.spoolStats.waiting).toBe(0);
    await truck.shutdown();
    const rows = await m.tg.gateway.store.query<{ counter: string }>(
      `SELECT counter FROM telemetry_batches WHERE vehicle_id = 'TRK-001' ORDER BY audit_index`,
    );
    expect(rows.map((r) => Number(r.counter))).toEqual([1, 2, 3, 4, 5]);
    const refused = await m.tg.gateway.store.query(
      `SELECT code FROM telemetry_rejections WHERE vehicle_id = 'TRK-001'`,
    );
    expect(refused).toEqual([]);
  });

  it('runs the simulated fleet on both transports: every third truck over MQTT', async () => {
    const ca = m.tg.vehicle('TRK-002').ca;
    const trucks = ['TRK-002', 'TRK-003', 'TRK-001'].map((vehicleId, i) => {
      const creds = m.tg.vehicle(vehicleId);
      return {
        vehicleId,
        lane: [HUBS.dallas, HUBS.houston] as const,
        credentials: { chain: creds.chain, key: creds.key, ca },
        startFraction: i * 0.3,
      };
    });
    const fleet = new FleetSimulator({
      baseUrl: m.tg.url.telemetry,
      trucks,
      stateDir: state,
      mqtt: { url: m.url },
    });
    expect(fleet.transports).toEqual({ https: 2, mqtt: 1 });
    expect(fleet.trucks.map((t) => t.transport)).toEqual(['https', 'https', 'mqtt']);
    const t0 = Date.now() - 60_000; // a minute of driving, just finished
    for (let s = 0; s < 45; s++) for (const truck of fleet.trucks) truck.tick(t0 + s * 1000);
    await fleet.stop();
    expect(fleet.stats.batchesRefused).toBe(0);
    expect(fleet.stats.batchesFailed).toBe(0);
    expect(fleet.stats.acceptedByTransport.https).toBeGreaterThan(0);
    expect(fleet.stats.acceptedByTransport.mqtt).toBeGreaterThan(0);
    const [row] = await m.tg.gateway.store.query<{ n: string }>(
      `SELECT sum(record_count)::int8 AS n FROM telemetry_batches WHERE vehicle_id = 'TRK-001' AND load_id = $1`,
      ['LOAD-TRK-001'],
    );
    expect(Number(row?.n)).toBe(45);
  });
});
