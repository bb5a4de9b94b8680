/**
 * The audit log, on embedded PGlite (a temporary data directory, as the gateway runs it) and on
 * PostgreSQL when DATABASE_URL is set (an isolated schema, dropped after):
 *  - sustained appends/s: AuditLog.append with APPEND_CONCURRENCY calls in flight (group sequencing:
 *    one lock, one multi-row insert and one commit per batch) while a checkpoint signed with Ed25519
 *    and ML-DSA-65 is published every second, as the gateway does. Limit: the raw single-table insert
 *    rate of the same rows (same shape, primary key, batch size) into a plain table on the same
 *    database — what the engine absorbs with no sequencing, hashing, index on leaf_hash or signing, so
 *    the ratio is the price of the log. The publisher's step includes the integrator, which writes every
 *    tile the new range filled to audit_tiles (docs/audit.md "Integrator"); the bench checks, before
 *    any read, that it kept pace.
 *  - inclusion proofs served per second: proveInclusion (the read API's function: tiles from the
 *    store in one query and its LRU, proof verified against the signed root before it is returned) for random
 *    indices in the latest checkpoint. Limit: a primary-key point SELECT of one entry on the same
 *    store — the one round trip a proof cannot avoid.
 *  - verifyAuditLog over the whole log. Limit: raw SHA-256 of the same entry bytes in one thread.
 * Each round measures a figure and its limit back to back; see docs/performance.md and docs/audit.md.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '@fleetgate/gateway/audit/log';
import { proveInclusion } from '@fleetgate/gateway/audit/read/inclusion-proof';
import { TileCache } from '@fleetgate/gateway/audit/read/tile-cache';
import { verifyAuditLog } from '@fleetgate/gateway/audit/verify';
import { openStore } from '@fleetgate/gateway/store';
import type { Store } from '@fleetgate/gateway/store/types';
import type { BenchRow } from './lib/result.ts';
import { formatNumber } from './lib/result.ts';
import { runBenchmark } from './lib/runner.ts';
import { median, rateOfAsync, rateOfSync, roundRatios } from './lib/stats.ts';

const ORIGIN = 'bench.fleetgate/audit';
const ROUNDS = 3;
const APPEND_MS = 3_000;
const INSERT_MS = 2_000;
const PROOF_MS = 1_500;
const SHA_MS = 1_000;
const APPEND_CONCURRENCY = 4_000;
const BATCH = 2_000;

type AuditEvent = Parameters<AuditLog['append']>[0];

/** A tender decision as the gateway records it (same classes, digests and sizes). */
const event = (i: number): AuditEvent => ({
  class: 'tender.decided',
  actor: {
    kind: 'partner',
    id: 'bench-tms',
    certSha256: createHash('sha256')
      .update(`cert-${i % 4}`)
      .digest('hex'),
  },
  subject: { kind: 'tender', id: `tnd_00000000-0000-4000-8000-${String(i).padStart(12, '0')}` },
  outcome: 'accepted',
  reasons: ['LANE_SERVED'],
  details: {
    tenant: 'bench',
    reference: `BENCH-${i}`,
    laneId: 'DAL-HOU',
    requestSha256: createHash('sha256').update(`request-${i}`).digest('hex'),
  },
});

interface Engine {
  name: 'PGlite' | 'PostgreSQL';
  open(): Promise<{ store: Store; cleanup(): Promise<void> }>;
}

const engines: Engine[] = [
  {
    name: 'PGlite',
    open: async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'fleetgate-bench-audit-'));
      const store = await openStore({ engine: 'pglite', dataDir: join(dataDir, 'store') });
      return {
        store,
        cleanup: async () => {
          await store.close();
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    },
  },
];
const url = process.env.DATABASE_URL;
if (url !== undefined && url !== '') {
  engines.push({
    name: 'PostgreSQL',
    open: async () => {
      const schema = `fg_bench_${randomBytes(6).toString('hex')}`;
      const store = await openStore({ engine: 'postgres', url, schema });
      return {
        store,
        cleanup: async () => {
          await store.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          await store.close();
        },
      };
    },
  });
}

/** Completed appends per second with `concurrency` calls always in flight, checkpoints every second. */
async function sustainedAppends(audit: AuditLog, next: () => number, ms: number): Promise<number> {
  let done = 0;
  let stop = false;
  let failure: unknown;
  const publisher = setInterval(() => {
    audit.publish().catch((error: unknown) => {
      failure = error;
    });
  }, 1_000);
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (!stop) {
      await audit.append(event(next()));
      done += 1;
    }
  };
  const workers = Array.from({ length: APPEND_CONCURRENCY }, worker);
  await new Promise((r) => setTimeout(r, ms));
  stop = true;
  const counted = done;
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(workers);
  clearInterval(publisher);
  await audit.publish();
  if (failure !== undefined) throw failure;
  return counted / seconds;
}

await runBenchmark(
  'audit',
  ROUNDS,
  async ({ log }) => {
    const rows: BenchRow[] = [];
    for (const engine of engines) {
      const { store, cleanup } = await engine.open();
      try {
        rows.push(...(await benchEngine(engine.name, store, log)));
      } finally {
        await cleanup();
      }
    }
    return rows;
  },
  { watchdogMs: 300_000 },
);

