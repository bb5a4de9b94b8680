/**
 * SIEM export to JSONL files, on every engine: the exporter is killed between a batch's fsync and its
 * cursor save (the worst moment), restarted with a fresh sink on the same directory, and the files then
 * hold every committed entry — duplicates only from that one batch, each event with its metadata.uid.
 * Files rotate by size. The gateway runs a configured jsonl sink on its own and reports exported count
 * and lag on /metrics.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.ts';
import { JsonlSink } from '../../src/audit/export/jsonl-sink.ts';
import { cursorName, ExportRunner } from '../../src/audit/export/runner.ts';
import type { ExportRecord, ExportSink } from '../../src/audit/export/sink.ts';
import { readCursor } from '../../src/tendering/lifecycle-feed.ts';
import { engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';

const event = (i: number): AuditEvent => ({
  class: 'telemetry.batch.accepted',
  actor: { kind: 'vehicle', id: 'TRK-001', certSha256: 'ab'.repeat(32) },
  subject: { kind: 'telemetry-batch', id: String(i) },
  outcome: 'accepted',
  details: { batchSha256: 'cd'.repeat(32) },
});

/** Every event line in a directory's .jsonl files, in file order. */
function readEvents(dir: string): { uid: string; sequence: number }[] {
  const out: { uid: string; sequence: number }[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (line === '') continue;
      const e = JSON.parse(line) as { metadata: { uid: string; sequence: number } };
      out.push({ uid: e.metadata.uid, sequence: e.metadata.sequence });
    }
  }
  return out;
}

/** A sink that dies after the inner sink acknowledged batch number `killAt` (before the cursor save). */
class KilledAfterAck implements ExportSink {
  readonly name: string;
  readonly inner: ExportSink;
  readonly killAt: number;
  batches = 0;
  constructor(inner: ExportSink, killAt: number) {
    this.inner = inner;
    this.killAt = killAt;
    this.name = inner.name;
  }
  async deliver(batch: readonly ExportRecord[], signal: AbortSignal): Promise<void> {
    await this.inner.deliver(batch, signal);
    this.batches += 1;
    if (this.batches === this.killAt) throw new Error('process killed');
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

for (const engine of engines()) {
  describe(`SIEM export to JSONL on ${engine.name}`, () => {
    let t: TestGateway;
    let dir: string;
    const size = async () => t.gateway.audit.size();

    beforeAll(async () => {
      t = await startTestGateway(engine, (c) => {
        c.auditExport = {
          sinks: [
            { kind: 'jsonl', name: 'files', directory: 'siem', maxFileBytes: 64 * 1024, batchSize: 100 },
          ],
          pollIntervalMs: 50,
          retryMinMs: 10,
          retryMaxMs: 100,
        };
      });
      dir = mkdtempSync(join(tmpdir(), 'fleetgate-siem-'));
      await Promise.all(Array.from({ length: 230 }, (_, i) => t.gateway.audit.append(event(i))));
    });
    afterAll(async () => {
      await t?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('loses nothing across a kill between fsync and cursor save; duplicates only from that batch', async () => {
      const { store, audit } = t.gateway;
      const options = {
        store,
        origin: audit.origin,
        batchSize: 40,
        pollIntervalMs: 50,
        retryMinMs: 10,
        retryMaxMs: 100,
        now: () => new Date(),
      };
      const first = new KilledAfterAck(
        new JsonlSink({ name: 'crash', directory: dir, maxFileBytes: 64 * 1024 }),
        3,
      );
      const runner1 = new ExportRunner({ ...options, sink: first });
      expect(await runner1.step()).toBe(40);
      expect(await runner1.step()).toBe(40);
      await expect(runner1.step()).rejects.toThrow('process killed');
      await first.close();
      expect(await readCursor(store, cursorName('crash'))).toBe(79);

      // More entries commit while the exporter is down.
      await Promise.all(Array.from({ length: 25 }, (_, i) => audit.append(event(1000 + i))));
      const total = await size();

      const second = new JsonlSink({ name: 'crash', directory: dir, maxFileBytes: 64 * 1024 });
      const runner2 = new ExportRunner({ ...options, sink: second });
      while ((await runner2.step()) > 0) {
        // drain
      }
      await second.close();
      expect(await readCursor(store, cursorName('crash'))).toBe(total - 1);

      const events = readEvents(dir);
      const seen = new Map<number, number>();
      for (const e of events) {
        expect(e.uid).toBe(`${audit.origin}/${e.sequence}`);
        seen.set(e.sequence, (seen.get(e.sequence) ?? 0) + 1);
      }
      expect([...seen.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
      const duplicated = [...seen].filter(([, n]) => n > 1).map(([i]) => i);
      expect(duplicated).toEqual(Array.from({ length: 40 }, (_, i) => 80 + i));
      expect([...seen.values()].every((n) => n <= 2)).toBe(true);

      // Rotation: several files, none past the limit, and the restart began a new one.
      const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
      expect(files.length).toBeGreaterThan(2);
      for (const f of files) expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(64 * 1024);
      expect(files.every((f) => /^crash-\d{4}-\d{2}-\d{2}-\d{6}\.jsonl$/.test(f))).toBe(true);
    });

    it('runs a configured sink in the gateway and reports count and lag', async () => {
      const out = join(t.dataDir, 'siem');
      const target = await size();
      const deadline = Date.now() + 20_000;
      let seen = new Set<number>();
      while (Date.now() < deadline) {
        try {
          seen = new Set(readEvents(out).map((e) => e.sequence));
        } catch {
          // the directory may not exist yet
        }
        if (seen.size >= target) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      for (let i = 0; i < target; i++) expect(seen.has(i)).toBe(true);
      expect(await readCursor(t.gateway.store, cursorName('files'))).toBeGreaterThanOrEqual(target - 1);
      const metrics = await (await fetch(`${t.url.ops}/metrics`)).text();
      const exported = /fleetgate_audit_export_entries_total\{sink="files"\} (\d+)/.exec(metrics);
      expect(Number(exported?.[1])).toBeGreaterThanOrEqual(target);
      expect(metrics).toMatch(/fleetgate_audit_export_lag_entries\{sink="files"\} \d+/);
    });
  });
}
