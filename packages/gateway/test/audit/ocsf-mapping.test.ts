/**
 * OCSF mapping (docs/audit.md "OCSF mapping"): every AuditClass in event.ts — read from the source at
 * run time, so a class added without a mapping fails here as well as at compile time (the exhaustive
 * switch in ocsf/classes.ts) — maps to a real OCSF class with type_uid = class_uid * 100 + activity_id;
 * decisions, actors, thumbprints and reasons land where a SIEM looks for them; a redaction stub exports
 * as a minimal event that says so; a damaged row exports as a Base Event instead of stalling the export.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/audit/canonical-json.ts';
import { type AuditClass, type AuditEvent, auditDocument } from '../../src/audit/event.ts';
import { ocsfClassOf } from '../../src/audit/ocsf/classes.ts';
import { toOcsfEvent } from '../../src/audit/ocsf/map-entry.ts';
import { redactionStubText } from '../../src/audit/redaction-format.ts';

/** The AuditClass union as written in event.ts. */
function auditClassesFromSource(): string[] {
  const text = readFileSync(join(import.meta.dirname, '../../src/audit/event.ts'), 'utf8').replace(
    /\/\/.*$/gm,
    '',
  );
  const union = /export type AuditClass =([\s\S]*?);/.exec(text)?.[1] ?? '';
  return [...union.matchAll(/\|\s*'([^']+)'/g)].map((m) => m[1] as string);
}

// OCSF 1.3 class_uid → category_uid for the classes the mapping uses.
const CATEGORY_OF: Record<number, number> = { 3001: 3, 3002: 3, 3004: 3, 6002: 6, 6003: 6, 2004: 2, 1008: 1 };

const ORIGIN = 'fleetgate.test/audit';
const TIME = new Date('2026-03-04T05:06:07.890Z');

function entry(cls: AuditClass, outcome: AuditEvent['outcome'], kind: AuditEvent['actor']['kind']): string {
  return canonicalJson(
    auditDocument(
      {
        class: cls,
        actor: { kind, id: kind === 'vehicle' ? 'TRK-001' : 'acme-tms', certSha256: 'ab'.repeat(32) },
        subject: { kind: 'tender', id: 'tnd_1' },
        outcome,
        reasons: ['LANE_NOT_SERVED', 'WEIGHT'],
        details: { batchSha256: 'cd'.repeat(32), n: 3 },
      },
      TIME,
    ),
  );
}

