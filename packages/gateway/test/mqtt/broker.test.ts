/**
 * The generated Mosquitto configuration against real peers (mqtt.js clients, openssl s_client): TLS 1.3
 * only, client certificates from the fleetgate CA only, the ACL (a vehicle writes only its telemetry
 * topic and reads only its acks; only the gateway's identity reads telemetry), the CRL re-read on SIGHUP
 * after a revocation, the gateway refusing a revoked signer on a connection the broker still holds, and
 * the subscriber coming back after a broker restart.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgeError } from '@fleetgate/edge/errors';
import { MqttTransport } from '@fleetgate/edge/transport/mqtt';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listCertificates } from '../../src/pki/inventory.ts';
import { revokeCertificate } from '../../src/pki/revocation/revoke.ts';
import { engines } from '../support/engines.ts';
import { batchBytes, envelopeBytes, signerFromPem } from '../support/envelopes.ts';
import type { Credentials } from '../support/harness.ts';
import { MOSQUITTO, type MqttGateway, startMqttGateway } from './support.ts';

const clients: MqttClient[] = [];

async function raw(url: string, creds: Pick<Credentials, 'chain' | 'key' | 'ca'>): Promise<MqttClient> {
  const client = await connectAsync(url, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    cert: creds.chain,
    key: creds.key,
    ca: creds.ca,
    rejectUnauthorized: true,
  });
  clients.push(client);
  return client;
}

async function publishCode(client: MqttClient, topic: string): Promise<number> {
  try {
    await client.publishAsync(topic, Buffer.from('x'), { qos: 1 });
    return 0;
  } catch (error) {
    return (error as { code?: number }).code ?? -1;
  }
}

async function subscribeQos(client: MqttClient, filter: string): Promise<number | undefined> {
  const granted = await client.subscribeAsync(filter, { qos: 1 });
  return granted[0]?.qos;
}

async function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(MOSQUITTO === undefined)('the generated broker configuration', () => {
  let m: MqttGateway;
  let scratch: string;

  beforeAll(async () => {
    m = await startMqttGateway({ name: 'pglite' });
    scratch = mkdtempSync(join(tmpdir(), 'fleetgate-mqtt-'));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await m?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('lets a vehicle publish only its own telemetry topic and read only its own acks', async () => {
    const trk1 = await raw(m.url, m.tg.vehicle('TRK-001'));
    expect(await publishCode(trk1, 'fleet/TRK-002/telemetry')).toBe(0x87);
    expect(await publishCode(trk1, 'fleet/TRK-001/acks')).toBe(0x87); // no forged answers
    expect(await publishCode(trk1, 'elsewhere')).toBe(0x87);
    // Mosquitto 2.0 grants a SUBSCRIBE and checks the read ACL on every delivery: nothing arrives.
    const received: string[] = [];
    trk1.on('message', (topic) => received.push(topic));
    for (const filter of ['fleet/+/telemetry', 'fleet/TRK-002/acks', '#']) await subscribeQos(trk1, filter);
    const { transport, signer } = vehicleTransport(m, 'TRK-002');
    expect((await transport.send(envelopeBytes(signer, 100n, batchBytes('TRK-002')))).status).toBe(202);
    await transport.close();
    // The gateway got TRK-002's envelope and answered it; one more round trip on TRK-001's connection
    // flushes anything the broker had sent it before.
    expect(await subscribeQos(trk1, 'fleet/TRK-001/acks')).toBe(1);
    expect(received).toEqual([]);
  });

  it('gives nothing to a valid certificate outside the fleet or to a partner', async () => {
    const unlisted = await raw(m.url, m.tg.vehicle('TRK-UNLISTED'));
    expect(await publishCode(unlisted, 'fleet/TRK-UNLISTED/telemetry')).toBe(0x87);
    const partner = await raw(m.url, m.tg.partner('acme-tms'));
    expect(await publishCode(partner, 'fleet/TRK-001/acks')).toBe(0x87);
    expect(await publishCode(partner, 'fleet/TRK-001/telemetry')).toBe(0x87);
    const received: string[] = [];
    partner.on('message', (topic) => received.push(topic));
    await subscribeQos(partner, 'fleet/+/telemetry');
    const { transport, signer } = vehicleTransport(m, 'TRK-001');
    expect((await transport.send(envelopeBytes(signer, 100n, batchBytes('TRK-001')))).status).toBe(202);
    await transport.close();
    await subscribeQos(partner, 'fleet/none/acks');
    expect(received).toEqual([]);
  });

  it('keeps no retained envelope: a retained publish is refused', async () => {
    const creds = m.tg.vehicle('TRK-003');
    const client = await raw(m.url, creds);
    const envelope = envelopeBytes(signerFromPem(creds.key), 500n, batchBytes('TRK-003'));
    // The broker disconnects the client (MQTT 5 reason 0x9A, retain not supported) instead of answering.
    const closed = new Promise<string>((resolve) => client.once('close', () => resolve('closed')));
    const published = client
      .publishAsync('fleet/TRK-003/telemetry', Buffer.from(envelope), { qos: 1, retain: true })
      .then(
        () => 'published',
        () => 'refused',
      );
    expect(['closed', 'refused']).toContain(await Promise.race([closed, published]));
    const stored = await m.tg.gateway.store.query(
      `SELECT 1 FROM telemetry_batches WHERE vehicle_id = 'TRK-003' AND counter = 500`,
    );
    expect(stored).toEqual([]);
  });

  it('offers TLS 1.3 only and requires a certificate from the fleetgate CA', async () => {
    const creds = m.tg.vehicle('TRK-001');
    const port = String(m.broker.port);
    const sClient = (version: string) =>
      spawnSync(
        'openssl',
        [
          's_client',
          '-connect',
          `127.0.0.1:${port}`,
          version,
          '-CAfile',
          m.tg.caPath,
          '-cert',
          join(m.tg.dataDir, 'pki', 'devices', 'TRK-001', 'chain.pem'),
          '-key',
          join(m.tg.dataDir, 'pki', 'devices', 'TRK-001', 'key.pem'),
          '-verify_return_error',
        ],
        { input: '', encoding: 'utf8', timeout: 10_000 },
      );
    const tls13 = sClient('-tls1_3');
    expect(tls13.stdout).toMatch(/New, TLSv1\.3, Cipher is TLS_AES_256_GCM_SHA384/);
    expect(tls13.stdout).toMatch(/Verify return code: 0 \(ok\)/);
    const tls12 = sClient('-tls1_2');
    expect(tls12.status).not.toBe(0);
    expect(tls12.stdout).toMatch(/Cipher is \(NONE\)/);

    await expect(raw(m.url, { ...creds, chain: '', key: '' })).rejects.toThrow();
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'].concat(
        [
          '-subj',
          '/CN=TRK-001/OU=vehicle/O=fleetgate',
          '-keyout',
          join(scratch, 'rogue.key'),
          '-out',
          join(scratch, 'rogue.pem'),
        ],
      ),
      { stdio: 'pipe' },
    );
    const rogue = {
      chain: readFileSync(join(scratch, 'rogue.pem'), 'utf8'),
      key: readFileSync(join(scratch, 'rogue.key'), 'utf8'),
      ca: creds.ca,
    };
    await expect(raw(m.url, rogue)).rejects.toThrow();
  });

  it("issued the gateway's MQTT client certificate once, recorded and audited", async () => {
    const dir = join(m.tg.dataDir, 'pki', 'partners', 'gateway-mqtt');
    expect(existsSync(join(dir, 'chain.pem'))).toBe(true);
    const rows = await listCertificates(m.tg.gateway.store, { kind: 'partner', subjectId: 'gateway-mqtt' });
    expect(rows).toHaveLength(1);
    const audited = await m.tg.gateway.store.query<{ entry: string }>(
      `SELECT entry FROM audit_entries WHERE entry LIKE '%mqtt-client%'`,
    );
    expect(audited).toHaveLength(1);
    expect(JSON.parse(audited[0]?.entry ?? '{}')).toMatchObject({
      class: 'pki.certificate.issued',
      subject: { id: rows[0]?.thumbprintSha256 },
    });
  });

  it('the subscriber comes back after a broker restart', async () => {
    const { transport, signer } = vehicleTransport(m, 'TRK-002');
    expect((await transport.send(envelopeBytes(signer, 1n, batchBytes('TRK-002')))).status).toBe(202);
    await m.broker.stop();
    await until(() => m.tg.gateway.mqtt?.subscribed === 0, 'the subscriber to notice');
    await expect(transport.send(envelopeBytes(signer, 2n, batchBytes('TRK-002')))).rejects.toSatisfy(
      (e: unknown) => e instanceof EdgeError && (e.code === 'EDGE_NETWORK' || e.code === 'EDGE_TIMEOUT'),
    );
    await m.restartBroker();
    await m.tg.gateway.mqtt?.ready();
    expect((await transport.send(envelopeBytes(signer, 3n, batchBytes('TRK-002')))).status).toBe(202);
    await transport.close();
  });
});

function vehicleTransport(m: MqttGateway, id: string) {
  const creds = m.tg.vehicle(id);
  const transport = new MqttTransport({
    url: m.url,
    vehicleId: id,
    cert: creds.chain,
    key: creds.key,
    ca: creds.ca,
    connectTimeoutMs: 5_000,
  });
  return { transport, signer: signerFromPem(creds.key) };
}

describe.skipIf(MOSQUITTO === undefined).each(engines())('revocation over MQTT on $name', (engine) => {
  let m: MqttGateway;
  beforeAll(async () => {
    m = await startMqttGateway(engine);
  });
  afterAll(async () => {
    await m?.stop();
  });

  it("refuses a revoked vehicle's batches at once, and the broker refuses its new connections", async () => {
    const { transport, signer } = vehicleTransport(m, 'TRK-003');
    expect((await transport.send(envelopeBytes(signer, 1n, batchBytes('TRK-003')))).status).toBe(202);
    const [certificate] = await listCertificates(m.tg.gateway.store, {
      kind: 'vehicle',
      subjectId: 'TRK-003',
    });
    await revokeCertificate(
      { store: m.tg.gateway.store, audit: m.tg.gateway.audit, now: () => new Date() },
      {
        serialNumber: certificate?.serialNumber ?? '',
        reason: 'keyCompromise',
        actor: { kind: 'operator', id: 'test' },
      },
    );
    // The connection the broker accepted before the revocation is still open: the gateway refuses.
    const answer = await transport.send(envelopeBytes(signer, 2n, batchBytes('TRK-003')));
    expect(answer.status).toBe(403);
    expect(answer.problem?.code).toBe('TELEMETRY_SIGNER_REVOKED');
    const rows = await m.tg.gateway.store.query<{ code: string; cert_sha256: string }>(
      `SELECT code, cert_sha256 FROM telemetry_rejections WHERE vehicle_id = 'TRK-003'`,
    );
    expect(rows).toEqual([{ code: 'TELEMETRY_SIGNER_REVOKED', cert_sha256: certificate?.thumbprintSha256 }]);
    expect(
      await m.tg.gateway.store.query(`SELECT counter FROM telemetry_batches WHERE vehicle_id = 'TRK-003'`),
    ).toHaveLength(1);
    await transport.close();

    // New connections: refused in the handshake once the broker re-read the CRL (SIGHUP on change).
    await until(async () => {
      const fresh = vehicleTransport(m, 'TRK-003').transport;
      try {
        await fresh.send(envelopeBytes(signer, 3n, batchBytes('TRK-003')));
        return false;
      } catch (error) {
        return error instanceof EdgeError && error.code === 'EDGE_TLS';
      } finally {
        await fresh.close();
      }
    }, 'the broker to refuse the revoked certificate');
  });
});
