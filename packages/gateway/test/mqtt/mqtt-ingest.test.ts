/**
 * MQTT telemetry end to end: a vehicle (edge SDK MqttTransport, its device certificate) → a real
 * Mosquitto (TLS 1.3, client certificates, the gateway's CRL and ACL) → the gateway's subscriber →
 * ingestEnvelope → the acknowledgement on fleet/<id>/acks. On every store engine.
 */
import { MqttTransport } from '@fleetgate/edge/transport/mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/engines.ts';
import { batchBytes, envelopeBytes, signerFromPem } from '../support/envelopes.ts';
import { MOSQUITTO, type MqttGateway, startMqttGateway } from './support.ts';

describe.skipIf(MOSQUITTO === undefined).each(engines())('MQTT telemetry ingest on $name', (engine) => {
  let m: MqttGateway;
  const transports: MqttTransport[] = [];

  beforeAll(async () => {
    m = await startMqttGateway(engine);
  });
  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await m?.stop();
  });

  const vehicle = (id: string) => {
    const creds = m.tg.vehicle(id);
    const transport = new MqttTransport({
      url: m.url,
      vehicleId: id,
      cert: creds.chain,
      key: creds.key,
      ca: creds.ca,
      ackTimeoutMs: 15_000,
    });
    transports.push(transport);
    return { transport, signer: signerFromPem(creds.key) };
  };
  const rejections = (vehicleId: string) =>
    m.tg.gateway.store.query<{ code: string; remote_address: string; cert_sha256: string | null }>(
      'SELECT code, remote_address, cert_sha256 FROM telemetry_rejections WHERE vehicle_id = $1 ORDER BY id',
      [vehicleId],
    );
  const batches = (vehicleId: string) =>
    m.tg.gateway.store.query<{ counter: string }>(
      'SELECT counter FROM telemetry_batches WHERE vehicle_id = $1 ORDER BY id',
      [vehicleId],
    );

  it('stores a signed batch and acknowledges it with its audit receipt; a re-send is a replay', async () => {
    const { transport, signer } = vehicle('TRK-001');
    const envelope = envelopeBytes(signer, 1n, batchBytes('TRK-001', { records: 3 }));
    const first = await transport.send(envelope);
    expect(first.status).toBe(202);
    expect(await batches('TRK-001')).toEqual([{ counter: '1' }]);
    const again = await transport.send(envelope);
    expect(again.status).toBe(409);
    expect(again.problem?.code).toBe('TELEMETRY_REPLAYED');
    expect(await batches('TRK-001')).toHaveLength(1);
    const [rejection] = await rejections('TRK-001');
    expect(rejection?.code).toBe('TELEMETRY_REPLAYED');
    expect(rejection?.remote_address).toBe('mqtt:fleet/TRK-001/telemetry');
  });

  it("refuses a batch whose signer is not the topic's vehicle, and records and audits why", async () => {
    const { transport } = vehicle('TRK-002');
    // TRK-002 re-publishes under its own topic what TRK-003 signed (a captured envelope).
    const other = signerFromPem(m.tg.vehicle('TRK-003').key);
    const answer = await transport.send(envelopeBytes(other, 7n, batchBytes('TRK-003')));
    expect(answer.status).toBe(403);
    expect(answer.problem?.code).toBe('TELEMETRY_TOPIC_MISMATCH');
    expect(await batches('TRK-002')).toEqual([]);
    expect(await batches('TRK-003')).toEqual([]);
    expect((await rejections('TRK-002')).map((r) => r.code)).toEqual(['TELEMETRY_TOPIC_MISMATCH']);
    const entries = await m.tg.gateway.store.query<{ entry: string }>(
      `SELECT entry FROM audit_entries WHERE entry LIKE '%TELEMETRY_TOPIC_MISMATCH%'`,
    );
    expect(entries).toHaveLength(1);
    const audit = JSON.parse(entries[0]?.entry ?? '{}');
    expect(audit).toMatchObject({
      class: 'telemetry.batch.rejected',
      actor: { kind: 'vehicle', id: 'TRK-002' },
      outcome: 'rejected',
      reasons: ['TELEMETRY_TOPIC_MISMATCH'],
      details: { transport: 'mqtt', signerVehicleId: 'TRK-003' },
    });
  });

  it('refuses a batch signed by the right key but naming another vehicle (ingest decides)', async () => {
    const { transport, signer } = vehicle('TRK-002');
    const answer = await transport.send(envelopeBytes(signer, 2n, batchBytes('TRK-001')));
    expect(answer.problem?.code).toBe('TELEMETRY_VEHICLE_MISMATCH');
    expect(await batches('TRK-002')).toEqual([]);
  });

  it('refuses malformed payloads without stopping the subscriber', async () => {
    const { transport, signer } = vehicle('TRK-003');
    for (const junk of [new Uint8Array([0xff, 0xff, 0xff]), new TextEncoder().encode('{"hello":1}')]) {
      const answer = await transport.send(junk);
      expect(answer.status).toBe(400);
      expect(answer.problem?.code).toBe('TELEMETRY_MALFORMED');
    }
    const answer = await transport.send(envelopeBytes(signer, 3n, batchBytes('TRK-003')));
    expect(answer.status).toBe(202);
    expect(await batches('TRK-003')).toEqual([{ counter: '3' }]);
    expect((await rejections('TRK-003')).map((r) => r.code)).toEqual([
      'TELEMETRY_MALFORMED',
      'TELEMETRY_MALFORMED',
    ]);
  });
});
