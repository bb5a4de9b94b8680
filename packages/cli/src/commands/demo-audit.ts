/**
 * The demo's view of the transparency log from outside the gateway (issue 7): a C2SP witness that
 * cosigns each checkpoint consistent with the last it saw (the gateway serves the cosigned checkpoints), a
 * SIEM export of every entry as OCSF JSON lines, and at the end an offsite replica that copies the log
 * through the public read API only after verifying both signatures and consistency, then verifies
 * offline from that copy — what an auditor would do with nothing but the pinned verifier keys.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { replicateOnce } from '@fleetgate/gateway/audit/replica/follow';
import { dirTarget } from '@fleetgate/gateway/audit/replica/target';
import { parsePinnedAuditKeys } from '@fleetgate/gateway/audit/verify-keys';
import { initWitness, loadWitness } from '@fleetgate/gateway/audit/witness/identity';
import { startWitnessServer } from '@fleetgate/gateway/audit/witness/server';
import { acquireProcessLock, WitnessStateStore } from '@fleetgate/gateway/audit/witness/state';
import { Witness, witnessedLogFromVkeys } from '@fleetgate/gateway/audit/witness/witness';
import type { GatewayConfig } from '@fleetgate/gateway/config';
import type { Logger } from 'pino';
import { verifyFrom } from './audit-verify.ts';

const WITNESS_NAME = 'witness.demo/w1';
const SIEM_SINK = 'demo-siem';

export interface DemoWitness {
  name: string;
  close(): Promise<void>;
}

/**
 * Starts the demo's witness on a loopback port (TLS with the data directory's localhost certificate) and
 * configures the gateway to ask it to cosign; the witness keeps its key and state in DIR/witness.
 */
export async function startDemoWitness(
  dataDir: string,
  config: GatewayConfig,
  logger: Logger,
): Promise<DemoWitness> {
  const stateDir = join(dataDir, 'witness');
  const identity = existsSync(join(stateDir, 'key.pem'))
    ? loadWitness(stateDir)
    : initWitness(stateDir, WITNESS_NAME);
  const vkeys = readFileSync(join(dataDir, 'pki', 'audit', 'vkey.txt'), 'utf8').split('\n');
  const release = acquireProcessLock(stateDir);
  try {
    const server = join(dataDir, 'pki', 'server');
    const running = await startWitnessServer({
      witness: new Witness({
        identity,
        logs: [witnessedLogFromVkeys(vkeys)],
        state: new WitnessStateStore(stateDir),
      }),
      host: '127.0.0.1',
      port: 0,
      tls: {
        cert: readFileSync(join(server, 'chain.pem'), 'utf8'),
        key: readFileSync(join(server, 'key.pem'), 'utf8'),
      },
      logger: logger.child({ component: 'demo-witness' }),
    });
    config.audit = {
      ...config.audit,
      witnesses: [{ name: identity.name, url: running.url, vkey: identity.vkey, caFile: 'pki/ca.pem' }],
    };
    return {
      name: identity.name,
      close: async () => {
        await running.close();
        release();
      },
    };
  } catch (error) {
    release();
    throw error;
  }
}

/** Adds a JSONL SIEM sink (DIR/siem) to the gateway's configuration for this run. */
export function configureDemoSiem(config: GatewayConfig): void {
  if (config.auditExport.sinks.some((s) => s.name === SIEM_SINK)) return;
  config.auditExport = {
    ...config.auditExport,
    sinks: [
      ...config.auditExport.sinks,
      { name: SIEM_SINK, kind: 'jsonl', directory: 'siem', maxFileBytes: 16 * 1024 * 1024, batchSize: 500 },
    ],
  };
}

/** OCSF events written by the demo's SIEM sink so far (lines in DIR/siem/*.jsonl). */
export function countSiemEvents(dataDir: string): number {
  const dir = join(dataDir, 'siem');
  if (!existsSync(dir)) return 0;
  let lines = 0;
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.jsonl')) continue;
    const text = readFileSync(join(dir, name), 'utf8');
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines += 1;
  }
  return lines;
}

export interface ReplicaOutcome {
  /** Tree size the replica holds (its latest verified checkpoint). */
  size: number;
  verified: boolean;
  problem?: string;
}

/**
 * One replication round from the gateway's public listener into DIR/replica, then an offline verification
 * of that directory with the pinned keys. A replica that refuses (fork, rewind) is reported, not hidden.
 */
export async function replicateAndVerify(
  dataDir: string,
  publicUrl: string,
  ca: string,
): Promise<ReplicaOutcome> {
  const vkeyText = readFileSync(join(dataDir, 'pki', 'audit', 'vkey.txt'), 'utf8');
  const replicaDir = join(dataDir, 'replica');
  try {
    const result = await replicateOnce({
      from: publicUrl,
      http: { ca },
      target: dirTarget(replicaDir),
      keys: parsePinnedAuditKeys(vkeyText),
    });
    const report = await verifyFrom(replicaDir, vkeyText);
    return {
      size: result.to,
      verified: report.ok,
      ...(report.ok ? {} : { problem: report.problems[0]?.problem ?? 'verification failed' }),
    };
  } catch (error) {
    return { size: 0, verified: false, problem: (error as Error).message };
  }
}
