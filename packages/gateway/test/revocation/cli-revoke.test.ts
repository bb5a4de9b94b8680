/**
 * `fleetgate device revoke` as an operator runs it: the real bin in a child process. It revokes the
 * vehicle's active certificate through revokeCertificate, prints serial and SHA-256 thumbprint,
 * reissues DIR/pki/crl.pem and seals the audit log. On PGlite the gateway is stopped meanwhile (one
 * process owns the embedded store) and refuses the certificate when it starts; on PostgreSQL the
 * gateway runs on the same store and closes the vehicle's open HTTP/2 session within 5 seconds.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as http2Connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { type Gateway, startGateway } from '../../src/gateway.ts';
import { normaliseSerial } from '../../src/pki/inventory.ts';
import { openStore } from '../../src/store/open.ts';
import { fleetgate as runFleetgate } from '../support/cli.ts';
import { dropSchema, engines, uniqueSchema } from '../support/engines.ts';
import { batchBytes, envelopeBytes, signerFromPem } from '../support/envelopes.ts';
import { openssl, opensslOcsp } from './support.ts';

interface Session {
  status: number;
  closed: Promise<void>;
  close(): void;
}

/** An HTTP/2 telemetry session of `vehicle` that has sent one batch; 'refused' if the gateway closed it. */
function telemetrySession(
  gateway: Gateway,
  dir: string,
  vehicle: string,
  counter: bigint,
): Promise<Session | 'refused'> {
  const pki = join(dir, 'pki');
  const key = readFileSync(join(pki, 'devices', vehicle, 'key.pem'), 'utf8');
  const session = http2Connect(`https://127.0.0.1:${gateway.addresses.telemetry.port}`, {
    ca: readFileSync(join(pki, 'ca.pem')),
    cert: readFileSync(join(pki, 'devices', vehicle, 'chain.pem')),
    key,
  });
  const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
  return new Promise((resolve) => {
    session.on('error', () => resolve('refused'));
    void closed.then(() => resolve('refused'));
    const stream = session.request({
      ':method': 'POST',
      ':path': '/v1/telemetry',
      'content-type': 'application/x-protobuf',
    });
    stream.on('error', () => resolve('refused'));
    stream.on('response', (h) =>
      resolve({ status: Number(h[':status']), closed, close: () => session.close() }),
    );
    stream.resume();
    stream.end(envelopeBytes(signerFromPem(key), counter, batchBytes(vehicle)));
  });
}

