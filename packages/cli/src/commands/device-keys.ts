/**
 * `fleetgate device keys add|list|revoke|require`: a vehicle's telemetry signing keys beside its
 * certificate key, and its signature policy (docs/telemetry.md "Device keys"). Each change goes through
 * the gateway's library functions (telemetry/device-keys/*) — one transaction with its audit entry —
 * and is sealed with a signed checkpoint.
 *
 *   keys add <vehicle> --alg ecdsa-p256-sha256 --public-key p256.pub.pem
 *   keys add <vehicle> --alg ed25519+ml-dsa-65 --public-key mldsa65.pub.pem
 *       (the hybrid's Ed25519 half is the vehicle's certificate key; the composite key id devices put in
 *        envelopes is printed for each active certificate of the vehicle)
 *   keys add <vehicle> --alg hmac-sha256 (--secret-file FILE | --generate-secret NEW_FILE)
 *       (32–64 raw bytes; stored wrapped under DIR/pki/telemetry/kek.key; --generate-secret writes 32 random
 *        bytes to a new 0600 file for provisioning the ECU — the secret is never printed)
 *   keys list <vehicle>            keys revoke <vehicle> <key-id>            keys require <vehicle> <suite|any>
 *
 * With the embedded PGlite store the gateway must be stopped (one process owns the data directory); on
 * PostgreSQL a running gateway applies a change within telemetryIngest.deviceKeyCacheMs.
 * Exit codes: 0 done, 1 refused (invalid key, already registered, unknown key id), 2 usage error.
 */
import { createPublicKey, type KeyObject, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SIGNATURE_ALGORITHMS, type SignatureAlgorithm } from '@fleetgate/core/signature/algorithm';
import { hybridEd25519MlDsa65KeyIdOf } from '@fleetgate/core/signature/hybrid-ed25519-mldsa65';
import { loadAuditKeys } from '@fleetgate/gateway/audit/keys';
import { AuditLog } from '@fleetgate/gateway/audit/log';
import { loadConfig } from '@fleetgate/gateway/config/load';
import { listCertificates } from '@fleetgate/gateway/pki/inventory';
import { syncInventoryFromDataDir } from '@fleetgate/gateway/pki/inventory-sync';
import { openStore } from '@fleetgate/gateway/store';
import type { Store } from '@fleetgate/gateway/store/types';
import { loadOrCreateKek } from '@fleetgate/gateway/telemetry/device-keys/kek';
import { listDeviceKeys } from '@fleetgate/gateway/telemetry/device-keys/list';
import { setSignaturePolicy } from '@fleetgate/gateway/telemetry/device-keys/policy';
import {
  DEVICE_KEY_ALGORITHMS,
  type DeviceKeyAlgorithm,
  HMAC_SECRET_MAX_BYTES,
  registerDeviceKey,
} from '@fleetgate/gateway/telemetry/device-keys/register';
import { revokeDeviceKey } from '@fleetgate/gateway/telemetry/device-keys/revoke';
import { Command, Option } from 'commander';

const OPERATOR = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const MAX_KEY_FILE_BYTES = 16 * 1024;

interface Common {
  dataDir: string;
  operator?: string;
  json?: boolean;
}

interface Session {
  store: Store;
  audit: AuditLog;
  dataDir: string;
  actor: { kind: 'operator'; id: string };
}

/** Opens the data directory's store and audit log, runs `fn`, seals the log, closes the store. */
async function withStore<T>(opts: Common, fn: (s: Session) => Promise<T>): Promise<T> {
  const operator = opts.operator ?? process.env.USER ?? 'cli';
  if (!OPERATOR.test(operator)) throw new Error('--operator must be 1-64 letters, digits, . _ @ -');
  const dataDir = resolve(opts.dataDir);
  const config = loadConfig(dataDir);
  const store = await openStore(
    config.store.engine === 'pglite'
      ? { engine: 'pglite', dataDir: join(dataDir, 'store') }
      : { engine: 'postgres', url: config.store.url },
  );
  try {
    const keys = loadAuditKeys(dataDir, config.audit.origin);
    const audit = new AuditLog(store, {
      origin: config.audit.origin,
      privateKey: keys.privateKey,
      mlDsaPrivateKey: keys.mlDsaPrivateKey,
    });
    const result = await fn({ store, audit, dataDir, actor: { kind: 'operator', id: operator } });
    await audit.publish();
    return result;
  } finally {
    await store.close();
  }
}

