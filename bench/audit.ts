/**
 * The audit log on embedded PGlite (in a temporary data directory, as the gateway runs it):
 *  - AuditLog.append, one entry per transaction — what a decision that is audited on its own costs
 *    (table lock, next index, insert, commit). Limit: a single-row INSERT of the same row shape and
 *    bytes committed on its own, on the same database — the cheapest durable write PGlite offers, so
 *    the ratio is the price of sequencing (lock + dense index) over a bare commit.
 *  - verifyAuditLog over N entries — reading every entry back, recomputing its RFC 9162 leaf hash and
 *    the tree, checking the signed checkpoint. Limit: raw SHA-256 of the same entry bytes in one
 *    thread — the one computation the verifier cannot skip, so the ratio shows how much of its time
 *    goes to reading rows, canonical-JSON checks and bookkeeping instead.
 * Each round measures a figure and its limit back to back; see docs/performance.md.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '@fleetgate/gateway/audit/log';
import { verifyAuditLog } from '@fleetgate/gateway/audit/verify';
import { openStore } from '@fleetgate/gateway/store';
import { formatNumber } from './lib/result.ts';
import { runBenchmark } from './lib/runner.ts';
import { median, rateOfAsync, rateOfSync, roundRatios } from './lib/stats.ts';

const ORIGIN = 'bench.fleetgate/audit';
const ROUNDS = 3;
const WARMUP_MS = 500;
const APPEND_MS = 2_000;
const INSERT_MS = 2_000;
const SHA_MS = 1_000;
/** Entries the verifier reads: enough for several 5,000-row pages, small enough to fill in seconds. */
const VERIFY_ENTRIES = 20_000;
const FILL_PER_TRANSACTION = 500;

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

await runBenchmark('audit', ROUNDS, async ({ log }) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetgate-bench-audit-'));
  const store = await openStore({ engine: 'pglite', dataDir: join(dataDir, 'store') });
  try {
    const keys = generateKeyPairSync('ed25519');
    const audit = new AuditLog(store, { origin: ORIGIN, privateKey: keys.privateKey });
    await store.exec(
      'CREATE TABLE bench_single_insert (idx bigint PRIMARY KEY, leaf_hash bytea NOT NULL, entry text NOT NULL)',
    );
    let next = 0;
    const append = (): Promise<unknown> => audit.append(event(next++));
    await rateOfAsync(append, WARMUP_MS);
    const [sample] = await store.query<{ leaf_hash: Uint8Array; entry: string }>(
      'SELECT leaf_hash, entry FROM audit_entries ORDER BY idx DESC LIMIT 1',
    );
    if (sample === undefined) throw new Error('no audit entry was written');
    let row = 0;
    const insert = (): Promise<unknown> =>
      store.query('INSERT INTO bench_single_insert (idx, leaf_hash, entry) VALUES ($1, $2, $3)', [
        String(row++),
        sample.leaf_hash,
        sample.entry,
      ]);
    await rateOfAsync(insert, WARMUP_MS);

    const appends: number[] = [];
    const inserts: number[] = [];
    for (let round = 1; round <= ROUNDS; round += 1) {
      appends.push(await rateOfAsync(append, APPEND_MS));
      inserts.push(await rateOfAsync(insert, INSERT_MS));
      log(
        `round ${round}: append ${formatNumber(appends.at(-1) as number)}/s | single-row INSERT ${formatNumber(inserts.at(-1) as number)}/s`,
      );
    }

    // Fill to VERIFY_ENTRIES with the same entries, many per transaction, and seal them in a checkpoint.
    while (next < VERIFY_ENTRIES) {
      await store.transaction(async (tx) => {
        for (let i = 0; i < FILL_PER_TRANSACTION && next < VERIFY_ENTRIES; i += 1)
          await audit.appendInTx(tx, event(next++));
      });
    }
    const checkpoint = await audit.publish();
    log(`log filled to ${formatNumber(next)} entries, checkpoint at ${checkpoint?.size}`);

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
        publicKey: keys.publicKey,
        requireSealed: true,
      });
      const seconds = (performance.now() - t0) / 1000;
      if (!report.ok || report.entries !== next)
        throw new Error(`verification failed: ${JSON.stringify(report.problems)}`);
      verifies.push(report.entries / seconds);
      log(
        `round ${round}: SHA-256 ${formatNumber(hashes.at(-1) as number)}/s | verify ${formatNumber(verifies.at(-1) as number)} entries/s`,
      );
    }

    return [
      {
        benchmark: 'audit append (own transaction, PGlite)',
        figure: { value: median(appends), unit: 'appends/s' },
        limit: { name: 'single-row INSERT commit, same PGlite', value: median(inserts), unit: 'commits/s' },
        ratio: roundRatios(appends, inserts),
      },
      {
        benchmark: `audit verify (${formatNumber(next)} entries, PGlite)`,
        figure: { value: median(verifies), unit: 'entries/s' },
        limit: {
          name: `SHA-256 of the same entry bytes (${entryBytes.byteLength} B), 1 thread`,
          value: median(hashes),
          unit: 'hashes/s',
        },
        ratio: roundRatios(verifies, hashes),
      },
    ];
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
