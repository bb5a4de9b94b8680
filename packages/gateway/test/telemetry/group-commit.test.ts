/**
 * Group commit on every store engine (COPY on PostgreSQL, unnest on PGlite), driven through the ingest
 * queue itself with verified batches (decoded from real encoded batches): one transaction per group;
 * each envelope keeps its own outcome — a replay inside the same group is refused while the others are
 * stored; a poisoned item fails alone; the outcome of any grouping equals processing the envelopes one
 * by one (property); back-pressure and a draining close. Afterwards the audit log verifies and no record
 * is without its batch.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { keyIdOf } from '@fleetgate/core/signature/ed25519';
import { decodeBatch } from '@fleetgate/protocol/telemetry';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/log.ts';
import { verifyAuditLog } from '../../src/audit/verify.ts';
import { GatewayError } from '../../src/errors/gateway-error.ts';
import type { PeerIdentity } from '../../src/pki/peer-identity.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { IngestQueue } from '../../src/telemetry/group-commit.ts';
import {
  type IngestConnection,
  postgresCopyConnection,
  storeConnection,
} from '../../src/telemetry/internal/connection.ts';
import { envelopeRejection } from '../../src/telemetry/rejection.ts';
import { checkReplay, EMPTY_REPLAY_STATE, type ReplayState } from '../../src/telemetry/replay-window.ts';
import type { AcceptCandidate, GroupOutcome } from '../../src/telemetry/write-group.ts';
import { dropSchema, engines, uniqueSchema } from '../support/engines.ts';
import { batchBytes } from '../support/envelopes.ts';

const ORIGIN = 'test.fleetgate/audit';
const WINDOW = 8;

function identityOf(id: string): PeerIdentity {
  const { publicKey } = generateKeyPairSync('ed25519');
  return {
    kind: 'vehicle',
    id,
    thumbprintSha256: randomBytes(32).toString('hex'),
    keyId: keyIdOf(publicKey),
    publicKey,
    notBefore: new Date(0),
    notAfter: new Date(Date.now() + 86_400_000),
    serialNumber: randomBytes(8).toString('hex'),
  };
}

function candidate(
  identity: PeerIdentity,
  counter: bigint,
  opts: { records?: number; loadId?: string } = {},
): AcceptCandidate {
  const batch = decodeBatch(batchBytes(identity.id, { records: opts.records ?? 3 }));
  if (opts.loadId !== undefined) batch.loadId = opts.loadId;
  return {
    kind: 'batch',
    identity,
    verified: {
      counter,
      batch,
      keyId: identity.keyId,
      algorithm: 'ed25519',
      envelopeSha256: new Uint8Array(randomBytes(32)),
      skewMs: 0,
      delayed: false,
    },
    remoteAddress: '127.0.0.1',
    bytes: 100,
  };
}

const kinds = (outcomes: GroupOutcome[]) =>
  outcomes.map((o) => (o.kind === 'refused' ? o.error.code : o.kind));

for (const engine of engines()) {
  describe(`group commit on ${engine.name}`, () => {
    let store: Store;
    let audit: AuditLog;
    let connection: IngestConnection;
    let transactions = 0;
    let schema: string | undefined;
    const keys = generateKeyPairSync('ed25519');
    const mlDsa = generateKeyPairSync('ml-dsa-65');
    const queue = (options: Partial<ConstructorParameters<typeof IngestQueue>[2]> = {}) =>
      new IngestQueue(connection, audit, {
        maxDelayMs: 5,
        maxBatches: 256,
        maxQueuedRecords: 100_000,
        replayWindow: WINDOW,
        ...options,
      });

    beforeAll(async () => {
      schema = engine.name === 'postgres' ? uniqueSchema() : undefined;
      store = await openStore(
        engine.name === 'postgres' && engine.url
          ? { engine: 'postgres', url: engine.url, ...(schema ? { schema } : {}) }
          : { engine: 'pglite', dataDir: undefined },
      );
      audit = new AuditLog(store, {
        origin: ORIGIN,
        privateKey: keys.privateKey,
        mlDsaPrivateKey: mlDsa.privateKey,
      });
      const inner =
        engine.name === 'postgres' && engine.url
          ? postgresCopyConnection(engine.url, schema)
          : storeConnection(store);
      // Counts transactions; everything else is the real connection.
      connection = {
        engine: inner.engine,
        recordWrites: inner.recordWrites,
        writers: inner.writers,
        transaction: (fn) => {
          transactions += 1;
          return inner.transaction(fn);
        },
        close: () => inner.close(),
      };
      expect(connection.recordWrites).toBe(engine.name === 'postgres' ? 'copy' : 'unnest');
    });
    afterAll(async () => {
      await connection?.close();
      await store?.close();
      if (schema && engine.url) await dropSchema(engine.url, schema);
    });

    it('writes a group in one transaction and keeps each envelope’s own outcome', async () => {
      const q = queue();
      const a = identityOf('GC-A');
      const b = identityOf('GC-B');
      const before = transactions;
      const replay = candidate(a, 1n);
      const outcomes = await Promise.all([
        q.submit(candidate(a, 1n)),
        q.submit(candidate(a, 2n, { records: 5 })),
        q.submit(replay), // same counter as the first, inside the same group
        q.submit(candidate(b, 1n)),
        q.submit(
          envelopeRejection(b, new Uint8Array(32), 10, new GatewayError('TELEMETRY_MALFORMED'), '127.0.0.1'),
        ),
        q.submit(candidate(a, 5n)),
        q.submit(candidate(a, 2n)), // a replay of a counter accepted earlier in the group
      ]);
      expect(transactions - before).toBe(1);
      expect(kinds(outcomes)).toEqual([
        'accepted',
        'accepted',
        'TELEMETRY_REPLAYED',
        'accepted',
        'recorded',
        'accepted',
        'TELEMETRY_REPLAYED',
      ]);
      const accepted = outcomes.flatMap((o) => (o.kind === 'accepted' ? [o.accepted] : []));
      expect(accepted.map((x) => [x.vehicleId, x.counter, x.records, x.gap])).toEqual([
        ['GC-A', '1', 3, '0'],
        ['GC-A', '2', 5, '0'],
        ['GC-B', '1', 3, '0'],
        ['GC-A', '5', 3, '2'],
      ]);
      // Audit entries in arrival order, dense.
      const indices = outcomes.map((o) => (o.kind === 'accepted' ? o.accepted.auditIndex : o.auditIndex));
      expect(indices).toEqual(indices.map((_, i) => (indices[0] as number) + i));
      const stored = await store.query<{
        vehicle_id: string;
        counter: string;
        record_count: number;
        audit_index: string;
      }>(
        "SELECT vehicle_id, counter, record_count, audit_index FROM telemetry_batches WHERE vehicle_id LIKE 'GC-%' ORDER BY audit_index",
      );
      expect(
        stored.map((r) => [r.vehicle_id, r.counter, Number(r.record_count), Number(r.audit_index)]),
      ).toEqual(accepted.map((x) => [x.vehicleId, x.counter, x.records, x.auditIndex]));
      const [records] = await store.query<{ n: string }>(
        "SELECT count(*)::int8 AS n FROM telemetry_records WHERE vehicle_id LIKE 'GC-%'",
      );
      expect(Number(records?.n)).toBe(14);
      const rejections = await store.query<{ code: string; audit_index: string }>(
        "SELECT code, audit_index FROM telemetry_rejections WHERE vehicle_id LIKE 'GC-%' ORDER BY audit_index",
      );
      expect(rejections.map((r) => [r.code, Number(r.audit_index)])).toEqual([
        ['TELEMETRY_REPLAYED', indices[2]],
        ['TELEMETRY_MALFORMED', indices[4]],
        ['TELEMETRY_REPLAYED', indices[6]],
      ]);
      const entries = await store.query<{ entry: string }>(
        'SELECT entry FROM audit_entries WHERE idx >= $1 ORDER BY idx',
        [String(indices[0])],
      );
      expect(entries.map((e) => JSON.parse(e.entry).class)).toEqual([
        'telemetry.batch.accepted',
        'telemetry.batch.accepted',
        'telemetry.batch.rejected',
        'telemetry.batch.accepted',
        'telemetry.batch.rejected',
        'telemetry.batch.accepted',
        'telemetry.batch.rejected',
      ]);
      await q.close();
    });

    it('fails a poisoned item alone: the rest of its group is stored, its counter stays free', async () => {
      const q = queue();
      const a = identityOf('GC-POISON-A');
      const b = identityOf('GC-POISON-B');
      const outcomes = await Promise.allSettled([
        q.submit(candidate(a, 1n)),
        q.submit(candidate(a, 2n, { loadId: 'LOAD\u0000NUL' })), // the store refuses a NUL in text
        q.submit(candidate(b, 1n)),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const failure = (outcomes[1] as PromiseRejectedResult).reason;
      expect(failure).toBeInstanceOf(GatewayError);
      expect((failure as GatewayError).code).toBe('INTERNAL_ERROR');
      expect(kinds([await q.submit(candidate(a, 2n))])).toEqual(['accepted']);
      await q.close();
    });

    it('gives every grouping the outcome of one-by-one processing (property)', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.constantFrom(0, 1), fc.bigInt({ min: 1n, max: 30n })), {
            minLength: 1,
            maxLength: 24,
          }),
          fc.array(fc.integer({ min: 1, max: 24 }), { minLength: 1, maxLength: 6 }),
          async (sends, cuts) => {
            run += 1;
            const ids = [identityOf(`GC-P${run}-0`), identityOf(`GC-P${run}-1`)];
            // The model: the replay window applied in order, per vehicle.
            const states: ReplayState[] = [EMPTY_REPLAY_STATE, EMPTY_REPLAY_STATE];
            const expected = sends.map(([v, c]) => {
              const d = checkReplay(states[v] as ReplayState, c, WINDOW);
              if (!d.accepted)
                return d.reason === 'replayed' ? 'TELEMETRY_REPLAYED' : 'TELEMETRY_COUNTER_TOO_OLD';
              states[v] = d.state;
              return 'accepted';
            });
            // The same sends, cut into groups that are each submitted in one go.
            const q = queue({ maxBatches: 1000 });
            const got: string[] = [];
            let at = 0;
            for (const size of [...cuts, sends.length]) {
              const group = sends.slice(at, at + size);
              at += group.length;
              got.push(
                ...kinds(
                  await Promise.all(
                    group.map(([v, c]) => q.submit(candidate(ids[v] as PeerIdentity, c, { records: 1 }))),
                  ),
                ),
              );
              if (at >= sends.length) break;
            }
            await q.close();
            expect(got).toEqual(expected);
            const [row] = await store.query<{ n: string }>(
              'SELECT count(*)::int8 AS n FROM telemetry_batches WHERE vehicle_id = ANY($1::text[])',
              [ids.map((i) => i.id)],
            );
            expect(Number(row?.n)).toBe(expected.filter((e) => e === 'accepted').length);
          },
        ),
        { numRuns: 40 },
      );
    });

    it('never accepts one counter twice while groups are written concurrently (property)', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.array(fc.tuple(fc.constantFrom(0, 1), fc.bigInt({ min: 1n, max: 12n })), { maxLength: 8 }),
            {
              minLength: 2,
              maxLength: 5,
            },
          ),
          async (groups) => {
            run += 1;
            const ids = [identityOf(`GC-C${run}-0`), identityOf(`GC-C${run}-1`)];
            const q = queue({ maxDelayMs: 0 });
            const pending: Promise<[number, bigint, string]>[] = [];
            for (const group of groups) {
              for (const [v, c] of group) {
                pending.push(
                  q
                    .submit(candidate(ids[v] as PeerIdentity, c, { records: 1 }))
                    .then((o) => [v, c, kinds([o])[0] as string]),
                );
              }
              // Let a writer take this group before the next arrives: on PostgreSQL two run at once.
              await new Promise((resolve) => setImmediate(resolve));
            }
            const results = await Promise.all(pending);
            await q.close();
            for (const v of [0, 1]) {
              const accepted = results.filter(([x, , k]) => x === v && k === 'accepted').map(([, c]) => c);
              expect(new Set(accepted).size).toBe(accepted.length);
              for (const [x, c, k] of results) {
                if (x === v && k === 'TELEMETRY_REPLAYED') expect(accepted).toContain(c);
              }
              const rows = await store.query<{ counter: string }>(
                'SELECT counter FROM telemetry_batches WHERE vehicle_id = $1',
                [(ids[v] as PeerIdentity).id],
              );
              expect(rows.map((r) => BigInt(r.counter)).sort()).toEqual([...accepted].sort());
            }
          },
        ),
        { numRuns: 20 },
      );
    });

    it('pushes back when full (503 + Retry-After) and drains on close', async () => {
      const q = queue({ maxQueuedRecords: 12, maxDelayMs: 50 });
      const a = identityOf('GC-FULL');
      const first = q.submit(candidate(a, 1n, { records: 10 }));
      await expect(q.submit(candidate(a, 2n, { records: 10 }))).rejects.toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        retryAfterSeconds: 1,
      });
      const closing = q.close(); // drains what is queued, refuses what comes after
      await expect(q.submit(candidate(a, 3n))).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
      await closing;
      expect(kinds([await first])).toEqual(['accepted']);
    });

    it('leaves a verifiable audit log and no record without its batch', async () => {
      await audit.publish();
      const report = await verifyAuditLog(store, {
        origin: ORIGIN,
        publicKey: keys.publicKey,
        mlDsaPublicKey: mlDsa.publicKey,
        requireSealed: true,
      });
      expect(report.problems).toEqual([]);
      const [orphans] = await store.query<{ n: string }>(
        `SELECT count(*)::int8 AS n FROM telemetry_records r
         LEFT JOIN telemetry_batches b ON b.id = r.batch_id WHERE b.id IS NULL`,
      );
      expect(Number(orphans?.n)).toBe(0);
      const [mismatch] = await store.query<{ n: string }>(
        `SELECT count(*)::int8 AS n FROM telemetry_batches b
         WHERE b.record_count <> (SELECT count(*) FROM telemetry_records r WHERE r.batch_id = b.id)`,
      );
      expect(Number(mismatch?.n)).toBe(0);
    });
  });
}
