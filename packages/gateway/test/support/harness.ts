/**
 * Starts a real gateway for integration tests: a temporary data directory with a freshly generated PKI
 * (no key is ever committed), every listener on 127.0.0.1 port 0, and the chosen store engine.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { defaultConfig, type GatewayConfig } from '../../src/config/config.ts';
import { type Gateway, startGateway } from '../../src/gateway.ts';
import { bootstrapPki } from '../../src/pki/bootstrap.ts';
import { dropSchema, type EngineCase, uniqueSchema } from './engines.ts';

export interface Credentials {
  cert: string;
  key: string;
  chain: string;
  ca: string;
}

export interface TestGateway {
  gateway: Gateway;
  dataDir: string;
  vehicles: string[];
  url: { control: string; telemetry: string; public: string; ops: string };
  vehicle(id: string): Credentials;
  partner(id: string): Credentials;
  caPath: string;
  /** On PostgreSQL: the isolated schema, for a second Store on the same database (another node, the CLI). */
  postgresSchema?: string;
  stop(): Promise<void>;
}

export interface TestGatewayOptions {
  /**
   * Start another node of `nodeOf`: same data directory (PKI, keys) and, on PostgreSQL, the same schema —
   * two gateways on one store. Its stop() closes only this node; the first one's stop() cleans up.
   */
  nodeOf?: TestGateway;
}

export async function startTestGateway(
  engine: EngineCase,
  tweak?: (config: GatewayConfig) => void,
  now?: () => Date,
  logger: Logger = pino({ level: 'silent' }),
  options: TestGatewayOptions = {},
): Promise<TestGateway> {
  const peer = options.nodeOf;
  if (peer !== undefined && peer.postgresSchema === undefined) {
    throw new Error('a second node needs a PostgreSQL store (PGlite belongs to one process)');
  }
  const dataDir = peer?.dataDir ?? mkdtempSync(join(tmpdir(), 'fleetgate-test-'));
  const config = defaultConfig();
  for (const l of Object.values(config.listeners)) {
    l.host = '127.0.0.1';
    l.port = 0;
  }
  config.fleet.vehicles = ['TRK-001', 'TRK-002', 'TRK-003'];
  config.partners = [
    { id: 'acme-tms', tenant: 'acme' },
    { id: 'globex-tms', tenant: 'globex' },
  ];
  config.audit.checkpointIntervalMs = 200;
  config.log.level = 'silent';
  if (engine.name === 'postgres' && engine.url !== undefined)
    config.store = { engine: 'postgres', url: engine.url };
  tweak?.(config);
  if (peer === undefined) {
    await bootstrapPki(dataDir, {
      vehicles: [...config.fleet.vehicles, 'TRK-UNLISTED'],
      partners: [...config.partners.map((p) => p.id), 'stranger-tms'],
      tenantIssuingCas: config.pki.tenantIssuingCas,
    });
  }
  const schema = peer?.postgresSchema ?? (engine.name === 'postgres' ? uniqueSchema() : undefined);
  const gateway = await startGateway({
    dataDir,
    config,
    logger,
    ...(now ? { now } : {}),
    ...(schema ? { postgresSchema: schema } : {}),
  });
  const ca = readFileSync(join(dataDir, 'pki', 'ca.pem'), 'utf8');
  const creds = (kind: 'devices' | 'partners', id: string): Credentials => {
    const dir = join(dataDir, 'pki', kind, id);
    return {
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      chain: readFileSync(join(dir, 'chain.pem'), 'utf8'),
      ca,
    };
  };
  const a = gateway.addresses;
  return {
    gateway,
    dataDir,
    vehicles: config.fleet.vehicles,
    url: {
      control: `https://127.0.0.1:${a.controlPlane.port}`,
      telemetry: `https://127.0.0.1:${a.telemetry.port}`,
      public: `https://127.0.0.1:${a.public.port}`,
      ops: `http://127.0.0.1:${a.ops.port}`,
    },
    vehicle: (id) => creds('devices', id),
    partner: (id) => creds('partners', id),
    caPath: join(dataDir, 'pki', 'ca.pem'),
    ...(schema ? { postgresSchema: schema } : {}),
    stop: async () => {
      await gateway.close();
      if (peer !== undefined) return;
      if (schema !== undefined && engine.url !== undefined) await dropSchema(engine.url, schema);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
