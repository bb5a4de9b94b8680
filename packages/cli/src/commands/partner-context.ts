/**
 * What the `fleetgate partner add|list|suspend|rotate-keys` commands share: the data directory's store
 * and audit log opened the way the gateway opens them (the configured partners seeded as clients first,
 * exactly as at gateway start), the operator named in audit entries, list and time-window arguments, and
 * exit codes (0 done, 1 failure, 2 usage error such as an invalid JWKS or scope).
 *
 * With the embedded PGlite store one process owns the data directory: stop the gateway first. With
 * PostgreSQL the commands run beside live gateways, which see a suspension or new keys within a second.
 */
import type { KeyObject } from 'node:crypto';
import { join, resolve } from 'node:path';
import { type AuditKeys, ensureAuditKeys } from '@fleetgate/gateway/audit/keys';
import { AuditLog } from '@fleetgate/gateway/audit/log';
import { AuthServerError } from '@fleetgate/gateway/auth/server/errors';
import { seedClientsFromConfig } from '@fleetgate/gateway/auth/server/seed-clients';
import type { GatewayConfig } from '@fleetgate/gateway/config';
import { loadConfig } from '@fleetgate/gateway/config/load';
import { openStore } from '@fleetgate/gateway/store';
import type { Store } from '@fleetgate/gateway/store/types';
import { InvalidArgumentError } from 'commander';

export interface PartnerContext {
  readonly dataDir: string;
  readonly config: GatewayConfig;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly now: () => Date;
}

export interface PartnerContextOptions {
  env?: NodeJS.ProcessEnv;
  /** For tests on PostgreSQL: the isolated schema the gateway under test uses. */
  postgresSchema?: string;
}

/** Runs `fn` with the store and audit log, seals what it appended with a checkpoint, closes. */
export async function withPartnerContext<T>(
  dataDirInput: string,
  fn: (context: PartnerContext) => Promise<T>,
  options: PartnerContextOptions = {},
): Promise<T> {
  const dataDir = resolve(dataDirInput);
  const config = loadConfig(dataDir, options.env ?? process.env);
  const store = await openStore(
    config.store.engine === 'pglite'
      ? { engine: 'pglite', dataDir: join(dataDir, 'store') }
      : {
          engine: 'postgres',
          url: config.store.url,
          ...(options.postgresSchema === undefined ? {} : { schema: options.postgresSchema }),
        },
  );
  try {
    const now = () => new Date();
    const audit = new AuditLog(
      store,
      { origin: config.audit.origin, ...signingKeys(ensureAuditKeys(dataDir, config.audit.origin)) },
      now,
    );
    await seedClientsFromConfig({ store, audit, now }, config.partners);
    const result = await fn({ dataDir, config, store, audit, now });
    // A signed checkpoint covers what this command appended (the gateway would at its next tick).
    await audit.publish();
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

/** Values of a repeatable, variadic option, each also split on commas: `--scopes a,b c` → [a, b, c]. */
export function listOf(values: readonly string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  return values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** `22:00-06:00@America/Chicago` → a policy time window (validated again by the policy parser). */
export function parseWindow(spec: string): { start: string; end: string; timeZone: string } {
  const match = /^(\d{2}:\d{2})-(\d{2}:\d{2})@([A-Za-z0-9_+/-]{1,64})$/.exec(spec);
  if (match === null || match[1] === undefined || match[2] === undefined || match[3] === undefined) {
    throw new InvalidArgumentError('a window is HH:MM-HH:MM@Area/City, e.g. 22:00-06:00@America/Chicago');
  }
  return { start: match[1], end: match[2], timeZone: match[3] };
}

/** Prints a command's failure and sets the exit code: 2 for a usage error, else 1. */
export function reportFailure(command: string, error: unknown, setExit: (code: number) => void): void {
  if (error instanceof AuthServerError || error instanceof InvalidArgumentError) {
    console.error(`fleetgate partner ${command}: ${error.message}`);
    setExit(error instanceof AuthServerError && error.code !== 'AS_INVALID_ARGUMENT' ? 1 : 2);
    return;
  }
  throw error;
}

/** Both audit signing keys: checkpoints carry Ed25519 and ML-DSA-65 signatures. */
function signingKeys(keys: AuditKeys): { privateKey: KeyObject; mlDsaPrivateKey: KeyObject } {
  return { privateKey: keys.privateKey, mlDsaPrivateKey: keys.mlDsaPrivateKey };
}
