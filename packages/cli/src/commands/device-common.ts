/**
 * What the `fleetgate device enroll|rotate|list|show` commands share: the data directory's store and
 * audit log opened the way the gateway opens them, the operator named in audit entries, and durations
 * on the command line.
 *
 * With the embedded PGlite store one process owns the data directory: stop the gateway first (the
 * commands fail to open a store the gateway holds). With PostgreSQL they run beside a live gateway,
 * which sees their revocations within a second and their tokens at once.
 */
import { join, resolve } from 'node:path';
import { loadAuditKeys } from '@fleetgate/gateway/audit/keys';
import { AuditLog } from '@fleetgate/gateway/audit/log';
import type { GatewayConfig } from '@fleetgate/gateway/config';
import { loadConfig } from '@fleetgate/gateway/config/load';
import { openStore } from '@fleetgate/gateway/store';
import type { Store } from '@fleetgate/gateway/store/types';
import { InvalidArgumentError } from 'commander';

export interface DeviceContext {
  readonly dataDir: string;
  readonly config: GatewayConfig;
  readonly store: Store;
  /** Present when `withAudit`: commands that decide something append to the audit log. */
  readonly audit: AuditLog | undefined;
}

/** Runs `fn` with the data directory's store (and audit log), sealing new audit entries and closing after. */
export async function withDeviceContext<T>(
  dataDirInput: string,
  withAudit: boolean,
  fn: (context: DeviceContext) => Promise<T>,
): Promise<T> {
  const dataDir = resolve(dataDirInput);
  const config = loadConfig(dataDir);
  const store = await openStore(
    config.store.engine === 'pglite'
      ? { engine: 'pglite', dataDir: join(dataDir, 'store') }
      : { engine: 'postgres', url: config.store.url },
  );
  try {
    const audit = withAudit ? auditLogFor(store, dataDir, config.audit.origin) : undefined;
    const result = await fn({ dataDir, config, store, audit });
    // A signed checkpoint covers what this command appended (the gateway would at its next tick).
    await audit?.publish();
    return result;
  } finally {
    await store.close();
  }
}

const OPERATOR = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** The operator recorded in audit entries: --operator, else $USER, else "cli". */
export function operatorActor(option: string | undefined): { kind: 'operator'; id: string } {
  const id = option ?? process.env.USER ?? 'cli';
  if (!OPERATOR.test(id)) throw new InvalidArgumentError('--operator must be 1-64 letters, digits, . _ @ -');
  return { kind: 'operator', id };
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** "90", "90s", "30m", "24h", "7d" → seconds (a commander argument parser). */
export function parseDuration(value: string): number {
  const match = /^([1-9][0-9]{0,7})([smhd]?)$/.exec(value);
  if (match === null) throw new InvalidArgumentError('expected a duration such as 3600, 30m, 24h or 7d');
  return Number(match[1]) * (UNITS[match[2] || 's'] ?? 1);
}

/** The data directory's audit log, signing checkpoints with both audit keys (Ed25519 + ML-DSA-65). */
function auditLogFor(store: Store, dataDir: string, origin: string): AuditLog {
  const keys = loadAuditKeys(dataDir, origin);
  return new AuditLog(store, { origin, privateKey: keys.privateKey, mlDsaPrivateKey: keys.mlDsaPrivateKey });
}
