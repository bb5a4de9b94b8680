/**
 * The `fleetgate` command as a user runs it (the real bin, in a child process on this Node 24):
 * init creates the data directory with owner-only keys; `audit verify` exits 0 on an intact log and 1,
 * naming the index, after one row is tampered with.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAuditKeys } from '@fleetgate/gateway/audit/keys';
import { AuditLog } from '@fleetgate/gateway/audit/log';
import { openStore } from '@fleetgate/gateway/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '..', 'bin', 'fleetgate.js');

function fleetgate(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DATABASE_URL: '' },
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

describe('fleetgate CLI', () => {
  let dir: string;
  beforeAll(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'fleetgate-cli-')), 'gw');
  });
  afterAll(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('init creates config, CA hierarchy, server, partner and device certificates with 0600 keys', async () => {
    const { code, out } = await fleetgate(['init', '--data-dir', dir, '--vehicles', '3']);
    expect(code).toBe(0);
    expect(out).toMatch(/3 vehicle certificates/);
    expect(readdirSync(join(dir, 'pki', 'devices')).sort()).toEqual(['TRK-001', 'TRK-002', 'TRK-003']);
    expect(readdirSync(join(dir, 'pki', 'partners'))).toEqual(['acme-tms']);
    for (const key of [
      'root/key.json', // CA keys: encrypted key documents (docs/pki.md "Key custody")
      'intermediate/key.json',
      'server/key.pem',
      'partners/acme-tms/key.pem',
      'devices/TRK-002/key.pem',
      'audit/key.pem',
    ]) {
      expect(statSync(join(dir, 'pki', key)).mode & 0o777).toBe(0o600);
    }
    expect(statSync(join(dir, 'fleetgate.json')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'pki', 'ca.pem')).isFile()).toBe(true);
    // Idempotent: a second init keeps everything.
    const again = await fleetgate(['init', '--data-dir', dir]);
    expect(again.out).toMatch(/^updated /);
  });

  it('audit verify exits 0 on an intact log and 1 with the index on a tampered row', async () => {
    const store = await openStore({ engine: 'pglite', dataDir: join(dir, 'store') });
    const keys = loadAuditKeys(dir, 'fleetgate.local/audit');
    const log = new AuditLog(store, {
      origin: 'fleetgate.local/audit',
      privateKey: keys.privateKey,
      mlDsaPrivateKey: keys.mlDsaPrivateKey,
    });
    for (let i = 0; i < 5; i += 1) {
      await log.append({
        class: 'gateway.started',
        actor: { kind: 'system', id: 'test' },
        subject: { kind: 'gateway', id: String(i) },
        outcome: 'recorded',
      });
    }
    await log.publish();
    await store.close();
    const ok = await fleetgate(['audit', 'verify', '--data-dir', dir]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/5 entries, 1 signed checkpoints/);

    const tamper = await openStore({ engine: 'pglite', dataDir: join(dir, 'store') });
    await tamper.query(
      `UPDATE audit_entries SET entry = replace(entry, '"recorded"', '"accepted"') WHERE idx = 3`,
    );
    await tamper.close();
    const bad = await fleetgate(['audit', 'verify', '--data-dir', dir]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/FAIL index 3: entry does not match its stored leaf hash/);
    const json = await fleetgate(['audit', 'verify', '--data-dir', dir, '--json']);
    expect(JSON.parse(json.out)).toMatchObject({
      ok: false,
      problems: expect.arrayContaining([expect.objectContaining({ index: 3 })]),
    });
  });

  it('answers usage errors with exit 2', async () => {
    expect((await fleetgate(['init'])).code).toBe(2);
    expect((await fleetgate(['no-such-command'])).code).toBe(2);
  });
});
