/**
 * Issue 7 "Done when", on every engine: a real gateway writes entries and signed checkpoints; then, in
 * its store, one entry's text is altered, a row deleted, two rows swapped (reordered), an entry altered
 * together with its leaf hash — and each time both the store verifier and the real
 * `fleetgate audit verify --data-dir` exit 1 naming the right index (or checkpoint range) and code.
 * Also the security review's forgery (H10 #1): a sealed entry replaced by a redaction stub that keeps
 * its leaf hash, plus a redaction record inserted at the tail — unsigned, with garbage signatures, signed
 * by other keys, or with one of the two signatures stripped — and sealed by the gateway's next publish:
 * the stub is AUDIT_ENTRY_REDACTED_UNRECORDED at its index and each record AUDIT_REDACTION_RECORD_INVALID
 * at its own. (Legitimate redactions verify: retention.test.ts.)
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { leafHash } from '@fleetgate/core/merkle/hash';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/audit/canonical-json.ts';
import { type AuditEvent, auditDocument } from '../../src/audit/event.ts';
import { loadAuditKeys, loadAuditVerifierKeys } from '../../src/audit/keys.ts';
import { AuditLog } from '../../src/audit/log.ts';
import {
  redactionRecordDetails,
  redactionStubText,
  signRedactionStatement,
} from '../../src/audit/redaction-format.ts';
import { type AuditVerifyReport, verifyAuditLog } from '../../src/audit/verify.ts';
import type { GatewayConfig } from '../../src/config/config.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { fleetgate } from '../support/cli.ts';
import { engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';

const ORIGIN = 'fleetgate.local/audit';
const event = (i: number): AuditEvent => ({
  class: 'tender.decided',
  actor: { kind: 'partner', id: 'acme-tms', certSha256: 'ef'.repeat(32) },
  subject: { kind: 'tender', id: `tnd_tamper_${i}` },
  outcome: i % 2 === 0 ? 'accepted' : 'declined',
  reasons: ['LANE_SERVED'],
  details: { n: i },
});

for (const engine of engines()) {
  describe(`audit verify after tampering, on ${engine.name}`, () => {
    let t: TestGateway;
    let config: GatewayConfig;
    let sizes: number[];
    let env: NodeJS.ProcessEnv;

    const withStore = async <T>(fn: (store: Store) => Promise<T>): Promise<T> => {
      const store = await openStore(
        engine.name === 'postgres' && engine.url !== undefined
          ? { engine: 'postgres', url: engine.url, schema: t.postgresSchema as string }
          : { engine: 'pglite', dataDir: join(t.dataDir, 'store') },
      );
      try {
        return await fn(store);
      } finally {
        await store.close();
      }
    };
    const verifyStore = (): Promise<AuditVerifyReport> =>
      withStore((store) =>
        verifyAuditLog(store, { origin: ORIGIN, ...loadAuditVerifierKeys(t.dataDir), requireSealed: true }),
      );
    const cli = () => fleetgate(['audit', 'verify', '--data-dir', t.dataDir], env);
    const entryAt = (store: Store, idx: number) =>
      store
        .query<{ entry: string; leaf_hash: Uint8Array }>(
          'SELECT entry, leaf_hash FROM audit_entries WHERE idx = $1',
          [String(idx)],
        )
        .then((rows) => rows[0] as { entry: string; leaf_hash: Uint8Array });

    /** Applies a mutation, expects both verifiers to report `expected`, then undoes it. */
    const expectDetected = async (
      mutate: (store: Store) => Promise<void>,
      undo: (store: Store) => Promise<void>,
      expected: { code: string; index?: number; checkpointSize?: number },
      cliLine: RegExp,
    ): Promise<void> => {
      await withStore(mutate);
      const report = await verifyStore();
      expect(report.ok).toBe(false);
      expect(report.problems).toContainEqual(expect.objectContaining(expected));
      const run = await cli();
      expect(run.code, run.out + run.err).toBe(1);
      expect(run.out).toMatch(cliLine);
      expect(run.out).toMatch(/FAILED: the audit log does not verify/);
      await withStore(undo);
      expect((await verifyStore()).ok).toBe(true);
    };

    beforeAll(async () => {
      t = await startTestGateway(engine, (c) => {
        c.audit.checkpointIntervalMs = 60_000; // this test publishes explicitly
        config = c;
      });
      for (let i = 0; i < 30; i++) await t.gateway.audit.append(event(i));
      await t.gateway.audit.publish();
      // Past 256 entries: the first level-0 tile is full, so the integrator has written it at publish.
      for (let i = 30; i < 300; i++) await t.gateway.audit.append(event(i));
      await t.gateway.audit.publish();
      await t.gateway.close(); // PGlite belongs to one process: the CLI opens the store next
      writeFileSync(join(t.dataDir, 'fleetgate.json'), JSON.stringify(config), { mode: 0o600 });
      env =
        engine.name === 'postgres' && engine.url !== undefined
          ? {
              DATABASE_URL: `${engine.url}${engine.url.includes('?') ? '&' : '?'}options=${encodeURIComponent(
                `-c search_path=${t.postgresSchema}`,
              )}`,
            }
          : {};
      sizes = await withStore(async (s) =>
        (
          await s.query<{ tree_size: string }>('SELECT tree_size FROM audit_checkpoints ORDER BY tree_size')
        ).map((r) => Number(r.tree_size)),
      );
    });
    afterAll(async () => t?.stop());

    it('passes on the untouched log, in the store and through the CLI', async () => {
      expect(sizes.length).toBeGreaterThanOrEqual(2);
      expect(sizes.at(-1)).toBeGreaterThanOrEqual(70);
      const report = await verifyStore();
      expect(report).toMatchObject({ ok: true, problems: [], verifiedSize: sizes.at(-1) });
      const run = await cli();
      expect(run.code, run.out + run.err).toBe(0);
      expect(run.out).toMatch(/OK: the audit log verifies/);
    });

    it('an altered entry: AUDIT_ENTRY_HASH_MISMATCH at its index', async () => {
      let original = '';
      await expectDetected(
        async (s) => {
          original = (await entryAt(s, 5)).entry;
          await s.query(`UPDATE audit_entries SET entry = replace(entry, 'tnd_', 'TND_') WHERE idx = 5`);
        },
        async (s) => {
          await s.query('UPDATE audit_entries SET entry = $1 WHERE idx = 5', [original]);
        },
        { code: 'AUDIT_ENTRY_HASH_MISMATCH', index: 5 },
        /FAIL index 5: entry does not match its stored leaf hash .*\[AUDIT_ENTRY_HASH_MISMATCH\]/,
      );
    });

    it('a deleted row: AUDIT_ENTRY_MISSING at its index', async () => {
      let row: { entry: string; leaf_hash: Uint8Array } = { entry: '', leaf_hash: new Uint8Array() };
      await expectDetected(
        async (s) => {
          row = await entryAt(s, 17);
          await s.query('DELETE FROM audit_entries WHERE idx = 17');
        },
        async (s) => {
          await s.query('INSERT INTO audit_entries (idx, leaf_hash, entry) VALUES (17, $1, $2)', [
            row.leaf_hash,
            row.entry,
          ]);
        },
        { code: 'AUDIT_ENTRY_MISSING', index: 17 },
        /FAIL index 17: entries 17\.\.17 are missing \[AUDIT_ENTRY_MISSING\]/,
      );
    });

    it('two rows swapped: each index named, whether the entries or the whole rows moved', async () => {
      const swapEntries = async (s: Store) => {
        const [a, b] = [await entryAt(s, 3), await entryAt(s, 9)];
        await s.query('UPDATE audit_entries SET entry = $1 WHERE idx = 3', [b.entry]);
        await s.query('UPDATE audit_entries SET entry = $1 WHERE idx = 9', [a.entry]);
      };
      await expectDetected(
        swapEntries,
        swapEntries,
        { code: 'AUDIT_ENTRY_HASH_MISMATCH', index: 9 },
        /FAIL index 3: .*\[AUDIT_ENTRY_HASH_MISMATCH\][\s\S]*FAIL index 9: /,
      );
      // Whole rows (entry and leaf hash) reordered: each row is consistent in itself, but the level-0 tile
      // the integrator wrote when they were sealed names both indices (and the signed root still fails).
      const swapRows = async (s: Store) => {
        await s.query('UPDATE audit_entries SET idx = 1000000 WHERE idx = 40');
        await s.query('UPDATE audit_entries SET idx = 40 WHERE idx = 41');
        await s.query('UPDATE audit_entries SET idx = 41 WHERE idx = 1000000');
      };
      const covering = sizes.find((n) => n > 41) as number;
      await expectDetected(
        swapRows,
        swapRows,
        { code: 'AUDIT_ENTRY_NOT_INTEGRATED', index: 40 },
        /FAIL index 40: .*\[AUDIT_ENTRY_NOT_INTEGRATED\][\s\S]*FAIL index 41: .*\[AUDIT_ENTRY_NOT_INTEGRATED\]/,
      );
      await withStore(swapRows);
      const report = await verifyStore();
      await withStore(swapRows);
      expect(report.problems).toContainEqual(
        expect.objectContaining({ code: 'AUDIT_ROOT_MISMATCH', checkpointSize: covering }),
      );
      expect(report.problems).toContainEqual(
        expect.objectContaining({ code: 'AUDIT_ENTRY_NOT_INTEGRATED', index: 41 }),
      );
    });

    it('an entry altered together with its leaf hash: AUDIT_ROOT_MISMATCH naming the range', async () => {
      let row: { entry: string; leaf_hash: Uint8Array } = { entry: '', leaf_hash: new Uint8Array() };
      const covering = sizes.find((n) => n > 12) as number;
      await expectDetected(
        async (s) => {
          row = await entryAt(s, 12);
          const forged = row.entry.replace('tnd_', 'TND_');
          await s.query('UPDATE audit_entries SET entry = $1, leaf_hash = $2 WHERE idx = 12', [
            forged,
            leafHash(new TextEncoder().encode(forged)),
          ]);
        },
        async (s) => {
          await s.query('UPDATE audit_entries SET entry = $1, leaf_hash = $2 WHERE idx = 12', [
            row.entry,
            row.leaf_hash,
          ]);
        },
        { code: 'AUDIT_ROOT_MISMATCH', checkpointSize: covering },
        new RegExp(`FAIL checkpoint at size ${covering}: entries no longer produce the signed root`),
      );
    });

    it("the reviewer's forgery: a stub for a sealed entry plus an inserted, unsigned or forged redaction record", async () => {
      // Database write access, no audit keys: entry 20 (sealed) becomes a stub keeping its leaf hash, and
      // a canonical `audit.entry.redacted` row is inserted at max(idx)+1, which the gateway then seals.
      const target = 20;
      const keys = loadAuditKeys(t.dataDir, ORIGIN);
      const attacker = {
        privateKey: generateKeyPairSync('ed25519').privateKey,
        mlDsaPrivateKey: generateKeyPairSync('ml-dsa-65').privateKey,
      };
      let original: { entry: string; leaf_hash: Uint8Array } = { entry: '', leaf_hash: new Uint8Array() };
      let firstRecord = -1;
      let sealedBefore = 0;
      const forgedDetails = (
        hex: string,
        variant: 'unsigned' | 'garbage' | 'other-keys' | 'one-stripped',
      ) => {
        const statement = {
          origin: ORIGIN,
          index: target,
          leafHash: hex,
          redactedClass: 'tender.decided',
          entryTime: '2020-01-01T00:00:00.000Z',
          redactedAt: '2026-01-01T00:00:00.000Z',
          reasonCode: 'RETENTION_EXPIRED' as const,
          reason: 'retention',
        };
        const details = redactionRecordDetails(statement, signRedactionStatement(statement, attacker));
        if (variant === 'unsigned') delete details.signatures;
        if (variant === 'garbage') {
          details.signatures = {
            ed25519: randomBytes(64).toString('base64'),
            mlDsa65: randomBytes(3309).toString('base64'),
          };
        }
        if (variant === 'one-stripped') {
          // The real Ed25519 signature, the ML-DSA-65 one stripped: one key never stands for both.
          details.signatures = { ed25519: signRedactionStatement(statement, keys).ed25519 };
        }
        return details;
      };
      await withStore(async (s) => {
        original = await entryAt(s, target);
        sealedBefore = Number(
          (await s.query<{ n: string }>('SELECT max(tree_size) AS n FROM audit_checkpoints'))[0]?.n,
        );
        const hex = Buffer.from(original.leaf_hash).toString('hex');
        const stub = redactionStubText({
          leafHash: hex,
          class: 'tender.decided',
          time: '2020-01-01T00:00:00.000Z',
          redactedAt: '2026-01-01T00:00:00.000Z',
          reason: 'retention',
        });
        await s.query('UPDATE audit_entries SET entry = $1 WHERE idx = $2', [stub, String(target)]);
        for (const variant of ['unsigned', 'garbage', 'other-keys', 'one-stripped'] as const) {
          const [row] = await s.query<{ n: string }>('SELECT max(idx) + 1 AS n FROM audit_entries');
          const idx = Number(row?.n);
          if (firstRecord < 0) firstRecord = idx;
          const record = canonicalJson(
            auditDocument(
              {
                class: 'audit.entry.redacted',
                actor: { kind: 'system', id: 'retention' },
                subject: { kind: 'audit-entry', id: String(target) },
                outcome: 'recorded',
                reasons: ['RETENTION_EXPIRED'],
                details: forgedDetails(hex, variant),
              },
              new Date(),
            ),
          );
          await s.query('INSERT INTO audit_entries (idx, leaf_hash, entry) VALUES ($1, $2, $3)', [
            String(idx),
            leafHash(new TextEncoder().encode(record)),
            record,
          ]);
        }
        // The gateway's next publish seals the inserted rows with both audit keys.
        const log = new AuditLog(s, {
          origin: ORIGIN,
          privateKey: keys.privateKey,
          mlDsaPrivateKey: keys.mlDsaPrivateKey,
        });
        expect((await log.publish())?.size).toBe(firstRecord + 4);
      });
      const report = await verifyStore();
      expect(report.ok).toBe(false);
      expect(report.redactedEntries).toBe(1);
      expect(report.redactions).toEqual([]);
      expect(report.verifiedSize).toBe(firstRecord + 4); // the checkpoints themselves are genuine
      expect(report.problems).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ code: 'AUDIT_ENTRY_REDACTED_UNRECORDED', index: target }),
          expect.objectContaining({
            code: 'AUDIT_REDACTION_RECORD_INVALID',
            index: firstRecord,
            problem: expect.stringMatching(/no signatures/),
          }),
          expect.objectContaining({
            code: 'AUDIT_REDACTION_RECORD_INVALID',
            index: firstRecord + 1,
            problem: expect.stringMatching(/Ed25519 signature does not verify/),
          }),
          expect.objectContaining({
            code: 'AUDIT_REDACTION_RECORD_INVALID',
            index: firstRecord + 2,
            problem: expect.stringMatching(/Ed25519 signature does not verify/),
          }),
          expect.objectContaining({
            code: 'AUDIT_REDACTION_RECORD_INVALID',
            index: firstRecord + 3,
            problem: expect.stringMatching(/no ML-DSA-65 signature/),
          }),
        ]),
      );
      expect(report.problems).toHaveLength(5);
      const run = await cli();
      expect(run.code).toBe(1);
      expect(run.out).toMatch(/FAIL index 20: .*\[AUDIT_ENTRY_REDACTED_UNRECORDED\]/);
      expect(run.out).toMatch(
        new RegExp(`FAIL index ${firstRecord}: .*\\[AUDIT_REDACTION_RECORD_INVALID\\]`),
      );
      expect(run.out).not.toMatch(/redacted index 20/);

      // Undo (test only: a real log cannot shed sealed rows) and the log verifies again.
      await withStore(async (s) => {
        await s.query('DELETE FROM audit_checkpoints WHERE tree_size > $1', [String(sealedBefore)]);
        await s.query('DELETE FROM audit_entries WHERE idx >= $1', [String(firstRecord)]);
        await s.query('UPDATE audit_entries SET entry = $1 WHERE idx = $2', [original.entry, String(target)]);
      });
      expect(await verifyStore()).toMatchObject({ ok: true, redactedEntries: 0, problems: [] });
    });
  });
}
