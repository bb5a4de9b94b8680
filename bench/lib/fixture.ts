/**
 * A real gateway in this process for a benchmark: a temporary data directory with a freshly generated
 * PKI (bootstrapPki; nothing committed), every listener on 127.0.0.1 port 0, embedded PGlite in the
 * data directory, and the default configuration otherwise — including request logging at the default
 * level, written to /dev/null so its cost is measured without flooding the output. Removed on stop.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, type GatewayConfig } from '@fleetgate/gateway/config';
import { type Gateway, startGateway } from '@fleetgate/gateway/gateway';
import type { TlsMaterial } from '@fleetgate/gateway/http/tls-policy';
import { bootstrapPki } from '@fleetgate/gateway/pki/bootstrap';
import pino from 'pino';

export interface Credentials {
  /** Leaf then intermediate, as a client presents it. */
  chain: string;
  key: string;
}

export interface BenchGateway {
  gateway: Gateway;
  /** The CA bundle clients trust and the gateway verifies client certificates against. */
  ca: string;
  /** The gateway's own server key, chain and CA bundle, for a limit listener built the same way. */
  serverTls: TlsMaterial;
  url: { control: string; telemetry: string };
  vehicle(id: string): Credentials;
  partner(id: string): Credentials;
  stop(): Promise<void>;
}

export async function startBenchGateway(fleet: {
  vehicles: string[];
  partners: GatewayConfig['partners'];
}): Promise<BenchGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetgate-bench-'));
  try {
    const config = defaultConfig();
    for (const l of Object.values(config.listeners)) {
      l.host = '127.0.0.1';
      l.port = 0;
    }
    config.fleet.vehicles = fleet.vehicles;
    config.partners = fleet.partners;
    const manifest = await bootstrapPki(dataDir, {
      vehicles: fleet.vehicles,
      partners: fleet.partners.map((p) => p.id),
    });
    // The gateway's default logger (gateway.ts), pointed at /dev/null instead of stdout.
    const logger = pino(
      {
        level: config.log.level,
        redact: {
          paths: ['req.headers.authorization', 'req.headers.dpop', 'req.headers.cookie'],
          remove: true,
        },
      },
      pino.destination({ dest: '/dev/null', sync: true }),
    );
    const gateway = await startGateway({ dataDir, config, logger });
    const read = (path: string): string => readFileSync(path, 'utf8');
    const ca = read(manifest.caBundle);
    const creds = (paths: { chain: string; key: string } | undefined, what: string): Credentials => {
      if (paths === undefined) throw new Error(`no credentials for ${what}`);
      return { chain: read(paths.chain), key: read(paths.key) };
    };
    return {
      gateway,
      ca,
      serverTls: { key: read(manifest.server.key), cert: read(manifest.server.chain), ca },
      url: {
        control: `https://127.0.0.1:${gateway.addresses.controlPlane.port}`,
        telemetry: `https://127.0.0.1:${gateway.addresses.telemetry.port}`,
      },
      vehicle: (id) => creds(manifest.vehicles[id], `vehicle ${id}`),
      partner: (id) => creds(manifest.partners[id], `partner ${id}`),
      stop: async () => {
        try {
          await gateway.close();
        } finally {
          rmSync(dataDir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}
