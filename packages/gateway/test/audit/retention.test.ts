/**
 * Retention and redaction (docs/audit.md "Retention and redaction"), on every engine: limits are
 * validated (1 or 8 years refused); a dry run reports and changes nothing; a real run replaces only the
 * expired classes' payloads with the redaction stub — ORIGINAL leaf hash, class and time — and appends
 * one `audit.entry.redacted` record per index; leaf_hash is untouched, so inclusion proofs, consistency
 * proofs and signed checkpoints still verify and the read API serves the stub with the stored leaf hash.
 * An operator redacts one entry with a reason; a second redaction, a redaction record, an index past
 * the log and an altered entry are refused. The CLI commands run against the data directory.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { utf8 } from '@fleetgate/core/bytes';
import { verifyConsistency } from '@fleetgate/core/merkle/consistency';
import { leafHash } from '@fleetgate/core/merkle/hash';
import { verifyInclusion } from '@fleetgate/core/merkle/inclusion';
import { rootFromLeafHashes } from '@fleetgate/core/merkle/root';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRedactCommand, auditRetentionCommand } from '../../../cli/src/commands/audit-retention.ts';
import type { AuditClass, AuditEvent } from '../../src/audit/event.ts';
import type { Checkpoint } from '../../src/audit/log.ts';
import { parseRedactionStub, redactionStubText } from '../../src/audit/redaction-format.ts';
import { policyDigest, retentionEnds, retentionYearsFor } from '../../src/audit/retention/policy.ts';
import { checkReason, redactEntries } from '../../src/audit/retention/redact.ts';
import { runRetention } from '../../src/audit/retention/run.ts';
import type { AuditRetentionConfig } from '../../src/config/config.ts';
import { defaultConfig } from '../../src/config/config.ts';
import { ConfigError, validateConfig } from '../../src/config/validate.ts';
import { readCursor } from '../../src/tendering/lifecycle-feed.ts';
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

/** Runs a command object in-process, as packages/cli/src/main.ts would; its exit code and output. */
async function cli(command: Command, args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = console.log;
  const err = console.error;
  console.log = (...parts: unknown[]) => lines.push(parts.join(' '));
  console.error = (...parts: unknown[]) => lines.push(parts.join(' '));
  let code = -1;
  try {
    await command.exitOverride().parseAsync(args, { from: 'user' });
    code = exit;
  } catch (error) {
    code = 1;
    lines.push(`fleetgate: ${(error as Error).message}`);
  } finally {
    console.log = log;
    console.error = err;
  }
  return { code, out: lines.join('\n') };
}
let exit = -1;
const setExit = (c: number): void => {
  exit = c;
};

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
      const opts = { strict: true, reasonCode: 'OPERATOR_REQUEST' as const };
      const target = idx.tender[1] as number;
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
        reasons: ['OPERATOR_REQUEST'],
        details: { index: target, leafHash: original.get(target)?.leaf, reason: 'legal erasure: case 42' },
      });
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

    it('runs `audit retention run --dry-run` and `audit redact` against the data directory', async () => {
      const options =
        engine.name === 'postgres'
          ? { env: { DATABASE_URL: engine.url }, postgresSchema: t.postgresSchema as string }
          : { env: {} };
      if (engine.name === 'pglite') await t.gateway.close(); // one process owns a PGlite directory
      writeFileSync(join(t.dataDir, 'fleetgate.json'), JSON.stringify(t.gateway.config));
      const dry = await cli(auditRetentionCommand(setExit, options), [
        'run',
        '--dry-run',
        '--json',
        '--data-dir',
        t.dataDir,
      ]);
      expect(dry.code, dry.out).toBe(0);
      expect(JSON.parse(dry.out)).toMatchObject({ dryRun: true, due: 0, redacted: 0 });
      const target = idx.tender[3] as number;
      const args = ['--data-dir', t.dataDir, '--index', String(target), '--operator', 'ops-bob'];
      const ok = await cli(auditRedactCommand(setExit, options), [...args, '--reason', 'court order 7']);
      expect(ok.code, ok.out).toBe(0);
      expect(ok.out).toContain(`redacted entry ${target} (tender.decided)`);
      expect(ok.out).toContain(original.get(target)?.leaf as string);
      const again = await cli(auditRedactCommand(setExit, options), [...args, '--reason', 'court order 7']);
      expect(again.code).toBe(1);
      expect(again.out).toContain('already redacted');
      const noReason = await cli(auditRedactCommand(setExit, options), args);
      expect(noReason.code).not.toBe(0);
    });
  });
}
