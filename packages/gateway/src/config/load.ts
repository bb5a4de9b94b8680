/**
 * Loads DIR/fleetgate.json, applies environment overrides, validates. Overrides (docs/operations.md):
 * DATABASE_URL (switches the store to PostgreSQL), FLEETGATE_BIND_HOST, FLEETGATE_CONTROL_PORT,
 * FLEETGATE_TELEMETRY_PORT, FLEETGATE_PUBLIC_PORT, FLEETGATE_OPS_HOST, FLEETGATE_OPS_PORT, FLEETGATE_LOG_LEVEL.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GatewayConfig } from './config.ts';
import { ConfigError, validateConfig } from './validate.ts';

export const CONFIG_FILE = 'fleetgate.json';
const MAX_CONFIG_BYTES = 1_048_576;

export function configPath(dataDir: string): string {
  return join(dataDir, CONFIG_FILE);
}

export function loadConfig(dataDir: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const path = configPath(dataDir);
  if (!existsSync(path))
    throw new ConfigError([`${path}: not found (run \`fleetgate init --data-dir ${dataDir}\`)`]);
  const text = readFileSync(path, 'utf8');
  if (text.length > MAX_CONFIG_BYTES) throw new ConfigError([`${path}: larger than 1 MiB`]);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError([`${path}: not valid JSON (${(cause as Error).message})`]);
  }
  return applyEnvironment(validateConfig(doc), env);
}

export function applyEnvironment(config: GatewayConfig, env: NodeJS.ProcessEnv): GatewayConfig {
  const out = structuredClone(config);
  const port = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) throw new ConfigError([`${name}: not a port number`]);
    return Number(v);
  };
  const host = env.FLEETGATE_BIND_HOST;
  if (host) for (const k of ['controlPlane', 'telemetry', 'public'] as const) out.listeners[k].host = host;
  const overrides = [
    ['FLEETGATE_CONTROL_PORT', 'controlPlane'],
    ['FLEETGATE_TELEMETRY_PORT', 'telemetry'],
    ['FLEETGATE_PUBLIC_PORT', 'public'],
    ['FLEETGATE_OPS_PORT', 'ops'],
  ] as const;
  for (const [name, key] of overrides) {
    const p = port(name);
    if (p !== undefined) out.listeners[key].port = p;
  }
  if (env.FLEETGATE_OPS_HOST) out.listeners.ops.host = env.FLEETGATE_OPS_HOST;
  if (env.DATABASE_URL) out.store = { engine: 'postgres', url: env.DATABASE_URL };
  if (env.FLEETGATE_LOG_LEVEL) {
    out.log.level = validateConfig({
      ...structuredClone(config),
      log: { level: env.FLEETGATE_LOG_LEVEL },
    }).log.level;
  }
  return out;
}
