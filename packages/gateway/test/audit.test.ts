/**
 * The audit log end to end on each engine: sequencing inside transactions, signed checkpoints, and the
 * verifier catching each kind of tampering with the precise index or checkpoint — an altered entry, an
 * entry altered together with its leaf hash, a deleted entry, a rewound (truncated) log, a forged
 * checkpoint, and a checkpoint signed by another key.
 */
import { generateKeyPairSync } from 'node:crypto';
import { formatCheckpoint } from '@fleetgate/core/note/checkpoint';
import { signNote } from '@fleetgate/core/note/signed-note';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../src/audit/event.ts';
import { AuditLog } from '../src/audit/log.ts';
import { verifyAuditLog } from '../src/audit/verify.ts';
import type { Store } from '../src/store/store.ts';
import { closeTestStore, engines, openTestStore } from './support/engines.ts';

const ORIGIN = 'test.fleetgate/audit';
const event = (i: number): AuditEvent => ({
  class: 'tender.decided',
  actor: { kind: 'partner', id: 'acme-tms', certSha256: 'ab'.repeat(32) },
  subject: { kind: 'tender', id: `tnd_${i}` },
  outcome: i % 3 === 0 ? 'declined' : 'accepted',
  reasons: ['LANE_SERVED'],
  details: { n: i },
});

