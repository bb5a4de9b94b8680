/**
 * Retention and redaction (docs/audit.md "Retention and redaction"), on every engine: limits are
 * validated (1 or 8 years refused); a dry run reports and changes nothing; a real run replaces only the
 * expired classes' payloads with the redaction stub — ORIGINAL leaf hash, class and time — and appends
 * one `audit.entry.redacted` record per index; leaf_hash is untouched, so inclusion proofs, consistency
 * proofs and signed checkpoints still verify and the read API serves the stub with the stored leaf hash.
 * An operator redacts one entry with a reason; a second redaction, a redaction record, an index past
 * the log, an altered entry and an entry younger than the minimum retention (unless a legal erasure)
 * are refused. Each record carries a statement signed by both audit keys (review H10 #1): the verifier
 * accepts the stubs, lists each redaction with its signed reason code, and refuses a stub that differs
 * from its record; the statement checks (signatures, order, class, minimum retention) have unit tests.
 * The CLI commands run against the data directory.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { utf8 } from '@fleetgate/core/bytes';
import { verifyConsistency } from '@fleetgate/core/merkle/consistency';
import { leafHash } from '@fleetgate/core/merkle/hash';
import { verifyInclusion } from '@fleetgate/core/merkle/inclusion';
import { rootFromLeafHashes } from '@fleetgate/core/merkle/root';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReport, verifyDataDir } from '../../../cli/src/commands/audit-verify.ts';
import type { AuditClass, AuditEvent } from '../../src/audit/event.ts';
import { loadAuditVerifierKeys } from '../../src/audit/keys.ts';
import type { Checkpoint } from '../../src/audit/log.ts';
import {
  checkRedactionRecord,
  parseRedactionStub,
  type RedactionStatement,
  redactionRecordDetails,
  redactionStubText,
  signRedactionStatement,
} from '../../src/audit/redaction-format.ts';
import { policyDigest, retentionEnds, retentionYearsFor } from '../../src/audit/retention/policy.ts';
import { checkReason, redactEntries } from '../../src/audit/retention/redact.ts';
import { runRetention } from '../../src/audit/retention/run.ts';
import { verifyAuditLog } from '../../src/audit/verify.ts';
import type { AuditRetentionConfig } from '../../src/config/config.ts';
import { defaultConfig } from '../../src/config/config.ts';
import { ConfigError, validateConfig } from '../../src/config/validate.ts';
import { readCursor } from '../../src/tendering/lifecycle-feed.ts';
import { fleetgate } from '../support/cli.ts';
import { engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { httpsRequest } from '../support/https-client.ts';

const POLICY: AuditRetentionConfig = { defaultYears: 7, classes: { telemetry: 2, 'auth.token': 3 } };
const DAY = 86_400_000;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

const ev = (cls: AuditClass, i: number): AuditEvent => ({
  class: cls,
  actor: { kind: 'vehicle', id: 'TRK-001', certSha256: 'ab'.repeat(32) },
  subject: { kind: 'thing', id: `x${i}` },
  outcome: 'accepted',
  details: { payloadSha256: 'cd'.repeat(32), i },
});

function configWith(retention: unknown): unknown {
  const doc = JSON.parse(JSON.stringify(defaultConfig())) as { audit: Record<string, unknown> };
  doc.audit.retention = retention;
  return doc;
}

describe('retention policy', () => {
  it('refuses periods outside 2-7 years, and redaction records in the policy', () => {
    for (const bad of [
      { defaultYears: 1 },
      { defaultYears: 8 },
      { defaultYears: 7, classes: { telemetry: 1 } },
      { defaultYears: 7, classes: { 'tender.decided': 8 } },
      { defaultYears: 2.5 },
      { defaultYears: 7, classes: { 'audit.entry.redacted': 3 } },
      { defaultYears: 7, classes: { audit: 3 } },
      { defaultYears: 7, classes: { 'Bad Key': 3 } },
      { defaultYears: 7, extra: 1 },
    ]) {
      expect(() => validateConfig(configWith(bad)), JSON.stringify(bad)).toThrow(ConfigError);
    }
    const ok = validateConfig(
      configWith({ defaultYears: 2, classes: { telemetry: 3, 'auth.token.issued': 7 } }),
    );
    expect(ok.audit.retention).toEqual({
      defaultYears: 2,
      classes: { telemetry: 3, 'auth.token.issued': 7 },
    });
    expect(validateConfig(configWith(undefined)).audit.retention).toEqual({ defaultYears: 7, classes: {} });
  });

  it('matches classes and whole-segment prefixes, longest first; never redacts redaction records', () => {
    const p = { defaultYears: 7, classes: { telemetry: 2, 'telemetry.batch': 4, 'auth.token': 3 } };
    expect(retentionYearsFor('telemetry.batch.accepted', p)).toBe(4);
    expect(retentionYearsFor('telemetry.rate-limited', p)).toBe(2);
    expect(retentionYearsFor('telemetryx.other', p)).toBe(7);
    expect(retentionYearsFor('auth.token.issued', p)).toBe(3);
    expect(retentionYearsFor('auth.tokens', p)).toBe(7);
    expect(retentionYearsFor('audit.entry.redacted', { defaultYears: 2, classes: {} })).toBeNull();
    expect(retentionEnds(new Date('2024-02-29T12:00:00Z'), 2).toISOString()).toBe('2026-03-01T12:00:00.000Z');
    expect(policyDigest(p)).not.toBe(policyDigest({ ...p, defaultYears: 6 }));
  });

  it('round-trips the redaction stub and refuses altered stubs', () => {
    const stub = {
      leafHash: '0f'.repeat(32),
      class: 'tender.decided',
      time: '2026-01-02T03:04:05.678Z',
      redactedAt: '2033-01-02T00:00:00.000Z',
      reason: 'legal erasure "case 42"',
    };
    const text = redactionStubText(stub);
    expect(parseRedactionStub(text)).toEqual(stub);
    expect(parseRedactionStub(text.replace('0f0f', '0F0F'))).toBeNull();
    expect(parseRedactionStub(text.replace('}}', ',"x":"y"}}'))).toBeNull();
    expect(parseRedactionStub(` ${text}`)).toBeNull();
    expect(parseRedactionStub(text.replace('"reason"', '"reason" '))).toBeNull();
  });

  it('checks a redaction record: both signatures, its order, its class and the minimum retention', () => {
    const ed = generateKeyPairSync('ed25519');
    const ml = generateKeyPairSync('ml-dsa-65');
    const signer = { privateKey: ed.privateKey, mlDsaPrivateKey: ml.privateKey };
    const keys = { origin: 'fleetgate.test/audit', publicKey: ed.publicKey, mlDsaPublicKey: ml.publicKey };
    const base: RedactionStatement = {
      origin: keys.origin,
      index: 7,
      leafHash: 'ab'.repeat(32),
      redactedClass: 'auth.token.refused',
      entryTime: '2024-02-29T12:00:00.000Z',
      redactedAt: '2026-03-01T12:00:00.000Z',
      reasonCode: 'RETENTION_EXPIRED',
      reason: 'retention',
    };
    const check = (st: RedactionStatement, recordIndex = 10, sign: RedactionStatement = st) =>
      checkRedactionRecord(
        redactionRecordDetails(st, signRedactionStatement(sign, signer)),
        recordIndex,
        keys,
      );
    const ok = check(base);
    expect(ok).toMatchObject({ kind: 'verified', redaction: { statement: base } });
    expect(ok.kind === 'verified' && parseRedactionStub(ok.redaction.stubText)).toEqual({
      leafHash: base.leafHash,
      class: base.redactedClass,
      time: base.entryTime,
      redactedAt: base.redactedAt,
      reason: base.reason,
    });
    const invalid = (problem: RegExp) => ({ kind: 'invalid', problem: expect.stringMatching(problem) });
    // Any field changed after signing (the index, the class, a time, the reason code) breaks both.
    for (const change of [
      { index: 6 },
      { redactedClass: 'tender.decided' },
      { redactedAt: '2027-01-01T00:00:00.000Z' },
      { reasonCode: 'LEGAL_ERASURE' as const },
      { reason: 'other' },
    ]) {
      expect(check({ ...base, ...change }, 10, base), JSON.stringify(change)).toEqual(
        invalid(/Ed25519 signature does not verify/),
      );
    }
    // Signed for another log.
    expect(check(base, 10, { ...base, origin: 'other.example/audit' })).toEqual(invalid(/does not verify/));
    // The record must come after the entry it redacts.
    expect(check(base, 7)).toEqual(invalid(/not an entry before it/));
    // Redaction records are never redacted.
    expect(check({ ...base, redactedClass: 'audit.entry.redacted' })).toEqual(invalid(/never redacted/));
    // Retention and operator redactions only after the minimum retention (2 calendar years, UTC)...
    const early = { ...base, redactedAt: '2026-03-01T11:59:59.999Z' };
    expect(check(early)).toEqual(invalid(/RETENTION_EXPIRED redaction less than 2 years/));
    expect(check({ ...early, reasonCode: 'OPERATOR_REQUEST' })).toEqual(invalid(/OPERATOR_REQUEST/));
    // ...but a legal erasure may redact a younger entry; never one redacted before it was written.
    expect(check({ ...early, reasonCode: 'LEGAL_ERASURE' }).kind).toBe('verified');
    expect(check({ ...base, redactedAt: '2024-02-29T11:00:00.000Z', reasonCode: 'LEGAL_ERASURE' })).toEqual(
      invalid(/precedes the entry/),
    );
    // One signature stripped, or the ML-DSA-65 signature made without the statement's FIPS 204 context.
    const details = redactionRecordDetails(base, signRedactionStatement(base, signer));
    const sigs = details.signatures as { ed25519: string; mlDsa65: string };
    expect(checkRedactionRecord({ ...details, signatures: { ed25519: sigs.ed25519 } }, 10, keys)).toEqual(
      invalid(/no ML-DSA-65 signature/),
    );
    expect(checkRedactionRecord({ ...details, signatures: { mlDsa65: sigs.mlDsa65 } }, 10, keys)).toEqual(
      invalid(/no Ed25519 signature/),
    );
    // A statement value with a line break could be read two ways: never signed, never accepted.
    expect(() => signRedactionStatement({ ...base, reason: 'a\nindex 8' }, signer)).toThrow(TypeError);
    expect(checkRedactionRecord({ ...details, reason: 'a\nb' }, 10, keys)).toEqual(invalid(/line break/));
    expect(checkRedactionRecord(null, 10, keys)).toEqual(invalid(/no details/));
  });

  it('refuses an empty or control-character reason', () => {
    for (const bad of ['', '   ', 'a\u0007b', 'x'.repeat(501), 'line\nbreak']) {
      expect(() => checkReason(bad)).toThrow(expect.objectContaining({ code: 'AUDIT_REDACTION_REFUSED' }));
    }
    expect(checkReason('GDPR art. 17 request #42')).toBe('GDPR art. 17 request #42');
  });
});

for (const engine of engines()) {
  describe(`retention and redaction on ${engine.name}`, () => {
    let t: TestGateway;
    let cp1: Checkpoint;
    const idx: Record<'tel' | 'tender' | 'auth', number[]> = { tel: [], tender: [], auth: [] };
    let original: Map<number, { entry: string; leaf: string }>;
    const real = Date.now();
    const at = (years: number) => () => new Date(real + years * 365.25 * DAY + 2 * DAY);
    const rows = async () =>
      new Map(
        (
          await t.gateway.store.query<{ idx: string; entry: string; leaf_hash: Uint8Array }>(
            'SELECT idx, entry, leaf_hash FROM audit_entries ORDER BY idx',
          )
        ).map((r) => [Number(r.idx), { entry: r.entry, leaf: hex(r.leaf_hash) }]),
      );
    const deps = (now: () => Date) => ({ store: t.gateway.store, audit: t.gateway.audit, now });
    const get = (path: string) => httpsRequest(`${t.url.public}${path}`, { ca: t.partner('acme-tms').ca });

    beforeAll(async () => {
      t = await startTestGateway(engine, (c) => {
        c.audit.checkpointIntervalMs = 60_000; // this test publishes explicitly
        c.audit.retention = POLICY;
      });
      const a = t.gateway.audit;
      for (let i = 0; i < 6; i++) idx.tel.push((await a.append(ev('telemetry.batch.accepted', i))).index);
      for (let i = 0; i < 4; i++) idx.tender.push((await a.append(ev('tender.decided', i))).index);
      for (let i = 0; i < 3; i++) idx.auth.push((await a.append(ev('auth.token.issued', i))).index);
      cp1 = (await a.publish()) as Checkpoint;
      original = await rows();
    });
    afterAll(async () => t?.stop());

    it('dry run: reports the expired classes and changes nothing', async () => {
      const report = await runRetention(deps(at(2)), POLICY, { dryRun: true });
      expect(report.dryRun).toBe(true);
      expect(report.redacted).toBe(0);
      expect(report.byClass['telemetry.batch.accepted']).toBe(6);
      for (const i of idx.tel) expect(report.indices).toContain(i);
      for (const i of [...idx.tender, ...idx.auth]) expect(report.indices).not.toContain(i);
      expect(Object.keys(report.byClass).every((c) => c.startsWith('telemetry.'))).toBe(true);
      expect(await rows()).toEqual(original);
      expect(await readCursor(t.gateway.store, `retention:2y:${policyDigest(POLICY)}`)).toBe(-1);
      // Nothing has expired today.
      expect(
        (
          await runRetention(
            deps(() => new Date()),
            POLICY,
            { dryRun: true },
          )
        ).due,
      ).toBe(0);
    });

    it('redacts expired payloads to stubs that keep the leaf hash, class and time, each recorded', async () => {
      const report = await runRetention(deps(at(2)), POLICY);
      expect(report.redacted).toBe(report.due);
      expect(report.byClass['telemetry.batch.accepted']).toBe(6);
      const now = await rows();
      for (const [i, row] of now) {
        const before = original.get(i);
        if (before === undefined) continue; // appended by the redaction
        expect(row.leaf, `leaf_hash of ${i}`).toBe(before.leaf);
        if (!idx.tel.includes(i)) {
          if (!report.indices.includes(i)) expect(row.entry).toBe(before.entry);
          continue;
        }
        const stub = parseRedactionStub(row.entry);
        const doc = JSON.parse(before.entry) as { class: string; time: string };
        expect(stub).toMatchObject({
          leafHash: before.leaf,
          class: doc.class,
          time: doc.time,
          reason: 'retention',
        });
        expect(hex(leafHash(utf8(before.entry)))).toBe(stub?.leafHash);
      }
      const records = [...now.values()]
        .map((r) => JSON.parse(r.entry) as { class?: string; details?: { index: number; leafHash: string } })
        .filter((d) => d.class === 'audit.entry.redacted');
      expect(records.map((r) => r.details?.index).sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(
        [...report.indices].sort((x, y) => x - y),
      );
      for (const r of records) expect(r.details?.leafHash).toBe(original.get(r.details?.index ?? -1)?.leaf);
      // Idempotent: the next pass finds nothing new.
      expect((await runRetention(deps(at(2)), POLICY)).redacted).toBe(0);
      // A year later the three-year class follows.
      const later = await runRetention(deps(at(3)), POLICY);
      expect(later.byClass['auth.token.issued']).toBe(3);
      for (const i of idx.auth) expect(parseRedactionStub((await rows()).get(i)?.entry ?? '')).not.toBeNull();
      for (const i of idx.tender) expect((await rows()).get(i)?.entry).toBe(original.get(i)?.entry);
    });

    it('keeps every proof and checkpoint valid; the read API serves stubs with the stored leaf hash', async () => {
      const cp2 = (await t.gateway.audit.publish()) as Checkpoint;
      expect(cp2.size).toBeGreaterThan(cp1.size);
      const now = await rows();
      expect(
        hex(rootFromLeafHashes([...now.values()].slice(0, cp2.size).map((r) => Buffer.from(r.leaf, 'hex')))),
      ).toBe(hex(cp2.rootHash));
      for (const index of [...idx.tel, ...idx.auth, idx.tender[0] as number]) {
        for (const [size, root] of [
          [cp1.size, cp1.rootHash],
          [cp2.size, cp2.rootHash],
        ] as const) {
          const r = await get(`/v1/audit/proof/inclusion?index=${index}&size=${size}`);
          expect(r.status, r.text).toBe(200);
          const p = r.json() as { leafHash: string; proof: string[] };
          expect(hex(b64(p.leafHash))).toBe(original.get(index)?.leaf);
          expect(
            verifyInclusion({ index, size, leafHash: b64(p.leafHash), proof: p.proof.map(b64), root }),
          ).toBe(true);
        }
      }
      const c = await get(`/v1/audit/proof/consistency?size1=${cp1.size}&size2=${cp2.size}`);
      const proof = (c.json() as { proof: string[] }).proof.map(b64);
      expect(
        verifyConsistency({
          size1: cp1.size,
          size2: cp2.size,
          root1: cp1.rootHash,
          root2: cp2.rootHash,
          proof,
        }),
      ).toBe(true);
      const tel = idx.tel[0] as number;
      const page = await get(`/v1/audit/entries?start=${tel}&end=${tel + 1}`);
      expect(page.text).toBe(`${now.get(tel)?.entry}\n`);
      expect(parseRedactionStub(page.text.trimEnd())).not.toBeNull();
      const receipt = await get(`/v1/audit/receipt/${tel}`);
      expect(receipt.status, receipt.text).toBe(200);
      const rj = receipt.json() as { entry: string; leafHash: string };
      expect(rj.entry).toBe(now.get(tel)?.entry);
      expect(hex(b64(rj.leafHash))).toBe(original.get(tel)?.leaf);
    });

    it('redacts one entry for an operator, with a reason, once; refuses what must not be redacted', async () => {
      const operator = { kind: 'operator' as const, id: 'ops-alice' };
      const opts = { strict: true, reasonCode: 'LEGAL_ERASURE' as const };
      const target = idx.tender[1] as number;
      // Younger than the minimum retention: refused for an operator's request, allowed for a legal erasure.
      await expect(
        redactEntries(
          deps(() => new Date()),
          [{ index: target, reason: 'tidy up' }],
          operator,
          { strict: true, reasonCode: 'OPERATOR_REQUEST' },
        ),
      ).rejects.toThrow(
        expect.objectContaining({
          code: 'AUDIT_REDACTION_REFUSED',
          message: expect.stringMatching(/younger than the minimum retention of 2 years/),
        }),
      );
      expect(parseRedactionStub((await rows()).get(target)?.entry ?? '')).toBeNull();
      const [done] = await redactEntries(
        deps(() => new Date()),
        [{ index: target, reason: 'legal erasure: case 42' }],
        operator,
        opts,
      );
      expect(done).toMatchObject({
        index: target,
        class: 'tender.decided',
        leafHash: original.get(target)?.leaf,
      });
      const now = await rows();
      expect(parseRedactionStub(now.get(target)?.entry ?? '')?.reason).toBe('legal erasure: case 42');
      const record = JSON.parse(now.get(done?.recordIndex ?? -1)?.entry ?? '{}') as Record<string, unknown>;
      expect(record).toMatchObject({
        class: 'audit.entry.redacted',
        actor: { kind: 'operator', id: 'ops-alice' },
        reasons: ['LEGAL_ERASURE'],
        details: {
          index: target,
          leafHash: original.get(target)?.leaf,
          redactedClass: 'tender.decided',
          reasonCode: 'LEGAL_ERASURE',
          reason: 'legal erasure: case 42',
          signatures: { ed25519: expect.any(String), mlDsa65: expect.any(String) },
        },
      });
      // An operator's request for an entry past the minimum retention needs no legal erasure.
      const old = idx.tender[0] as number;
      const [aged] = await redactEntries(
        deps(at(3)),
        [{ index: old, reason: 'no longer needed' }],
        operator,
        { strict: true, reasonCode: 'OPERATOR_REQUEST' },
      );
      expect(aged).toMatchObject({ index: old, class: 'tender.decided' });
      const refused = expect.objectContaining({ code: 'AUDIT_REDACTION_REFUSED' });
      const redact = (index: number) =>
        redactEntries(
          deps(() => new Date()),
          [{ index, reason: 'again' }],
          operator,
          opts,
        );
      await expect(redact(target)).rejects.toThrow(refused);
      await expect(redact(done?.recordIndex ?? -1)).rejects.toThrow(refused);
      await expect(redact(10_000_000)).rejects.toThrow(refused);

      // An altered entry is not redacted over: its bytes no longer give its leaf hash.
      const victim = idx.tender[2] as number;
      const text = original.get(victim)?.entry as string;
      await t.gateway.store.query('UPDATE audit_entries SET entry = $2 WHERE idx = $1', [
        String(victim),
        text.replace('"accepted"', '"declined"'),
      ]);
      await expect(redact(victim)).rejects.toThrow(
        expect.objectContaining({ code: 'AUDIT_LOG_INCONSISTENT' }),
      );
      await t.gateway.store.query('UPDATE audit_entries SET entry = $2 WHERE idx = $1', [
        String(victim),
        text,
      ]);
      expect((await rows()).get(victim)?.entry).toBe(text);
    });

    it('verifies: every stub matches its signed record, each redaction listed with its reason code', async () => {
      await t.gateway.audit.publish();
      const keys = {
        origin: t.gateway.audit.origin,
        ...loadAuditVerifierKeys(t.dataDir),
      };
      const report = await verifyAuditLog(t.gateway.store, { ...keys, requireSealed: true });
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
      const stubs = [...(await rows()).entries()].filter(([, r]) => parseRedactionStub(r.entry) !== null);
      expect(report.redactedEntries).toBe(stubs.length);
      expect(report.redactions.map((r) => r.index)).toEqual(stubs.map(([i]) => i));
      const byIndex = new Map(report.redactions.map((r) => [r.index, r]));
      for (const i of idx.tel) {
        expect(byIndex.get(i)).toMatchObject({
          class: 'telemetry.batch.accepted',
          reasonCode: 'RETENTION_EXPIRED',
        });
      }
      expect(byIndex.get(idx.tender[1] as number)).toMatchObject({ reasonCode: 'LEGAL_ERASURE' });
      expect(byIndex.get(idx.tender[0] as number)).toMatchObject({ reasonCode: 'OPERATOR_REQUEST' });
      for (const r of report.redactions) expect(r.recordIndex).toBeGreaterThan(r.index);

      // A stub that says something its signed record does not (here: another reason) is refused.
      const victim = idx.tender[1] as number;
      const text = (await rows()).get(victim)?.entry as string;
      const stub = parseRedactionStub(text);
      if (stub === null) throw new Error('expected a stub');
      await t.gateway.store.query('UPDATE audit_entries SET entry = $2 WHERE idx = $1', [
        String(victim),
        redactionStubText({ ...stub, reason: 'retention' }),
      ]);
      const altered = await verifyAuditLog(t.gateway.store, keys);
      await t.gateway.store.query('UPDATE audit_entries SET entry = $2 WHERE idx = $1', [
        String(victim),
        text,
      ]);
      expect(altered.ok).toBe(false);
      expect(altered.problems).toEqual([
        expect.objectContaining({
          code: 'AUDIT_ENTRY_REDACTED_UNRECORDED',
          index: victim,
          problem: expect.stringMatching(/differs from the one the signed record/),
        }),
      ]);
      expect((await verifyAuditLog(t.gateway.store, keys)).ok).toBe(true);
    });

    it('runs `audit retention run --dry-run` and `audit redact` against the data directory', async () => {
      // The real `fleetgate` binary in a child process; on PostgreSQL it reaches this test's schema.
      const env =
        engine.name === 'postgres' && engine.url !== undefined
          ? {
              DATABASE_URL: `${engine.url}${engine.url.includes('?') ? '&' : '?'}options=${encodeURIComponent(
                `-c search_path=${t.postgresSchema}`,
              )}`,
            }
          : {};
      const cli = async (args: string[]) => {
        const r = await fleetgate(['audit', ...args], env);
        return { code: r.code, out: r.out + r.err };
      };
      if (engine.name === 'pglite') await t.gateway.close(); // one process owns a PGlite directory
      writeFileSync(join(t.dataDir, 'fleetgate.json'), JSON.stringify(t.gateway.config));
      const dry = await fleetgate(
        ['audit', 'retention', 'run', '--dry-run', '--json', '--data-dir', t.dataDir],
        env,
      );
      expect(dry.code, dry.out + dry.err).toBe(0);
      expect(JSON.parse(dry.out)).toMatchObject({ dryRun: true, due: 0, redacted: 0 });
      const target = idx.tender[3] as number;
      const args = ['redact', '--data-dir', t.dataDir, '--index', String(target), '--operator', 'ops-bob'];
      const young = await cli([...args, '--reason', 'court order 7']);
      expect(young.code).toBe(1);
      expect(young.out).toMatch(/younger than the minimum retention of 2 years/);
      const ok = await cli([...args, '--reason', 'court order 7', '--legal-erasure']);
      expect(ok.code, ok.out).toBe(0);
      expect(ok.out).toContain(`redacted entry ${target} (tender.decided)`);
      expect(ok.out).toContain(original.get(target)?.leaf as string);
      const again = await cli([...args, '--reason', 'court order 7']);
      expect(again.code).toBe(1);
      expect(again.out).toContain('already redacted');
      const noReason = await cli(args);
      expect(noReason.code).not.toBe(0);
      expect(noReason.out).toMatch(/--reason/);
      // `audit verify --data-dir` lists each redaction with its signed reason code, and passes.
      const report = await verifyDataDir(t.dataDir, true, env);
      const text = formatReport(report);
      expect(report.ok, text).toBe(true);
      expect(text).toMatch(new RegExp(`redacted index ${target} \\(tender\\.decided\\): LEGAL_ERASURE at `));
      expect(text).toMatch(
        new RegExp(`redacted index ${idx.tel[0]} \\(telemetry\\.batch\\.accepted\\): RETENTION_EXPIRED`),
      );
      expect(text).toMatch(/OK: the audit log verifies/);
    });
  });
}
