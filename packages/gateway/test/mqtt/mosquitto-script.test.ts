/**
 * scripts/ci/mosquitto.sh, as .ci/run would use it: given a gateway's data directory and a port, it
 * generates the configuration, starts Mosquitto and prints the environment; the gateway's subscriber
 * connects to it and a vehicle's envelope is acknowledged through it. The broker is stopped by the pid
 * the script printed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { MqttTransport } from '@fleetgate/edge/transport/mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultMqttConfig } from '../../src/config/config.ts';
import { batchBytes, envelopeBytes, signerFromPem } from '../support/envelopes.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { freePort, MOSQUITTO } from './support.ts';

const SCRIPT = join(import.meta.dirname, '../../../../scripts/ci/mosquitto.sh');

describe.skipIf(MOSQUITTO === undefined)('scripts/ci/mosquitto.sh', () => {
  let tg: TestGateway | undefined;
  let pid: number | undefined;
  afterAll(async () => {
    if (pid !== undefined) process.kill(pid, 'SIGTERM');
    await tg?.stop();
  });

  it('starts a TLS broker from a data directory that the gateway and a vehicle use', async () => {
    const port = await freePort();
    tg = await startTestGateway({ name: 'pglite' }, (c) => {
      c.mqtt = { ...defaultMqttConfig(), enabled: true, url: `mqtts://127.0.0.1:${port}`, reconnectMs: 100 };
    });
    const out = execFileSync('bash', [SCRIPT, tg.dataDir, String(port)], { encoding: 'utf8' });
    const env = Object.fromEntries(
      [...out.matchAll(/^export (FLEETGATE_MQTT_[A-Z_]+)=(.*)$/gm)].map((m) => [m[1], m[2]]),
    );
    expect(env.FLEETGATE_MQTT_URL).toBe(`mqtts://127.0.0.1:${port}`);
    pid = Number(env.FLEETGATE_MQTT_PID);
    expect(Number.isInteger(pid) && pid > 1).toBe(true);
    expect(env.FLEETGATE_MQTT_CONFIG).toBe(join(tg.dataDir, 'mqtt', 'mosquitto.conf'));

    await tg.gateway.mqtt?.ready();
    const creds = tg.vehicle('TRK-001');
    const transport = new MqttTransport({
      url: env.FLEETGATE_MQTT_URL ?? '',
      vehicleId: 'TRK-001',
      cert: creds.chain,
      key: creds.key,
      ca: creds.ca,
    });
    const answer = await transport.send(envelopeBytes(signerFromPem(creds.key), 1n, batchBytes('TRK-001')));
    await transport.close();
    expect(answer.status).toBe(202);
  });

  it('refuses port 1883 and a directory without a PKI', () => {
    const refused = spawnSync('bash', [SCRIPT, tg?.dataDir ?? '/nonexistent', '1883'], { encoding: 'utf8' });
    expect(refused.status).toBe(2);
    expect(refused.stdout).toBe('');
    const empty = spawnSync('bash', [SCRIPT, '/tmp'], { encoding: 'utf8' });
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/has no PKI/);
  });
});
