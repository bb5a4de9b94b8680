/**
 * MqttTransport against a real Mosquitto (TLS 1.3, client certificates from an openssl-made CA), with
 * the test playing the gateway's part on fleet/+/telemetry: answers are matched by the SHA-256 of the
 * envelope, odd or foreign answers are ignored, a missing answer is EDGE_TIMEOUT and a late one answers
 * the re-send, a broker refusal is EDGE_BROKER_REFUSED, an untrusted broker EDGE_TLS, no broker
 * EDGE_NETWORK. Skips visibly when mosquitto is not installed.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcp } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeError } from '../src/errors.ts';
import { MqttTransport } from '../src/transport/mqtt.ts';
import { makeTestPki, type TestPki } from './pki.ts';

const HAS_MOSQUITTO = [undefined, 'mosquitto', '/usr/sbin/mosquitto'].some(
  (bin) => bin !== undefined && spawnSync(bin, ['-h'], { stdio: 'ignore' }).status === 3,
);
if (!HAS_MOSQUITTO) console.warn('[skip] MqttTransport tests: mosquitto is not installed');
const MOSQUITTO = spawnSync('mosquitto', ['-h']).status === 3 ? 'mosquitto' : '/usr/sbin/mosquitto';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function listening(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const up = await new Promise<boolean>((done) => {
      const s = tcp({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        done(true);
      });
      s.once('error', () => done(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('mosquitto did not start');
}

type Answer = (envelope: Buffer) => Array<Record<string, unknown> | string> | 'silent';

describe.skipIf(!HAS_MOSQUITTO)('MqttTransport', () => {
  let dir: string;
  let pki: TestPki;
  let broker: ChildProcess;
  let open: number;
  let guarded: number;
  let gateway: MqttClient;
  let answer: Answer = () => 'silent';
  const received: Buffer[] = [];
  const transports: MqttTransport[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fleetgate-edge-mqtt-'));
    pki = makeTestPki(dir);
    open = await freePort();
    guarded = await freePort();
    writeFileSync(join(dir, 'acl'), 'user TRK-0042\ntopic read fleet/TRK-0042/acks\n');
    const tls = [
      `cafile ${join(dir, 'ca.pem')}`,
      `certfile ${join(dir, 'server.pem')}`,
      `keyfile ${join(dir, 'server.key')}`,
      'require_certificate true',
      'use_identity_as_username true',
      'tls_version tlsv1.3',
    ];
    writeFileSync(
      join(dir, 'mosquitto.conf'),
      [
        'per_listener_settings true',
        'persistence false',
        `user ${userInfo().username}`,
        `listener ${open} 127.0.0.1`,
        'allow_anonymous false',
        ...tls,
        `listener ${guarded} 127.0.0.1`,
        'allow_anonymous false',
        `acl_file ${join(dir, 'acl')}`,
        ...tls,
        '',
      ].join('\n'),
    );
    broker = spawn(MOSQUITTO, ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
    process.once('exit', () => broker.kill('SIGTERM')); // never outlive this test process
    await listening(open);
    await listening(guarded);
    // The test's stand-in for the gateway: same CA, answers per `answer`.
    gateway = await connectAsync(`mqtts://127.0.0.1:${open}`, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      ca: pki.caCert,
      cert: pki.clientCert,
      key: pki.clientKey,
    });
    await gateway.subscribeAsync('fleet/+/telemetry', { qos: 1 });
    gateway.on('message', (topic, payload) => {
      received.push(payload);
      const replies = answer(payload);
      if (replies === 'silent') return;
      const acks = topic.replace(/telemetry$/, 'acks');
      for (const reply of replies) {
        gateway.publish(acks, typeof reply === 'string' ? reply : JSON.stringify(reply), { qos: 1 });
      }
    });
  });

  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await gateway?.endAsync(true);
    broker?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  const transport = (port = open, extra: Partial<ConstructorParameters<typeof MqttTransport>[0]> = {}) => {
    const t = new MqttTransport({
      url: `mqtts://127.0.0.1:${port}`,
      vehicleId: 'TRK-0042',
      cert: pki.clientCert,
      key: pki.clientKey,
      ca: pki.caCert,
      ackTimeoutMs: 3_000,
      ...extra,
    });
    transports.push(t);
    return t;
  };
  const digest = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  const ack = (b: Uint8Array, status: number, extra: Record<string, unknown> = {}) => ({
    v: 1,
    envelopeSha256: digest(b),
    status,
    ...extra,
  });

  it('publishes the exact bytes and resolves with the answer naming their digest, ignoring others', async () => {
    const envelope = new Uint8Array([1, 2, 3, 4]);
    answer = (b) => [
      'not json',
      { v: 2, envelopeSha256: digest(b), status: 202 },
      ack(new Uint8Array([9]), 202),
      { ...ack(b, 202), status: 1000 },
      ack(b, 409, {
        retryAfterSeconds: 5,
        problem: {
          type: 'https://fleetgate.dev/errors/telemetry-replayed',
          code: 'TELEMETRY_REPLAYED',
          status: 409,
        },
      }),
    ];
    const t = transport();
    const result = await t.send(envelope);
    expect(result).toEqual({
      status: 409,
      retryAfterSeconds: 5,
      problem: {
        type: 'https://fleetgate.dev/errors/telemetry-replayed',
        code: 'TELEMETRY_REPLAYED',
        status: 409,
      },
    });
    expect(received.at(-1)).toEqual(Buffer.from(envelope));
    answer = (b) => [ack(b, 202)];
    expect(await t.send(new Uint8Array([5, 6]))).toEqual({ status: 202 });
  });

  it('times out without an answer, and a late answer settles the re-send without publishing again', async () => {
    let held: Buffer | undefined;
    answer = (b) => {
      held = b;
      return 'silent';
    };
    const t = transport(open, { ackTimeoutMs: 300 });
    const envelope = new Uint8Array([7, 7, 7]);
    await expect(t.send(envelope)).rejects.toMatchObject({ code: 'EDGE_TIMEOUT' });
    expect(held).toEqual(Buffer.from(envelope));
    const count = received.length;
    gateway.publish('fleet/TRK-0042/acks', JSON.stringify(ack(envelope, 202)), { qos: 1 });
    // The late answer arrives on the transport's connection; once it is in, the re-send is answered.
    for (let i = 0; i < 100; i++) {
      answer = () => 'silent';
      try {
        expect(await t.send(envelope)).toEqual({ status: 202 });
        break;
      } catch (error) {
        if (!(error instanceof EdgeError && error.code === 'EDGE_TIMEOUT')) throw error;
      }
    }
    // At most the re-sends that raced the late answer were published; the last one was not.
    expect(received.length - count).toBeLessThan(100);
  });

  it('reports a publish the broker refuses (ACL) as EDGE_BROKER_REFUSED, not worth retrying', async () => {
    await expect(transport(guarded).send(new Uint8Array([1]))).rejects.toMatchObject({
      code: 'EDGE_BROKER_REFUSED',
    });
  });

  it('refuses an untrusted broker (EDGE_TLS), reports no broker as EDGE_NETWORK', async () => {
    await expect(transport(open, { ca: pki.rogueCaCert }).send(new Uint8Array([1]))).rejects.toMatchObject({
      code: 'EDGE_TLS',
    });
    await expect(transport(await freePort()).send(new Uint8Array([1]))).rejects.toMatchObject({
      code: 'EDGE_NETWORK',
    });
    await expect(
      transport(open, { cert: pki.rogueClientCert, key: pki.rogueClientKey }).send(new Uint8Array([1])),
    ).rejects.toSatisfy(
      (e: unknown) => e instanceof EdgeError && ['EDGE_TLS', 'EDGE_NETWORK'].includes(e.code),
    );
  });

  it('fails waiting and later sends after close, and refuses a non-mqtts URL', async () => {
    answer = () => 'silent';
    const t = transport();
    const pending = t.send(new Uint8Array([3, 1, 4]));
    // Let it connect and publish before closing.
    for (let i = 0; i < 100 && !received.some((b) => b.equals(Buffer.from([3, 1, 4]))); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const refused = expect(pending).rejects.toMatchObject({ code: 'EDGE_TRANSPORT_CLOSED' });
    await t.close();
    await refused;
    await expect(t.send(new Uint8Array([1]))).rejects.toMatchObject({ code: 'EDGE_TRANSPORT_CLOSED' });
    expect(() => new MqttTransport({ ...baseOptions(pki), url: 'mqtt://127.0.0.1:1883' })).toThrow(EdgeError);
    expect(() => new MqttTransport({ ...baseOptions(pki), vehicleId: 'fleet/#' })).toThrow(EdgeError);
  });
});

function baseOptions(pki: TestPki) {
  return {
    url: 'mqtts://127.0.0.1:8883',
    vehicleId: 'TRK-0042',
    cert: pki.clientCert,
    key: pki.clientKey,
    ca: pki.caCert,
  };
}