function readSmallFile(path: string, what: string): Buffer {
  const bytes = readFileSync(path);
  if (bytes.byteLength > MAX_KEY_FILE_BYTES) throw new Error(`${what} ${path} is larger than 16 KiB`);
  return bytes;
}

function readPublicKey(path: string): KeyObject {
  try {
    return createPublicKey(readSmallFile(path, 'public key'));
  } catch (cause) {
    throw new Error(`${path}: not a PEM or DER public key (${(cause as Error).message})`, { cause });
  }
}

/** 32 random bytes in a file that must not exist yet, owner-only. */
function generateSecret(path: string): Uint8Array {
  const secret = new Uint8Array(randomBytes(32));
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, secret);
  } finally {
    closeSync(fd);
  }
  return secret;
}

/**
 * Composite key ids of the hybrid for each active certificate of the vehicle (what envelopes name). The
 * inventory is brought up to date with the data directory first, as the gateway does at every start.
 */
async function hybridKeyIds(
  store: Store,
  dataDir: string,
  vehicleId: string,
  mlDsa65: KeyObject,
): Promise<string[]> {
  await store.transaction((tx) => syncInventoryFromDataDir(tx, dataDir));
  const certificates = await listCertificates(store, {
    kind: 'vehicle',
    subjectId: vehicleId,
    status: 'active',
  });
  return certificates.flatMap((c) => {
    const ed25519 = createPublicKey(c.pem);
    return ed25519.asymmetricKeyType === 'ed25519' ? [hybridEd25519MlDsa65KeyIdOf({ ed25519, mlDsa65 })] : [];
  });
}

function print(opts: Common, value: Record<string, unknown>, text: string): void {
  console.log(opts.json === true ? JSON.stringify(value, null, 2) : text);
}

function addCommand(setExit: (code: number) => void): Command {
  return new Command('add')
    .description('register a telemetry signing key for a vehicle')
    .argument('<vehicle>', 'vehicle id, e.g. TRK-001')
    .addOption(
      new Option('--alg <suite>', 'the key’s suite').choices(DEVICE_KEY_ALGORITHMS).makeOptionMandatory(),
    )
    .option('--public-key <file>', 'P-256 or ML-DSA-65 public key (PEM or DER SubjectPublicKeyInfo)')
    .option('--secret-file <file>', `HMAC secret: ${32} to ${HMAC_SECRET_MAX_BYTES} raw bytes`)
    .option('--generate-secret <file>', 'HMAC: write 32 random bytes to this new 0600 file and register them')
    .requiredOption('--data-dir <dir>', 'data directory created by `fleetgate init`')
    .option('--operator <id>', 'who registers, for the audit log (default: $USER)')
    .option('--json', 'print the result as JSON')
    .action(
      async (
        vehicleId: string,
        opts: Common & {
          alg: DeviceKeyAlgorithm;
          publicKey?: string;
          secretFile?: string;
          generateSecret?: string;
        },
      ) => {
        const hmac = opts.alg === 'hmac-sha256';
        if (
          hmac
            ? opts.publicKey !== undefined
            : opts.secretFile !== undefined || opts.generateSecret !== undefined
        ) {
          throw new Error(
            hmac ? 'hmac-sha256 takes a secret, not a public key' : `${opts.alg} takes --public-key`,
          );
        }
        if (hmac && (opts.secretFile === undefined) === (opts.generateSecret === undefined)) {
          throw new Error('hmac-sha256 needs exactly one of --secret-file and --generate-secret');
        }
        if (!hmac && opts.publicKey === undefined) throw new Error(`${opts.alg} needs --public-key`);
        await withStore(opts, async ({ store, audit, dataDir, actor }) => {
          let registered: Awaited<ReturnType<typeof registerDeviceKey>>;
          let composite: string[] = [];
          if (hmac) {
            const secret =
              opts.secretFile !== undefined
                ? new Uint8Array(readSmallFile(opts.secretFile, 'secret file'))
                : generateSecret(resolve(opts.generateSecret as string));
            registered = await registerDeviceKey(
              { store, audit, kek: loadOrCreateKek(dataDir) },
              { vehicleId, algorithm: opts.alg, secret, actor },
            );
            secret.fill(0);
          } else {
            const publicKey = readPublicKey(opts.publicKey as string);
            registered = await registerDeviceKey(
              { store, audit },
              { vehicleId, algorithm: opts.alg, publicKey, actor },
            );
            if (opts.alg === 'ed25519+ml-dsa-65')
              composite = await hybridKeyIds(store, dataDir, vehicleId, publicKey);
          }
          print(
            opts,
            { ...registered, ...(composite.length > 0 ? { envelopeKeyIds: composite } : {}) },
            [
              `registered ${registered.algorithm} key ${registered.keyId} for ${registered.vehicleId} (audit index ${registered.auditIndex})`,
              ...composite.map(
                (id) => `envelopes name the hybrid key id ${id} (with the active certificate key)`,
              ),
            ].join('\n'),
          );
        });
        setExit(0);
      },
    );
}

