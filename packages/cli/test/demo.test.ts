/**
 * The demo end to end, shortened: a real gateway on PGlite, trucks sending signed telemetry over mTLS,
 * a compromised truck whose attacks must all be refused, a TMS tendering by REST and X12, a dispatch desk,
 * a witness, and an audit log that verifies after the drain — and from an offsite replica. Ports are chosen by the OS so the test never collides with a running demo.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/commands/demo.ts';

describe('demo', () => {
  it('tenders, verifies telemetry, refuses every attack, and ends with a verified audit log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetgate-demo-'));
    const lines: string[] = [];
    try {
      const env = {
        FLEETGATE_CONTROL_PORT: '0',
        FLEETGATE_TELEMETRY_PORT: '0',
        FLEETGATE_PUBLIC_PORT: '0',
        FLEETGATE_OPS_PORT: '0',
        FLEETGATE_LOG_LEVEL: 'warn',
      };
      const summary = await runDemo({
        dataDir: join(dir, 'demo'),
        seconds: 9,
        trucks: 4,
        env,
        out: (l) => lines.push(l),
      });
      expect(lines.join('\n')).toMatch(/TLS 1\.2 refused ✓, client without certificate refused ✓/);
      expect(summary.auditVerified).toBe(true);
      expect(summary.telemetryVerified).toBeGreaterThan(0);
      expect(summary.tendersAccepted + summary.tendersDeclined).toBeGreaterThan(0);
      expect(summary.attacksUndetected).toBe(0);
      expect(summary.telemetryRejected).toBeGreaterThan(0);
      expect(Object.keys(summary.rejectionsByCode)).toContain('TELEMETRY_REPLAYED');
      // The offsite replica copied the log through the public API and verified it offline.
      expect(summary.replicaVerified).toBe(true);
      expect(summary.replicaSize).toBeGreaterThan(0);
      // Every X12 204 the partner uploaded was acknowledged with a 997 it collected from its outbox.
      expect(summary.ediReceived['997'] ?? 0).toBe(summary.ediInterchanges);
      expect(summary.auditEntries).toBeGreaterThanOrEqual(
        summary.telemetryVerified + summary.telemetryRejected,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
