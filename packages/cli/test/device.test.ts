/**
 * `fleetgate device enroll|rotate|list|show` as an operator runs them: real processes on Node 24 against
 * a data directory made by the real `fleetgate init`, with a real gateway (started between commands:
 * PGlite is single-process) and the edge SDK enrolling over EST with the printed tokens.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enroll } from '@fleetgate/edge/enroll';
import { loadConfig } from '@fleetgate/gateway/config/load';
import { startGateway } from '@fleetgate/gateway/gateway';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetgate } from './support/cli.ts';

const device = (args: string[]) => fleetgate(['device', ...args]);

describe('fleetgate device', () => {
  let root: string;
  let dir: string;

  /** Runs a gateway on the data directory (all listeners on loopback, port 0) for the duration of fn. */
  async function withGateway<T>(fn: (publicUrl: string, ca: string) => Promise<T>): Promise<T> {
    const config = loadConfig(dir, {});
    for (const l of Object.values(config.listeners)) {
      l.host = '127.0.0.1';
      l.port = 0;
    }
    const gateway = await startGateway({ dataDir: dir, config, logger: pino({ level: 'silent' }) });
    try {
      return await fn(`https://127.0.0.1:${gateway.addresses.public.port}`, join(dir, 'pki', 'ca.pem'));
    } finally {
      await gateway.close();
    }
  }
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'fleetgate-device-'));
    dir = join(root, 'gw');
    const init = await fleetgate(['init', '--data-dir', dir, '--vehicles', '2']);
    expect(init.code).toBe(0);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('enroll --token prints a one-time token the vehicle enrolls with over EST', async () => {
    expect((await device(['enroll', 'TRK-050', '--data-dir', dir])).code).toBe(2);
    const created = await device([
      'enroll',
      'TRK-050',
      '--token',
      '--tenant',
      'acme',
      '--ttl',
      '1h',
      '--json',
      '--data-dir',
      dir,
    ]);
    expect(created.code).toBe(0);
    const { token, tokenId, expiresAt } = JSON.parse(created.out) as {
      token: string;
      tokenId: string;
      expiresAt: string;
    };
    expect(token).toMatch(/^fgbt_[A-Za-z0-9_-]{43}$/);
    expect(new Date(expiresAt).getTime() - Date.now()).toBeLessThanOrEqual(3600_000);
    const enrolled = await withGateway((url, ca) =>
      enroll({ url, ca: readFileSync(ca, 'utf8'), vehicleId: 'TRK-050', token, dir: join(root, 'trk-050') }),
    );
    const show = await device(['show', 'TRK-050', '--json', '--data-dir', dir]);
    expect(show.code).toBe(0);
    const shown = JSON.parse(show.out) as {
      tenant: string;
      certificates: Array<{ serialNumber: string; status: string; thumbprintSha256: string }>;
      tokens: Array<{ tokenId: string; usedSerial: string }>;
    };
    expect(shown.tenant).toBe('acme');
    expect(shown.certificates).toEqual([
      expect.objectContaining({ serialNumber: enrolled.serialNumber, status: 'active' }),
    ]);
    expect(shown.certificates[0]?.thumbprintSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(shown.tokens).toEqual([expect.objectContaining({ tokenId, usedSerial: enrolled.serialNumber })]);
    expect(show.out).not.toContain(token);
    const bySerial = await device(['show', enrolled.serialNumber, '--data-dir', dir]);
    expect(bySerial.out).toContain('vehicle TRK-050 (tenant acme)');
    expect(bySerial.out).toContain(`certificate ${enrolled.serialNumber}  active`);
  });

  it('list shows serial, thumbprint, status, validity and replaced_by', async () => {
    const list = await device(['list', '--json', '--data-dir', dir]);
    expect(list.code).toBe(0);
    const rows = list.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string | null>);
    expect(rows.map((r) => r.vehicleId).sort()).toEqual(['TRK-001', 'TRK-002', 'TRK-050']);
    for (const r of rows) {
      expect(r).toMatchObject({ status: 'active', replacedBy: null });
      expect(r.thumbprintSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(Date.parse(r.notAfter ?? '')).toBeGreaterThan(Date.parse(r.notBefore ?? ''));
    }
    const text = await device(['list', '--data-dir', dir]);
    expect(text.out).toMatch(/^VEHICLE\s+SERIAL\s+STATUS\s+NOT BEFORE\s+NOT AFTER\s+SHA-256\s+REPLACED BY/);
    expect(text.out).toContain('3 vehicle certificates');
  });

  it('rotate revokes at once and prints re-enrollment tokens; the vehicle comes back with one', async () => {
    expect((await device(['rotate', '--data-dir', dir])).code).toBe(2);
    expect((await device(['rotate', 'TRK-050', '--tenant', 'acme', '--data-dir', dir])).code).toBe(2);
    const rotated = await device(['rotate', '--tenant', 'acme', '--json', '--data-dir', dir]);
    expect(rotated.code).toBe(0);
    const result = JSON.parse(rotated.out) as {
      revoked: Array<{ vehicleId: string; serialNumber: string }>;
      tokens: Array<{ vehicleId: string; token: string }>;
    };
    expect(result.revoked.map((r) => r.vehicleId)).toEqual(['TRK-050']);
    expect(result.tokens.map((t) => t.vehicleId)).toEqual(['TRK-050']);
    expect((await device(['rotate', 'TRK-050', '--data-dir', dir])).code).toBe(1);

    const back = await withGateway((url, ca) =>
      enroll({
        url,
        ca: readFileSync(ca, 'utf8'),
        vehicleId: 'TRK-050',
        token: result.tokens[0]?.token ?? '',
        dir: join(root, 'trk-050-new'),
      }),
    );
    const list = await device(['list', '--vehicle', 'TRK-050', '--json', '--data-dir', dir]);
    const rows = list.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string | null>);
    expect(rows).toEqual([
      expect.objectContaining({
        status: 'revoked',
        revocationReason: 'keyCompromise',
        replacedBy: back.serialNumber,
      }),
      expect.objectContaining({ serialNumber: back.serialNumber, status: 'active' }),
    ]);
    const show = await device(['show', 'TRK-050', '--data-dir', dir]);
    expect(show.out).toMatch(/rotation\s+forced \(keyCompromise\)/);
  });

  it('rotate --intermediate revokes every vehicle certificate of the current intermediate', async () => {
    const rotated = await device(['rotate', '--intermediate', '--no-tokens', '--json', '--data-dir', dir]);
    expect(rotated.code).toBe(0);
    const result = JSON.parse(rotated.out) as { revoked: Array<{ vehicleId: string }>; tokens: unknown[] };
    expect(result.revoked.map((r) => r.vehicleId).sort()).toEqual(['TRK-001', 'TRK-002', 'TRK-050']);
    expect(result.tokens).toEqual([]);
    const active = await device(['list', '--status', 'active', '--json', '--data-dir', dir]);
    expect(active.out.trim()).toBe('');
    const revoked = await device(['list', '--status', 'revoked', '--data-dir', dir]);
    expect(revoked.out).toContain('revoked (cACompromise)');
    // Every decision the commands made is in the audit log, sealed by a checkpoint.
    const verify = await fleetgate(['audit', 'verify', '--data-dir', dir]);
    expect(verify.code).toBe(0);
  });
});