async function benchEngine(name: string, store: Store, log: (line: string) => void): Promise<BenchRow[]> {
  const ed = generateKeyPairSync('ed25519');
  const ml = generateKeyPairSync('ml-dsa-65');
  const audit = new AuditLog(
    store,
    { origin: ORIGIN, privateKey: ed.privateKey, mlDsaPrivateKey: ml.privateKey },
    undefined,
    { maxBatch: BATCH, maxPendingAppends: 1_000_000 },
  );
  await store.exec(
    'CREATE TABLE bench_raw_insert (idx bigint PRIMARY KEY, leaf_hash bytea NOT NULL, entry text NOT NULL)',
  );
  let counter = 0;
  const next = () => counter++;
  await sustainedAppends(audit, next, 500); // warm-up
  const [sample] = await store.query<{ leaf_hash: Uint8Array; entry: string }>(
    'SELECT leaf_hash, entry FROM audit_entries ORDER BY idx DESC LIMIT 1',
  );
  if (sample === undefined) throw new Error('no audit entry was written');
  const hashHex = Buffer.from(sample.leaf_hash).toString('hex');
  let raw = 0;
  const rawBatch = async (): Promise<void> => {
    const ids = Array.from({ length: BATCH }, () => String(raw++));
    await store.transaction((tx) =>
      tx.query(
        `INSERT INTO bench_raw_insert (idx, leaf_hash, entry)
         SELECT i, decode(h, 'hex'), e FROM unnest($1::int8[], $2::text[], $3::text[]) AS u(i, h, e)`,
        [ids, ids.map(() => hashHex), ids.map(() => sample.entry)],
      ),
    );
  };
  await rateOfAsync(rawBatch, 300);

  const appends: number[] = [];
  const inserts: number[] = [];
  for (let round = 1; round <= ROUNDS; round += 1) {
    appends.push(await sustainedAppends(audit, next, APPEND_MS));
    inserts.push((await rateOfAsync(rawBatch, INSERT_MS)) * BATCH);
    log(
      `${name} round ${round}: ${formatNumber(appends.at(-1) as number)} appends/s (checkpoints every 1 s) | raw insert ${formatNumber(inserts.at(-1) as number)} rows/s`,
    );
  }

  const checkpoint = await audit.publish();
  const size = checkpoint?.size ?? 0;
  // The integrator wrote the full tiles as the log grew: none is computed by a read below. If it fell
  // behind (rounds are bounded), the next publishes catch up; report how many that took.
  const levelZero = async (): Promise<number> => {
    const [row] = await store.query<{ n: string }>('SELECT count(*) AS n FROM audit_tiles WHERE level = 0');
    return Number(row?.n);
  };
  let extraRounds = 0;
  while ((await levelZero()) < Math.floor(size / 256)) {
    if (++extraRounds > 20) throw new Error('the integrator does not catch up');
    await audit.publish();
  }
  log(
    `${name}: ${formatNumber(await levelZero())} full level-0 tiles written by the integrator, before any read (${extraRounds} catch-up rounds after the appends)`,
  );
  const cache = new TileCache();
  const prove = async (): Promise<void> => {
    await proveInclusion(store, cache, { index: Math.floor(Math.random() * size) });
  };
  const point = async (): Promise<void> => {
    await store.query('SELECT entry FROM audit_entries WHERE idx = $1', [
      String(Math.floor(Math.random() * size)),
    ]);
  };
  await rateOfAsync(prove, 500);
  const proofs: number[] = [];
  const points: number[] = [];
  for (let round = 1; round <= ROUNDS; round += 1) {
    proofs.push(await rateOfAsync(prove, PROOF_MS));
    points.push(await rateOfAsync(point, PROOF_MS));
    log(
      `${name} round ${round}: ${formatNumber(proofs.at(-1) as number)} inclusion proofs/s (tree ${formatNumber(size)}) | point SELECT ${formatNumber(points.at(-1) as number)}/s`,
    );
  }

  const entryBytes = Buffer.from(sample.entry, 'utf8');
  const hashOnce = (): void => {
    createHash('sha256').update(entryBytes).digest();
  };
  const hashes: number[] = [];
  const verifies: number[] = [];
  for (let round = 1; round <= ROUNDS; round += 1) {
    hashes.push(rateOfSync(hashOnce, SHA_MS));
    const t0 = performance.now();
    const report = await verifyAuditLog(store, {
      origin: ORIGIN,
      publicKey: ed.publicKey,
      mlDsaPublicKey: ml.publicKey,
      requireSealed: true,
    });
    const seconds = (performance.now() - t0) / 1000;
    if (!report.ok) throw new Error(`verification failed: ${JSON.stringify(report.problems.slice(0, 3))}`);
    verifies.push(report.entries / seconds);
    log(
      `${name} round ${round}: SHA-256 ${formatNumber(hashes.at(-1) as number)}/s | verify ${formatNumber(verifies.at(-1) as number)} entries/s (${formatNumber(report.entries)} entries, ${report.checkpoints} checkpoints)`,
    );
  }

  return [
    {
      benchmark: `audit append, sustained, checkpoints every 1 s (${name})`,
      figure: { value: median(appends), unit: 'appends/s' },
      limit: {
        name: `raw ${BATCH}-row INSERT into one table, same ${name}`,
        value: median(inserts),
        unit: 'rows/s',
      },
      ratio: roundRatios(appends, inserts),
    },
    {
      benchmark: `audit inclusion proofs served (${name}, tree ${formatNumber(size)})`,
      figure: { value: median(proofs), unit: 'proofs/s' },
      limit: { name: `primary-key point SELECT, same ${name}`, value: median(points), unit: 'queries/s' },
      ratio: roundRatios(proofs, points),
    },
    {
      benchmark: `audit verify (${formatNumber(size)} entries, ${name})`,
      figure: { value: median(verifies), unit: 'entries/s' },
      limit: {
        name: `SHA-256 of the same entry bytes (${entryBytes.byteLength} B), 1 thread`,
        value: median(hashes),
        unit: 'hashes/s',
      },
      ratio: roundRatios(verifies, hashes),
    },
  ];
}