for (const engine of engines()) {
  describe(`audit log on ${engine.name}`, () => {
    let store: Store;
    let log: AuditLog;
    let schema: string | undefined;
    const keys = generateKeyPairSync('ed25519');
    const mlDsa = generateKeyPairSync('ml-dsa-65');
    const signer = { origin: ORIGIN, privateKey: keys.privateKey, mlDsaPrivateKey: mlDsa.privateKey };
    const verify = (requireSealed = true) =>
      verifyAuditLog(store, {
        origin: ORIGIN,
        publicKey: keys.publicKey,
        mlDsaPublicKey: mlDsa.publicKey,
        requireSealed,
      });

    beforeEach(async () => {
      ({ store, schema } = await openTestStore(engine));
      log = new AuditLog(store, signer);
      for (let i = 0; i < 10; i += 1) await log.append(event(i));
      await log.publish();
      for (let i = 10; i < 23; i += 1) await log.append(event(i));
      await log.publish();
    });
    afterEach(async () => {
      await closeTestStore(engine, store, schema);
    });

    it('assigns dense indices, publishes signed checkpoints, and verifies', async () => {
      const receipt = await log.append(event(99));
      expect(receipt.index).toBe(23);
      expect(await log.size()).toBe(24);
      const unsealed = await verify(true);
      expect(unsealed.ok).toBe(false);
      expect(unsealed.problems[0]?.problem).toMatch(/1 entries are not covered/);
      expect((await verify(false)).ok).toBe(true);
      const cp = await log.publish();
      expect(cp?.size).toBe(24);
      expect(cp?.note).toMatch(
        /^test\.fleetgate\/audit\n24\n[A-Za-z0-9+/]{43}=\n\n\u2014 test\.fleetgate\/audit \S+\n\u2014 test\.fleetgate\/audit \S{4000,}\n$/,
      );
      const report = await verify();
      expect(report).toMatchObject({
        ok: true,
        entries: 24,
        checkpoints: 3,
        verifiedSize: 24,
        unsealedEntries: 0,
      });
    });

    it('rolls back an entry with its transaction, leaving no gap', async () => {
      await expect(
        store.transaction(async (tx) => {
          await log.appendInTx(tx, event(50));
          throw new Error('business write failed');
        }),
      ).rejects.toThrow('business write failed');
      expect((await log.append(event(51))).index).toBe(23);
      await log.publish();
      expect((await verify()).ok).toBe(true);
    });

    it('detects an altered entry by its index', async () => {
      await store.query(
        `UPDATE audit_entries SET entry = replace(entry, '"accepted"', '"declined"') WHERE idx = 4`,
      );
      const report = await verify();
      expect(report.ok).toBe(false);
      expect(report.problems).toContainEqual({
        code: 'AUDIT_ENTRY_HASH_MISMATCH',
        index: 4,
        problem: expect.stringMatching(/leaf hash/),
      });
    });

    it('detects an entry altered together with its leaf hash, by the checkpoint range', async () => {
      const forged =
        '{"actor":{"id":"mallory","kind":"partner"},"class":"tender.decided","outcome":"accepted","subject":{"id":"x","kind":"tender"},"time":"2026-01-01T00:00:00.000Z","v":1}';
      const { leafHash } = await import('@fleetgate/core/merkle/hash');
      await store.query('UPDATE audit_entries SET entry = $1, leaf_hash = $2 WHERE idx = 12', [
        forged,
        leafHash(new TextEncoder().encode(forged)),
      ]);
      const report = await verify();
      expect(report.ok).toBe(false);
      expect(report.problems).toContainEqual({
        code: 'AUDIT_ROOT_MISMATCH',
        checkpointSize: 23,
        problem: expect.stringMatching(/\[10, 23\)/),
      });
      expect(report.problems.some((p) => p.checkpointSize === 10)).toBe(false);
    });

    it('detects a deleted entry and a rewound log', async () => {
      await store.query('DELETE FROM audit_entries WHERE idx = 7');
      const gap = await verify();
      expect(gap.problems).toContainEqual({
        code: 'AUDIT_ENTRY_MISSING',
        index: 7,
        problem: 'entries 7..7 are missing',
      });
      await store.query('DELETE FROM audit_entries WHERE idx >= 15');
      const rewound = await verify();
      expect(rewound.ok).toBe(false);
      expect(rewound.problems).toContainEqual({
        code: 'AUDIT_LOG_REWOUND',
        checkpointSize: 23,
        problem: expect.stringMatching(/rewound/),
      });
      // The publisher refuses to sign over a rewound store.
      await expect(log.publish()).rejects.toMatchObject({ code: 'AUDIT_LOG_INCONSISTENT' });
    });

    it('detects a checkpoint forged with another key, and a stored root that differs from the signed one', async () => {
      const mallory = generateKeyPairSync('ed25519');
      const body = formatCheckpoint({ origin: ORIGIN, size: 23, rootHash: new Uint8Array(32) });
      const malloryMl = generateKeyPairSync('ml-dsa-65');
      await store.query('UPDATE audit_checkpoints SET note = $1 WHERE tree_size = 23', [
        signNote(body, [
          { name: ORIGIN, privateKey: mallory.privateKey },
          { name: ORIGIN, privateKey: malloryMl.privateKey },
        ]),
      ]);
      await store.query('UPDATE audit_checkpoints SET root_hash = $1 WHERE tree_size = 10', [
        new Uint8Array(32),
      ]);
      const report = await verify();
      expect(report.ok).toBe(false);
      // Mallory's keys have other key IDs: to the verifier, both of the log's signatures are missing.
      expect(report.problems).toContainEqual({
        code: 'AUDIT_CHECKPOINT_SIGNATURE_MISSING',
        checkpointSize: 23,
        problem: expect.stringMatching(/no Ed25519 signature/),
      });
      expect(report.problems).toContainEqual({
        code: 'AUDIT_CHECKPOINT_STORED_MISMATCH',
        checkpointSize: 10,
        problem: expect.stringMatching(/stored size or root differs/),
      });
    });

    it('detects a checkpoint with one of its two signatures stripped, or altered', async () => {
      const [row] = await store.query<{ note: string }>(
        'SELECT note FROM audit_checkpoints WHERE tree_size = 23',
      );
      const note = row?.note as string;
      const lines = note.split('\n');
      // Signature lines are the last two non-empty lines: Ed25519 first, then ML-DSA-65.
      const withoutMl = `${lines.slice(0, -2).join('\n')}\n`;
      const withoutEd = `${[...lines.slice(0, -3), lines.at(-2)].join('\n')}\n`;
      await store.query('UPDATE audit_checkpoints SET note = $1 WHERE tree_size = 23', [withoutMl]);
      await store.query('UPDATE audit_checkpoints SET note = $1 WHERE tree_size = 10', [
        (
          await store.query<{ note: string }>('SELECT note FROM audit_checkpoints WHERE tree_size = 10')
        )[0]?.note
          .split('\n')
          .filter((_l, i, all) => i !== all.length - 3)
          .join('\n') as string,
      ]);
      const report = await verify();
      expect(report.ok).toBe(false);
      expect(report.problems).toContainEqual({
        code: 'AUDIT_CHECKPOINT_SIGNATURE_MISSING',
        checkpointSize: 23,
        problem: expect.stringMatching(/no ML-DSA-65 signature/),
      });
      expect(report.problems).toContainEqual({
        code: 'AUDIT_CHECKPOINT_SIGNATURE_MISSING',
        checkpointSize: 10,
        problem: expect.stringMatching(/no Ed25519 signature/),
      });
      // An altered ML-DSA-65 signature (last base64 character changed) is invalid, not missing.
      const last = lines.at(-2) as string;
      const flipped = `${last.slice(0, -6)}${last.at(-6) === 'A' ? 'B' : 'A'}${last.slice(-5)}`;
      await store.query('UPDATE audit_checkpoints SET note = $1 WHERE tree_size = 23', [
        `${[...lines.slice(0, -2), flipped].join('\n')}\n`,
      ]);
      expect(withoutEd).not.toBe(note);
      const altered = await verify();
      expect(altered.problems).toContainEqual({
        code: 'AUDIT_CHECKPOINT_SIGNATURE_INVALID',
        checkpointSize: 23,
        problem: expect.stringMatching(/ML-DSA-65 signature does not verify/),
      });
    });
  });
}
