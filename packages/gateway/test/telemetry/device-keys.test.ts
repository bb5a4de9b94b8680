/**
 * Device keys: the library on every store engine, and `fleetgate device keys` end to end on PGlite.
 *  - the key-wrapping key is a 0600 file in a 0700 directory, stable across loads, refused when others
 *    can read it; a wrapped secret is bound to its vehicle and key id (AES-256-GCM AAD);
 *  - registration refuses wrong key types and sizes, private keys and duplicates; no secret reaches the
 *    store unwrapped or any audit entry; a secret moved to another vehicle's row no longer unwraps;
 *  - the CLI registers an ECDSA key, a hybrid ML-DSA-65 key and a generated HMAC secret, lists them,
 *    sets a policy, and a gateway started on that data directory accepts batches signed with each.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateHmacSha256Key, hmacSha256KeyFromBytes } from '@fleetgate/core/signature/hmac-sha256';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deviceKeysCommand } from '../../../cli/src/commands/device-keys.ts';
import { initDataDir } from '../../../cli/src/commands/init.ts';
import { AuditLog } from '../../src/audit/log.ts';
import { loadConfig } from '../../src/config/load.ts';
import { startGateway } from '../../src/gateway.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import {
  kekPath,
  loadKek,
  loadOrCreateKek,
  unwrapSecret,
  wrapSecret,
} from '../../src/telemetry/device-keys/kek.ts';
import { DeviceKeyring } from '../../src/telemetry/device-keys/keyring.ts';
import { listDeviceKeys } from '../../src/telemetry/device-keys/list.ts';
import { registerDeviceKey } from '../../src/telemetry/device-keys/register.ts';
import { dropSchema, engines, uniqueSchema } from '../support/engines.ts';
import { batchBytes } from '../support/envelopes.ts';
import { httpsRequest } from '../support/https-client.ts';
import {
  ecdsaSigner,
  ed25519Signer,
  envelope,
  hmacSigner,
  hybridSigner,
  type SuiteSigner,
} from './support.ts';

const operator = { kind: 'operator', id: 'test-operator' } as const;

describe('the key-wrapping key', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fleetgate-kek-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is created once, owner-only, and binds each wrapped secret to its vehicle and key id', () => {
    const kek = loadOrCreateKek(dir);
    expect(statSync(kekPath(dir)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'pki', 'telemetry')).mode & 0o777).toBe(0o700);
    expect(loadOrCreateKek(dir).id).toBe(kek.id);
    const secret = new Uint8Array(randomBytes(32));
    const binding = { vehicleId: 'TRK-001', keyId: 'ab'.repeat(32) };
    const wrapped = wrapSecret(kek, secret, binding);
    expect(Buffer.from(wrapped).includes(Buffer.from(secret))).toBe(false);
    expect(unwrapSecret(kek, wrapped, binding)).toEqual(secret);
    expect(() => unwrapSecret(kek, wrapped, { ...binding, vehicleId: 'TRK-002' })).toThrow();
    expect(() => unwrapSecret(kek, wrapped, { ...binding, keyId: 'cd'.repeat(32) })).toThrow();
    const tampered = wrapped.slice();
    tampered[20] = (tampered[20] as number) ^ 1;
    expect(() => unwrapSecret(kek, tampered, binding)).toThrow();
    chmodSync(kekPath(dir), 0o640);
    expect(() => loadKek(dir)).toThrow(/group or others/);
    chmodSync(kekPath(dir), 0o600);
  });
});

for (const engine of engines()) {
  describe(`device key registration on ${engine.name}`, () => {
    let store: Store;
    let audit: AuditLog;
    let schema: string | undefined;
    let dir: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'fleetgate-devkeys-'));
      schema = engine.name === 'postgres' ? uniqueSchema() : undefined;
      store = await openStore(
        engine.name === 'postgres' && engine.url
          ? { engine: 'postgres', url: engine.url, ...(schema ? { schema } : {}) }
          : { engine: 'pglite', dataDir: undefined },
      );
      audit = new AuditLog(store, {
        origin: 'test.fleetgate/audit',
        privateKey: generateKeyPairSync('ed25519').privateKey,
        mlDsaPrivateKey: generateKeyPairSync('ml-dsa-65').privateKey,
      });
    });
    afterAll(async () => {
      await store?.close();
      if (schema && engine.url) await dropSchema(engine.url, schema);
      rmSync(dir, { recursive: true, force: true });
    });

    it('refuses wrong key types and sizes, private keys, duplicates and bad vehicle ids', async () => {
      const kek = loadOrCreateKek(dir);
      const deps = { store, audit, kek };
      const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const cases: [string, Parameters<typeof registerDeviceKey>[1]][] = [
        [
          'a P-384 key',
          {
            vehicleId: 'TRK-001',
            algorithm: 'ecdsa-p256-sha256',
            publicKey: generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey,
            actor: operator,
          },
        ],
        [
          'an Ed25519 key as ECDSA',
          {
            vehicleId: 'TRK-001',
            algorithm: 'ecdsa-p256-sha256',
            publicKey: generateKeyPairSync('ed25519').publicKey,
            actor: operator,
          },
        ],
        [
          'an ML-DSA-44 key as the hybrid half',
          {
            vehicleId: 'TRK-001',
            algorithm: 'ed25519+ml-dsa-65',
            publicKey: generateKeyPairSync('ml-dsa-44').publicKey,
            actor: operator,
          },
        ],
        [
          'a private key',
          {
            vehicleId: 'TRK-001',
            algorithm: 'ecdsa-p256-sha256',
            publicKey: p256.privateKey,
            actor: operator,
          },
        ],
        ['no key', { vehicleId: 'TRK-001', algorithm: 'ecdsa-p256-sha256', actor: operator }],
        [
          'a 31-byte secret',
          { vehicleId: 'TRK-001', algorithm: 'hmac-sha256', secret: new Uint8Array(31), actor: operator },
        ],
        [
          'a 65-byte secret',
          { vehicleId: 'TRK-001', algorithm: 'hmac-sha256', secret: new Uint8Array(65), actor: operator },
        ],
        [
          'a vehicle id with a slash',
          {
            vehicleId: 'TRK/001',
            algorithm: 'ecdsa-p256-sha256',
            publicKey: p256.publicKey,
            actor: operator,
          },
        ],
      ];
      for (const [name, input] of cases) {
        await expect(registerDeviceKey(deps, input), name).rejects.toMatchObject({ code: 'REQUEST_INVALID' });
      }
      await expect(
        registerDeviceKey(
          { store, audit },
          { vehicleId: 'TRK-001', algorithm: 'hmac-sha256', secret: new Uint8Array(32), actor: operator },
        ),
      ).rejects.toThrow(/key-wrapping key/);
      await registerDeviceKey(deps, {
        vehicleId: 'TRK-001',
        algorithm: 'ecdsa-p256-sha256',
        publicKey: p256.publicKey,
        actor: operator,
      });
      // The same key again — for this vehicle or another — is refused: one key signs for one vehicle.
      for (const vehicleId of ['TRK-001', 'TRK-002']) {
        await expect(
          registerDeviceKey(deps, {
            vehicleId,
            algorithm: 'ecdsa-p256-sha256',
            publicKey: p256.publicKey,
            actor: operator,
          }),
        ).rejects.toThrow(/already registered/);
      }
    });

    it('stores HMAC secrets only wrapped, audits without them, and leaves out a secret moved to another vehicle', async () => {
      const kek = loadOrCreateKek(dir);
      const secret = new Uint8Array(randomBytes(48));
      const r = await registerDeviceKey(
        { store, audit, kek },
        { vehicleId: 'TRK-003', algorithm: 'hmac-sha256', secret, actor: operator },
      );
      const [row] = await store.query<{ wrapped_secret: Uint8Array; kek_id: string }>(
        'SELECT wrapped_secret, kek_id FROM device_keys WHERE key_id = $1',
        [r.keyId],
      );
      expect(row?.kek_id).toBe(kek.id);
      expect(Buffer.from(row?.wrapped_secret ?? []).includes(Buffer.from(secret))).toBe(false);
      const entries = (await store.query<{ entry: string }>('SELECT entry FROM audit_entries'))
        .map((e) => e.entry)
        .join('\n');
      for (const form of ['hex', 'base64', 'base64url'] as const)
        expect(entries).not.toContain(Buffer.from(secret).toString(form));
      expect(entries).toContain(r.keyId);

      const warnings: unknown[] = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line)) });
      const keyring = new DeviceKeyring({ db: store, kek, cacheMs: 0, logger });
      expect((await keyring.get('TRK-003')).hmac.has(r.keyId)).toBe(true);
      await store.query("UPDATE device_keys SET vehicle_id = 'TRK-004' WHERE key_id = $1", [r.keyId]);
      expect((await keyring.get('TRK-004')).hmac.size).toBe(0);
      expect(JSON.stringify(warnings)).toContain('device key left out');
      expect(JSON.stringify(warnings)).not.toContain(Buffer.from(secret).toString('hex'));
      // Under another gateway's key-wrapping key nothing unwraps either.
      const other = new DeviceKeyring({
        db: store,
        kek: loadOrCreateKek(mkdtempSync(join(dir, 'other-'))),
        cacheMs: 0,
      });
      await store.query("UPDATE device_keys SET vehicle_id = 'TRK-003' WHERE key_id = $1", [r.keyId]);
      expect((await other.get('TRK-003')).hmac.size).toBe(0);

      const listed = await listDeviceKeys(store, 'TRK-003');
      expect(listed.keys.map((k) => [k.algorithm, k.keyId, k.status])).toEqual([
        ['hmac-sha256', r.keyId, 'active'],
      ]);
      expect(JSON.stringify(listed)).not.toMatch(/wrapped|secret/);
    });
  });
}

describe('fleetgate device keys (CLI, PGlite)', () => {
  let dir: string;
  const out: string[] = [];
  const cli = async (...args: string[]): Promise<number> => {
    let code = -1;
    const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
      out.push(String(line));
    });
    try {
      const command = deviceKeysCommand((c) => {
        code = c;
      });
      // As main.ts does: usage errors throw instead of exiting the process.
      for (const c of [command, ...command.commands]) c.exitOverride();
      const who = args[0] === 'list' ? [] : ['--operator', 'ops-test'];
      await command.parseAsync([...args, '--data-dir', dir, ...who], { from: 'user' });
    } finally {
      spy.mockRestore();
    }
    return code;
  };

  // The CLI follows DATABASE_URL like every command; this test keeps it on the data directory's PGlite.
  const databaseUrl = process.env.DATABASE_URL;
  beforeAll(async () => {
    delete process.env.DATABASE_URL;
    dir = mkdtempSync(join(tmpdir(), 'fleetgate-cli-keys-'));
    await initDataDir({
      dataDir: dir,
      vehicles: 2,
      env: {},
      configure: (c) => {
        for (const l of Object.values(c.listeners)) {
          l.host = '127.0.0.1';
          l.port = 0;
        }
        c.log.level = 'silent';
      },
    });
  });
  afterAll(() => {
    if (databaseUrl !== undefined) process.env.DATABASE_URL = databaseUrl;
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers each suite’s key, lists them, sets a policy, and the gateway accepts their signatures', async () => {
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ml = generateKeyPairSync('ml-dsa-65');
    writeFileSync(join(dir, 'p256.pub.pem'), p256.publicKey.export({ format: 'pem', type: 'spki' }));
    writeFileSync(join(dir, 'ml.pub.pem'), ml.publicKey.export({ format: 'pem', type: 'spki' }));
    expect(
      await cli('add', 'TRK-001', '--alg', 'ecdsa-p256-sha256', '--public-key', join(dir, 'p256.pub.pem')),
    ).toBe(0);
    expect(
      await cli(
        'add',
        'TRK-001',
        '--alg',
        'ed25519+ml-dsa-65',
        '--public-key',
        join(dir, 'ml.pub.pem'),
        '--json',
      ),
    ).toBe(0);
    const hybridOut = JSON.parse(out.at(-1) as string);
    const secretPath = join(dir, 'trk-001.hmac');
    expect(
      await cli('add', 'TRK-001', '--alg', 'hmac-sha256', '--generate-secret', secretPath, '--json'),
    ).toBe(0);
    const hmacOut = JSON.parse(out.at(-1) as string);
    expect(statSync(secretPath).mode & 0o777).toBe(0o600);
    const secret = readFileSync(secretPath);
    expect(out.join('\n')).not.toContain(secret.toString('hex'));
    await expect(
      cli('add', 'TRK-001', '--alg', 'hmac-sha256', '--generate-secret', secretPath),
    ).rejects.toThrow(/EEXIST/);
    await expect(
      cli('add', 'TRK-001', '--alg', 'hmac-sha256', '--public-key', join(dir, 'p256.pub.pem')),
    ).rejects.toThrow(/takes a secret/);
    expect(await cli('list', 'TRK-001', '--json')).toBe(0);
    const listed = JSON.parse(out.at(-1) as string);
    expect(listed.keys.map((k: { algorithm: string }) => k.algorithm).sort()).toEqual([
      'ecdsa-p256-sha256',
      'ed25519+ml-dsa-65',
      'hmac-sha256',
    ]);
    expect(await cli('require', 'TRK-002', 'ed25519+ml-dsa-65')).toBe(0);

    const gateway = await startGateway({
      dataDir: dir,
      config: loadConfig(dir, {}),
      logger: pino({ level: 'silent' }),
    });
    try {
      const read = (f: string) => readFileSync(join(dir, 'pki', 'devices', 'TRK-001', f), 'utf8');
      const creds = {
        ca: readFileSync(join(dir, 'pki', 'ca.pem'), 'utf8'),
        chain: read('chain.pem'),
        key: read('key.pem'),
      };
      const certKey = createPrivateKey(creds.key);
      const hybrid = hybridSigner(certKey, ml.privateKey);
      expect(hybridOut.envelopeKeyIds).toEqual([hybrid.keyId]);
      const signers: SuiteSigner[] = [
        ed25519Signer(certKey),
        ecdsaSigner(p256.privateKey),
        hmacSigner(hmacSha256KeyFromBytes(secret), hmacOut.keyId),
        hybrid,
      ];
      let counter = 0n;
      for (const signer of signers) {
        counter += 1n;
        const res = await httpsRequest(`https://127.0.0.1:${gateway.addresses.telemetry.port}/v1/telemetry`, {
          ca: creds.ca,
          cert: creds.chain,
          key: creds.key,
          contentType: 'application/x-protobuf',
          body: envelope(counter, batchBytes('TRK-001'), [signer]),
        });
        expect({ algorithm: signer.algorithm, status: res.status }).toEqual({
          algorithm: signer.algorithm,
          status: 202,
        });
      }
      // An HMAC secret the gateway never registered is not accepted.
      const stranger = hmacSigner(generateHmacSha256Key(), hmacOut.keyId);
      const res = await httpsRequest(`https://127.0.0.1:${gateway.addresses.telemetry.port}/v1/telemetry`, {
        ca: creds.ca,
        cert: creds.chain,
        key: creds.key,
        contentType: 'application/x-protobuf',
        body: envelope(99n, batchBytes('TRK-001'), [stranger]),
      });
      expect(res.json().code).toBe('TELEMETRY_SIGNATURE_INVALID');
    } finally {
      await gateway.close();
    }
  });
});
