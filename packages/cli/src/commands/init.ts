/**
 * `fleetgate init --data-dir DIR`: creates the data directory (0700), a validated config, the CA
 * hierarchy (root → intermediate), the server certificate, partner and device certificates, the audit
 * signing key, and the store schema. Idempotent: existing keys and config are kept, missing ones added.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ensureAuditKeys } from '@fleetgate/gateway/audit/keys';
import { defaultConfig, type GatewayConfig } from '@fleetgate/gateway/config';
import { configPath, loadConfig } from '@fleetgate/gateway/config/load';
import { bootstrapPki } from '@fleetgate/gateway/pki/bootstrap';
import { openStore } from '@fleetgate/gateway/store';
import { Command, InvalidArgumentError } from 'commander';

export interface InitOptions {
  dataDir: string;
  vehicles?: number;
  /** Overrides written into a new config (e.g. demo listeners on loopback). */
  configure?: (config: GatewayConfig) => void;
  env?: NodeJS.ProcessEnv;
}

export interface InitResult {
  dataDir: string;
  created: boolean;
  config: GatewayConfig;
}

export async function initDataDir(options: InitOptions): Promise<InitResult> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = configPath(dataDir);
  const created = !existsSync(path);
  if (created) {
    const config = defaultConfig();
    if (options.vehicles !== undefined) {
      config.fleet.vehicles = Array.from(
        { length: options.vehicles },
        (_, i) => `TRK-${String(i + 1).padStart(3, '0')}`,
      );
    }
    options.configure?.(config);
    writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  }
  const config = loadConfig(dataDir, options.env ?? process.env);
  await bootstrapPki(dataDir, {
    vehicles: config.fleet.vehicles,
    partners: config.partners.map((p) => p.id),
    keys: config.keys, // CA key custody: docs/pki.md "Key custody"
    tenantIssuingCas: config.pki.tenantIssuingCas, // docs/pki.md "Hierarchy"
    env: options.env ?? process.env,
  });
  ensureAuditKeys(dataDir, config.audit.origin);
  const store = await openStore(
    config.store.engine === 'pglite'
      ? { engine: 'pglite', dataDir: resolve(dataDir, 'store') }
      : { engine: 'postgres', url: config.store.url },
  );
  await store.close();
  return { dataDir, created, config };
}

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000)
    throw new InvalidArgumentError('an integer from 1 to 10000');
  return n;
};

export function initCommand(setExit: (code: number) => void): Command {
  return new Command('init')
    .description(
      'create a data directory: config, CA hierarchy, server/partner/device certificates, audit key, store',
    )
    .requiredOption('--data-dir <dir>', 'data directory')
    .option(
      '--vehicles <n>',
      'number of simulated vehicles to issue certificates for (new config only)',
      positiveInt,
    )
    .action(async (opts: { dataDir: string; vehicles?: number }) => {
      const result = await initDataDir({
        dataDir: opts.dataDir,
        ...(opts.vehicles ? { vehicles: opts.vehicles } : {}),
      });
      console.log(
        `${result.created ? 'initialised' : 'updated'} ${result.dataDir}: ` +
          `${result.config.fleet.vehicles.length} vehicle certificates in pki/devices/, ` +
          `${result.config.partners.length} partner certificate(s) in pki/partners/, trust bundle pki/ca.pem`,
      );
      setExit(0);
    });
}
