/**
 * The sequencer under load, on every engine: group sequencing gives dense, unique indices to thousands
 * of concurrent appends and the log verifies; a full queue pushes back with SERVICE_UNAVAILABLE and a
 * Retry-After instead of queueing without bound. On PostgreSQL, where other sessions can hold the
 * sequencer lock (another node, a stuck transaction): a bounded lock wait and a bounded number of
 * waiting transactions, each answering SERVICE_UNAVAILABLE. (PGlite has one session: its transactions
 * are serialized by the store before they reach the lock, so there is no second holder to wait for.)
 */
import { generateKeyPairSync } from 'node:crypto';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.ts';
import { AuditLog, type AuditLogOptions } from '../../src/audit/log.ts';
import { verifyAuditLog } from '../../src/audit/verify.ts';
import type { Store } from '../../src/store/store.ts';
import { closeTestStore, engines, openTestStore } from '../support/engines.ts';

const ORIGIN = 'test.fleetgate/audit';
const ed = generateKeyPairSync('ed25519');
const ml = generateKeyPairSync('ml-dsa-65');
const event = (i: number): AuditEvent => ({
  class: 'gateway.started',
  actor: { kind: 'system', id: 'sequencer-test' },
  subject: { kind: 'n', id: String(i) },
  outcome: 'recorded',
});

for (const engine of engines()) {
  describe(`audit sequencer on ${engine.name}`, () => {
    let store: Store;
    let schema: string | undefined;
    const log = (options: Partial<AuditLogOptions> = {}) =>
      new AuditLog(
        store,
        { origin: ORIGIN, privateKey: ed.privateKey, mlDsaPrivateKey: ml.privateKey },
        undefined,
        options,
      );

    beforeEach(async () => {
      ({ store, schema } = await openTestStore(engine));
    });
    afterEach(async () => {
      await closeTestStore(engine, store, schema);
    });

    it('group-sequences concurrent appends into dense, unique indices that verify', async () => {
      const audit = log({ maxBatch: 500 });
      const receipts = await Promise.all(Array.from({ length: 3_000 }, (_, i) => audit.append(event(i))));
      expect(receipts.map((r) => r.index).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 3_000 }, (_, i) => i),
      );
      await audit.publish();
      const report = await verifyAuditLog(store, {
        origin: ORIGIN,
        publicKey: ed.publicKey,
        mlDsaPublicKey: ml.publicKey,
        requireSealed: true,
      });
      expect(report).toMatchObject({ ok: true, entries: 3_000 });
    });

    it('pushes back with SERVICE_UNAVAILABLE and Retry-After when the queue is full', async () => {
      const audit = log({ maxPendingAppends: 10, retryAfterSeconds: 3 });
      const results = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => audit.append(event(i))));
      const refused = results.filter((r) => r.status === 'rejected');
      const accepted = results.filter((r) => r.status === 'fulfilled');
      expect(accepted.length).toBeGreaterThanOrEqual(10);
      expect(refused.length).toBeGreaterThan(0);
      for (const r of refused) {
        expect(r.reason).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503, retryAfterSeconds: 3 });
      }
      // Nothing refused was written; what was accepted is dense.
      expect(await audit.size()).toBe(accepted.length);
      // Once the queue drains, appends are accepted again.
      expect((await audit.append(event(1_000))).index).toBe(accepted.length);
    });

    it.runIf(engine.name === 'postgres')(
      'bounds the wait for a lock another session holds, and the number of waiting transactions',
      async () => {
        const holder = new pg.Client({ connectionString: engine.url, options: `-c search_path=${schema}` });
        await holder.connect();
        try {
          await holder.query('BEGIN');
          await holder.query('LOCK TABLE audit_entries IN SHARE ROW EXCLUSIVE MODE');
          const short = log({ lockTimeoutMs: 150, retryAfterSeconds: 2 });
          await expect(store.transaction((tx) => short.appendInTx(tx, event(1)))).rejects.toMatchObject({
            code: 'SERVICE_UNAVAILABLE',
            retryAfterSeconds: 2,
          });
          const waiting = log({ lockTimeoutMs: 30_000, maxWaitingTransactions: 2 });
          const first = store.transaction((tx) => waiting.appendInTx(tx, event(2)));
          const second = store.transaction((tx) => waiting.appendInTx(tx, event(3)));
          // Let both reach the lock, then a third is refused at once rather than queued.
          for (let i = 0; i < 50; i++) {
            const {
              rows: [row],
            } = await holder.query<{ n: string }>(
              "SELECT count(*) AS n FROM pg_locks WHERE relation = 'audit_entries'::regclass AND NOT granted",
            );
            if (Number(row?.n) >= 2) break;
            await new Promise((r) => setTimeout(r, 20));
          }
          await expect(store.transaction((tx) => waiting.appendInTx(tx, event(4)))).rejects.toMatchObject({
            code: 'SERVICE_UNAVAILABLE',
          });
          await holder.query('COMMIT');
          const indices = [(await first).index, (await second).index].sort();
          expect(indices).toEqual([0, 1]);
        } finally {
          await holder.end();
        }
      },
    );
  });
}