for (const engine of engines()) {
  describe(`fleetgate device revoke on ${engine.name}`, () => {
    let root: string;
    let dir: string;
    let env: NodeJS.ProcessEnv;
    let schema: string | undefined;
    let gateway: Gateway | undefined;
    const fleetgate = (args: string[]) => runFleetgate(args, env);
    const start = async (): Promise<Gateway> => {
      const config = loadConfig(dir, env);
      for (const l of Object.values(config.listeners)) {
        l.host = '127.0.0.1';
        l.port = 0;
      }
      config.log.level = 'silent';
      return startGateway({ dataDir: dir, config, logger: pino({ level: 'silent' }) });
    };
    const certOf = (vehicle: string) =>
      new X509Certificate(readFileSync(join(dir, 'pki', 'devices', vehicle, 'cert.pem')));

    beforeAll(async () => {
      root = mkdtempSync(join(tmpdir(), 'fleetgate-revoke-cli-'));
      dir = join(root, 'gw');
      env = { ...process.env, DATABASE_URL: '' };
      if (engine.name === 'postgres' && engine.url !== undefined) {
        schema = uniqueSchema();
        (await openStore({ engine: 'postgres', url: engine.url, schema })).close();
        const url = new URL(engine.url);
        url.searchParams.set('options', `-c search_path=${schema}`);
        env = { ...process.env, DATABASE_URL: url.toString() };
      }
      const init = await fleetgate(['init', '--data-dir', dir, '--vehicles', '3']);
      expect(init.code, init.out + init.err).toBe(0);
    });
    afterAll(async () => {
      await gateway?.close();
      if (schema !== undefined && engine.url !== undefined) await dropSchema(engine.url, schema);
      rmSync(root, { recursive: true, force: true });
    });

    it('revokes the vehicle certificate, prints serial and thumbprint, reissues the CRL; enforced by the gateway', async () => {
      const cert = certOf('TRK-002');
      const serial = normaliseSerial(cert.serialNumber);
      const thumbprint = createHash('sha256').update(cert.raw).digest('hex');
      let open: Session | 'refused' | undefined;
      if (engine.name === 'postgres') {
        // PostgreSQL: the gateway keeps running on the same store while the CLI revokes.
        gateway = await start();
        open = await telemetrySession(gateway, dir, 'TRK-002', 1n);
        expect(open).not.toBe('refused');
      }

      const revoked = await fleetgate([
        'device',
        'revoke',
        'TRK-002',
        '--reason',
        'keyCompromise',
        '--data-dir',
        dir,
        '--operator',
        'alice',
      ]);
      expect(revoked.code, revoked.out + revoked.err).toBe(0);
      expect(revoked.out).toContain(
        `revoked serial ${serial} sha256 ${thumbprint} vehicle TRK-002 reason keyCompromise`,
      );
      expect(revoked.out).toMatch(/CRL number \d+ written to .*crl\.pem/);
      const crl = openssl(['crl', '-in', join(dir, 'pki', 'crl.pem'), '-noout', '-text']);
      expect(crl.stdout).toContain(`Serial Number: ${serial.toUpperCase()}`);

      if (open !== undefined && open !== 'refused') {
        const session = open;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          session.closed,
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('the open session was not closed within 5 s')), 5_000);
          }),
        ]).finally(() => clearTimeout(timer));
      } else {
        gateway = await start(); // PGlite: the gateway starts after the CLI has exited
      }
      const gw = gateway;
      if (gw === undefined) throw new Error('no gateway running');
      expect(await telemetrySession(gw, dir, 'TRK-002', 2n)).toBe('refused');
      const fine = await telemetrySession(gw, dir, 'TRK-001', 1n);
      expect(fine).not.toBe('refused');
      if (fine !== 'refused') {
        expect(fine.status).toBe(202);
        fine.close();
      }
      const ocsp = await opensslOcsp(
        dir,
        `https://127.0.0.1:${gw.addresses.public.port}/ocsp`,
        join(dir, 'pki', 'devices', 'TRK-002', 'cert.pem'),
        ['-resp_text'],
      );
      expect(ocsp.out).toMatch(/TRK-002\/cert\.pem: revoked/);
      expect(ocsp.out).toMatch(/Reason: keyCompromise/);
    });

    it('is idempotent, and refuses unknown vehicles, non-vehicle serials and unknown reasons', async () => {
      const again = await fleetgate([
        'device',
        'revoke',
        'TRK-002',
        '--reason',
        'superseded',
        '--data-dir',
        dir,
      ]);
      expect(again.code, again.out + again.err).toBe(0);
      expect(again.out).toMatch(/already revoked serial [0-9a-f]+ .* reason keyCompromise/);
      // By serial, upper case accepted.
      const bySerial = await fleetgate([
        'device',
        'revoke',
        certOf('TRK-003').serialNumber.toUpperCase(),
        '--reason',
        'cessationOfOperation',
        '--data-dir',
        dir,
        '--json',
      ]);
      expect(bySerial.code, bySerial.err).toBe(0);
      expect(JSON.parse(bySerial.out)).toMatchObject({
        revoked: [{ vehicleId: 'TRK-003', reason: 'cessationOfOperation', alreadyRevoked: false }],
      });
      const unknown = await fleetgate([
        'device',
        'revoke',
        'TRK-999',
        '--reason',
        'superseded',
        '--data-dir',
        dir,
      ]);
      expect(unknown.code).toBe(1);
      expect(unknown.err).toMatch(/no vehicle certificate matches "TRK-999"/);
      const partner = new X509Certificate(readFileSync(join(dir, 'pki', 'partners', 'acme-tms', 'cert.pem')));
      const notVehicle = await fleetgate([
        'device',
        'revoke',
        partner.serialNumber,
        '--reason',
        'superseded',
        '--data-dir',
        dir,
      ]);
      expect(notVehicle.code).toBe(1);
      expect(notVehicle.err).toMatch(/is a partner certificate/);
      const badReason = await fleetgate([
        'device',
        'revoke',
        'TRK-001',
        '--reason',
        'certificateHold',
        '--data-dir',
        dir,
      ]);
      expect(badReason.code).toBe(2);
      const noReason = await fleetgate(['device', 'revoke', 'TRK-001', '--data-dir', dir]);
      expect(noReason.code).toBe(2);
    });
  });
}