function listCommand(setExit: (code: number) => void): Command {
  return new Command('list')
    .description("list a vehicle's telemetry signing keys and its signature policy (never a secret)")
    .argument('<vehicle>', 'vehicle id')
    .requiredOption('--data-dir <dir>', 'data directory created by `fleetgate init`')
    .option('--json', 'print the result as JSON')
    .action(async (vehicleId: string, opts: Common) => {
      await withStore(opts, async ({ store }) => {
        const keys = await listDeviceKeys(store, vehicleId);
        const lines = [
          `vehicle ${vehicleId}: policy ${keys.requiredAlgorithm ?? 'any registered suite'}`,
          '  certificate key (ed25519): see `fleetgate device show`',
          ...keys.keys.map(
            (k) => `  ${k.algorithm} ${k.keyId} ${k.status} since ${k.createdAt.toISOString()}`,
          ),
        ];
        print(opts, { ...keys }, lines.join('\n'));
      });
      setExit(0);
    });
}

function revokeCommand(setExit: (code: number) => void): Command {
  return new Command('revoke')
    .description('revoke one telemetry signing key of a vehicle')
    .argument('<vehicle>', 'vehicle id')
    .argument('<key-id>', 'the key id (64 hex digits)')
    .requiredOption('--data-dir <dir>', 'data directory created by `fleetgate init`')
    .option('--operator <id>', 'who revokes, for the audit log (default: $USER)')
    .option('--json', 'print the result as JSON')
    .action(async (vehicleId: string, keyId: string, opts: Common) => {
      await withStore(opts, async ({ store, audit, actor }) => {
        const result = await revokeDeviceKey({ store, audit }, { vehicleId, keyId, actor });
        print(
          opts,
          { vehicleId, keyId, ...result },
          `${result.alreadyRevoked ? 'already revoked' : 'revoked'} ${keyId}`,
        );
      });
      setExit(0);
    });
}

function requireCommand(setExit: (code: number) => void): Command {
  return new Command('require')
    .description('require every envelope of a vehicle to carry a valid signature of one suite (or "any")')
    .argument('<vehicle>', 'vehicle id')
    .argument('<suite>', `${SIGNATURE_ALGORITHMS.join(', ')} or any`)
    .requiredOption('--data-dir <dir>', 'data directory created by `fleetgate init`')
    .option('--operator <id>', 'who sets the policy, for the audit log (default: $USER)')
    .option('--json', 'print the result as JSON')
    .action(async (vehicleId: string, suite: string, opts: Common) => {
      if (suite !== 'any' && !(SIGNATURE_ALGORITHMS as readonly string[]).includes(suite)) {
        throw new Error(`suite must be one of ${SIGNATURE_ALGORITHMS.join(', ')} or any`);
      }
      const requiredAlgorithm = suite === 'any' ? null : (suite as SignatureAlgorithm);
      await withStore(opts, async ({ store, audit, actor }) => {
        const result = await setSignaturePolicy({ store, audit }, { vehicleId, requiredAlgorithm, actor });
        print(opts, { vehicleId, requiredAlgorithm, ...result }, `${vehicleId} now requires ${suite}`);
      });
      setExit(0);
    });
}

export function deviceKeysCommand(setExit: (code: number) => void): Command {
  const keys = new Command('keys').description(
    "a vehicle's telemetry signing keys (ECDSA P-256, HMAC-SHA256, the hybrid's ML-DSA-65 half) and signature policy",
  );
  for (const command of [
    addCommand(setExit),
    listCommand(setExit),
    revokeCommand(setExit),
    requireCommand(setExit),
  ]) {
    keys.addCommand(command);
  }
  return keys;
}
