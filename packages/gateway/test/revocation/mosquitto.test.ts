/**
 * The CRL is consumable by a real MQTT broker: Mosquitto on a free port (TLS 1.3, client certificate
 * required, `crlfile` pointing at DIR/pki/crl.pem) accepts `mosquitto_pub` with a device certificate
 * (chain + Ed25519 key) before the revocation and refuses the same certificate after it, once the CRL
 * the gateway reissued is reloaded (SIGHUP). A device that was not revoked keeps publishing, so the
 * refusal is the revocation and not a stale or unreadable CRL. Skipped, visibly, without mosquitto.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normaliseSerial } from '../../src/pki/inventory.ts';
import { revokeCertificate } from '../../src/pki/revocation/revoke.ts';
import { engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { eventually, OPENSSL, runPeer } from './support.ts';

const MOSQUITTO = process.env.MOSQUITTO ?? '/usr/sbin/mosquitto';
const MOSQUITTO_PUB = process.env.MOSQUITTO_PUB ?? '/usr/bin/mosquitto_pub';
const available = existsSync(MOSQUITTO) && existsSync(MOSQUITTO_PUB);
if (!available) {
  console.warn(
    `[skip] Mosquitto CRL test: ${MOSQUITTO} or ${MOSQUITTO_PUB} not installed (apt-get install mosquitto mosquitto-clients)`,
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

for (const engine of engines()) {
  describe.skipIf(!available)(`Mosquitto with the gateway's CRL on ${engine.name}`, () => {
    let t: TestGateway;
    let broker: ChildProcess | undefined;
    let brokerLog = '';
    let port = 0;

    const publish = (vehicle: string) => {
      const dir = join(t.dataDir, 'pki', 'devices', vehicle);
      return runPeer(MOSQUITTO_PUB, [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '--cafile',
        t.caPath,
        '--cert',
        join(dir, 'chain.pem'),
        '--key',
        join(dir, 'key.pem'),
        '--tls-version',
        'tlsv1.3',
        '-i',
        `${vehicle}-crl-test`,
        '-q',
        '1',
        '-t',
        `fleet/${vehicle}/telemetry`,
        '-m',
        'crl-test',
      ]);
    };

    beforeAll(async () => {
      t = await startTestGateway(engine);
      port = await freePort();
      const pki = join(t.dataDir, 'pki');
      const dir = join(t.dataDir, 'mosquitto');
      mkdirSync(dir, { mode: 0o700 });
      const conf = join(dir, 'mosquitto.conf');
      writeFileSync(
        conf,
        [
          // Keys under the data directory are 0600: stay the user that owns them.
          `user ${process.env.USER ?? 'root'}`,
          'persistence false',
          'log_dest stderr',
          'log_type all',
          `listener ${port} 127.0.0.1`,
          `cafile ${join(pki, 'ca.pem')}`,
          `certfile ${join(pki, 'server', 'chain.pem')}`,
          `keyfile ${join(pki, 'server', 'key.pem')}`,
          `crlfile ${join(pki, 'crl.pem')}`,
          'require_certificate true',
          'use_identity_as_username true',
          'tls_version tlsv1.3',
          '',
        ].join('\n'),
      );
      broker = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
      broker.stdout?.on('data', (c: Buffer) => {
        brokerLog += c.toString();
      });
      broker.stderr?.on('data', (c: Buffer) => {
        brokerLog += c.toString();
      });
      await eventually(() => listening(port), 10_000, `mosquitto listening on ${port}`);
    });
    afterAll(async () => {
      if (broker?.pid !== undefined && broker.exitCode === null) {
        const exited = new Promise((r) => broker?.once('exit', r));
        broker.kill('SIGTERM');
        await exited;
      }
      await t?.stop();
    });

    it('accepts a device before revocation and refuses it once the reissued CRL is reloaded', async () => {
      const before = await publish('TRK-001');
      expect(before.code, `${before.out}\n${brokerLog}`).toBe(0);

      const cert = new X509Certificate(t.vehicle('TRK-001').cert);
      await revokeCertificate(
        { store: t.gateway.store, audit: t.gateway.audit, now: () => new Date() },
        {
          serialNumber: normaliseSerial(cert.serialNumber),
          reason: 'keyCompromise',
          actor: { kind: 'operator', id: 'mqtt-test' },
        },
      );
      // revokeCertificate returned after the CRL was reissued to DIR/pki/crl.pem; Mosquitto reloads
      // its TLS settings, the CRL included, on SIGHUP.
      const reloads = (brokerLog.match(/Reloading config/g) ?? []).length;
      broker?.kill('SIGHUP');
      await eventually(
        async () => (brokerLog.match(/Reloading config/g) ?? []).length > reloads,
        10_000,
        'mosquitto reloads its configuration',
      );

      const after = await publish('TRK-001');
      expect(after.code, after.out).not.toBe(0);
      // Why: the broker's TLS stack answers with the certificate_revoked alert (RFC 8446 §6.2).
      const dir = join(t.dataDir, 'pki', 'devices', 'TRK-001');
      const handshake = await runPeer(OPENSSL, [
        's_client',
        '-ign_eof', // keep reading after stdin's end: in TLS 1.3 the alert follows the client's Finished
        '-connect',
        `127.0.0.1:${port}`,
        '-tls1_3',
        '-CAfile',
        t.caPath,
        '-cert',
        join(dir, 'chain.pem'),
        '-key',
        join(dir, 'key.pem'),
      ]);
      expect(handshake.out).toMatch(/alert certificate revoked/);
      const other = await publish('TRK-002');
      expect(other.code, `${other.out}\n${brokerLog}`).toBe(0);
      expect(brokerLog).toMatch(/certificate verify failed/);
    });
  });
}