describe('OCSF mapping', () => {
  const classes = auditClassesFromSource();

  it('reads the class list from event.ts (a loader that finds nothing fails)', () => {
    expect(classes.length).toBeGreaterThan(30);
    expect(classes).toContain('audit.entry.redacted');
    expect(new Set(classes).size).toBe(classes.length);
  });

  it('maps every AuditClass to a known OCSF class, never Base Event', () => {
    for (const cls of classes) {
      const c = ocsfClassOf(cls as AuditClass);
      expect(c.classUid, cls).not.toBe(0);
      expect(CATEGORY_OF[c.classUid], cls).toBe(c.categoryUid);
      expect(c.activityId === 99 || (c.activityId >= 1 && c.activityId <= 13), cls).toBe(true);
    }
  });

  it('maps every class and outcome into a complete event', () => {
    for (const cls of classes) {
      for (const outcome of ['accepted', 'rejected', 'recorded'] as const) {
        const e = toOcsfEvent({ index: 41, entry: entry(cls as AuditClass, outcome, 'partner') }, ORIGIN);
        expect(e.type_uid, cls).toBe(e.class_uid * 100 + e.activity_id);
        expect(e.class_uid).toBe(ocsfClassOf(cls as AuditClass).classUid);
        expect(e.time).toBe(TIME.getTime());
        expect(e.metadata).toEqual({
          version: '1.3.0',
          product: { name: 'fleetgate', vendor_name: 'fleetgate' },
          uid: `${ORIGIN}/41`,
          log_name: ORIGIN,
          sequence: 41,
          event_code: cls,
          original_time: TIME.toISOString(),
        });
        expect(e.status_id).toBe(outcome === 'rejected' ? 2 : 1);
        expect(e.severity_id).toBeGreaterThanOrEqual(1);
        expect(e.severity_id).toBeLessThanOrEqual(5);
        expect(e.status_code).toBe('LANE_NOT_SERVED');
        expect(e.actor).toMatchObject({ user: { uid: 'acme-tms' } });
        expect(e.unmapped).toMatchObject({
          outcome,
          actor: { certSha256: 'ab'.repeat(32) },
          details: { batchSha256: 'cd'.repeat(32), n: 3 },
          reasons: ['LANE_NOT_SERVED', 'WEIGHT'],
        });
        expect(JSON.parse(JSON.stringify(e))).toEqual(e);
      }
    }
  });

  it('puts decisions, devices and thumbprints where a SIEM looks', () => {
    const refused = toOcsfEvent(
      { index: 7, entry: entry('pki.certificate.revoked-use-refused', 'rejected', 'vehicle') },
      ORIGIN,
    );
    expect(refused).toMatchObject({
      class_uid: 3002,
      activity_id: 1,
      type_uid: 300201,
      status_id: 2,
      status: 'Failure',
      action_id: 2,
      severity_id: 4,
      device: { uid: 'TRK-001', type: 'Vehicle' },
      certificate: { fingerprints: [{ algorithm: 'SHA-256', value: 'ab'.repeat(32) }] },
    });
    const tender = toOcsfEvent({ index: 8, entry: entry('tender.decided', 'accepted', 'partner') }, ORIGIN);
    expect(tender).toMatchObject({
      class_uid: 6003,
      type_uid: 600301,
      action: 'Allowed',
      api: { operation: 'tender.decided' },
      resources: [{ uid: 'tnd_1', type: 'tender' }],
    });
    const replay = toOcsfEvent(
      { index: 9, entry: entry('telemetry.batch.rejected', 'rejected', 'vehicle') },
      ORIGIN,
    );
    expect(replay).toMatchObject({
      class_uid: 2004,
      category_uid: 2,
      finding_info: { uid: `${ORIGIN}/9`, title: 'telemetry.batch.rejected' },
    });
  });

  it('exports a redacted entry as a minimal event that says so', () => {
    const stub = redactionStubText({
      leafHash: 'ef'.repeat(32),
      class: 'telemetry.batch.accepted',
      time: TIME.toISOString(),
      redactedAt: '2030-01-01T00:00:00.000Z',
      reason: 'retention',
    });
    const e = toOcsfEvent({ index: 3, entry: stub }, ORIGIN);
    expect(e).toMatchObject({
      class_uid: 6003,
      status_id: 0,
      time: TIME.getTime(),
      metadata: { uid: `${ORIGIN}/3`, event_code: 'telemetry.batch.accepted' },
      unmapped: { redacted: { leafHash: 'ef'.repeat(32), reason: 'retention' } },
    });
    expect(e.message).toMatch(/redacted/);
    expect(e.actor).toBeUndefined();
    expect(e.resources).toBeUndefined();
  });

  it('exports a damaged row as a Base Event naming its index', () => {
    for (const bad of ['not json', '{"v":2}', '[]', '{"v":1,"class":5}']) {
      const e = toOcsfEvent({ index: 12, entry: bad }, ORIGIN);
      expect(e).toMatchObject({
        class_uid: 0,
        type_uid: 99,
        metadata: { uid: `${ORIGIN}/12`, sequence: 12 },
      });
    }
  });

  it('maps a class name it does not know to Base Event', () => {
    const text = entry('tender.decided', 'accepted', 'partner').replace('tender.decided', 'future.class');
    expect(toOcsfEvent({ index: 1, entry: text }, ORIGIN)).toMatchObject({ class_uid: 0, activity_id: 99 });
  });
});
