/**
 * Witness end to end, on every engine: the real `fleetgate audit witness` bin in a child process
 * (`init`, then serving TLS 1.3 with a certificate openssl makes here) and a real gateway configured
 * with it (audit.witnesses). The gateway's witness client submits each new checkpoint; the public
 * checkpoint, and receipts, then carry a cosignature that verifies with the witness vkey printed by
 * `init`, next to the log's two signatures, which still verify; the witness's durable state advances
 * as the log grows; the metric counts the cosignatures obtained. A witness whose cosignature does not
 * verify is never stored, and is audited (`audit.witness.cosignature-invalid`, rate-limited).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCheckpoint } from '@fleetgate/core/note/checkpoint';
import { verifyNote } from '@fleetgate/core/note/signed-note';
import { parseVerifierKey } from '@fleetgate/core/note/verifier-key';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.ts';
import { verifyAuditReceipt } from '../../src/audit/verify-receipt.ts';
import { encodeWitnessVkey, verifyCheckpointCosignature } from '../../src/audit/witness/cosignature.ts';
import { initWitness } from '../../src/audit/witness/identity.ts';
import { type RunningWitnessServer, startWitnessServer } from '../../src/audit/witness/server.ts';
import { WitnessStateStore } from '../../src/audit/witness/state.ts';
import { Witness, witnessedLogFromVkeys } from '../../src/audit/witness/witness.ts';
import { FLEETGATE_BIN, fleetgate } from '../support/cli.ts';
import { engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { httpsRequest } from '../support/https-client.ts';
import { selfSignedCertificate } from '../support/self-signed.ts';
import { freePort, until } from '../support/wait.ts';

const WITNESS = 'witness.test/e2e';

const event = (i: number): AuditEvent => ({
  class: 'tender.decided',
  actor: { kind: 'partner', id: 'acme-tms', certSha256: 'ab'.repeat(32) },
  subject: { kind: 'tender', id: `tnd_witness_${i}` },
  outcome: 'accepted',
  reasons: ['LANE_SERVED'],
  details: { n: i },
});

for (const engine of engines()) {
  describe(`witness end to end on ${engine.name}`, () => {
    let dir: string;
    let t: TestGateway;
    let witness: ChildProcess | undefined;
    let witnessLog = '';
    let vkey: string;
    let logVkeys: string[];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'fleetgate-witness-e2e-'));
      const state = join(dir, 'state');
      const init = await fleetgate(['audit', 'witness', 'init', '--state', state, '--name', WITNESS]);
      expect(init.code, init.err).toBe(0);
      vkey = init.out.trim();
      const tls = await selfSignedCertificate(dir, '/CN=witness.test', ['subjectAltName=IP:127.0.0.1']);
      expect(tls.code, tls.out).toBe(0);
      const port = await freePort();
      // The gateway starts first (the witness needs the log's verifier keys from its data directory);
      // its client backs off until the witness listens.
      t = await startTestGateway(engine, (config) => {
        config.audit.witnesses = [
          { name: WITNESS, url: `https://127.0.0.1:${port}`, vkey, caFile: join(dir, 'cert.pem') },
        ];
      });
      const child = spawn(
        process.execPath,
        [
          FLEETGATE_BIN,
          'audit',
          'witness',
          '--state',
          state,
          '--log',
          join(t.dataDir, 'pki', 'audit', 'vkey.txt'),
          '--listen',
          `127.0.0.1:${port}`,
          '--tls-cert',
          join(dir, 'cert.pem'),
          '--tls-key',
          join(dir, 'key.pem'),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      witness = child;
      child.stderr?.on('data', (c: Buffer) => {
        witnessLog += c.toString();
      });
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('witness listening on https://127.0.0.1:')) resolve();
        });
        child.on('exit', (code) => reject(new Error(`witness exited ${code}: ${witnessLog}`)));
      });
      logVkeys = (
        await httpsRequest(`${t.url.public}/v1/audit/vkey`, { ca: readFileSync(t.caPath, 'utf8') })
      ).text
        .trim()
        .split('\n');
    }, 60_000);

    afterAll(async () => {
      await t?.stop();
      if (witness !== undefined && witness.exitCode === null) {
        const exited = new Promise((r) => witness?.once('exit', r));
        witness.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    });

    const served = async (): Promise<string> =>
      (await httpsRequest(`${t.url.public}/v1/audit/checkpoint`, { ca: readFileSync(t.caPath, 'utf8') }))
        .text;

    /** The served checkpoint once it has `size` >= min and a cosignature that verifies. */
    const cosignedAtLeast = (min: number) =>
      until(async () => {
        const note = await served();
        const size = parseCheckpoint(note.slice(0, note.lastIndexOf('\n\n') + 1)).size;
        if (size < min) return undefined;
        const check = verifyCheckpointCosignature(note, vkey);
        return check.ok ? { note, size, timestamp: check.cosignature.timestamp } : undefined;
      });

    const witnessState = (): { size: number; origin: string } => {
      const logs = join(dir, 'state', 'logs');
      const [file] = readdirSync(logs).filter((f) => f.endsWith('.json'));
      return JSON.parse(readFileSync(join(logs, file as string), 'utf8')) as { size: number; origin: string };
    };

    it('the served checkpoint carries a cosignature that verifies with the witness vkey', async () => {
      for (let i = 0; i < 5; i++) await t.gateway.audit.append(event(i));
      const { note, size } = await cosignedAtLeast(5);
      // The log's own two signatures still verify, the cosignature line being ignored by them.
      const keys = logVkeys.map(parseVerifierKey);
      const verified = verifyNote(
        note,
        keys.map((k) => ({ name: k.name, publicKey: k.publicKey })),
      );
      expect(verified.verifiedKeys.map((k) => k.alg).sort()).toEqual(['ed25519', 'ml-dsa-65']);
      expect(note.split('\n').filter((l) => l.startsWith(`\u2014 ${WITNESS} `))).toHaveLength(1);
      // The witness's durable state holds what it cosigned.
      const state = witnessState();
      expect(state.origin).toBe(t.gateway.config.audit.origin);
      expect(state.size).toBe(size);
    });

    it("the witness's state advances as the log grows, each step proven consistent", async () => {
      const before = witnessState().size;
      for (let i = 5; i < 40; i++) await t.gateway.audit.append(event(i));
      const { size } = await cosignedAtLeast(before + 35);
      expect(size).toBeGreaterThanOrEqual(40);
      expect(witnessState().size).toBeGreaterThanOrEqual(size);
      expect(witnessLog).toMatch(/"code":"OK"/);
      expect(witnessLog).not.toMatch(/WITNESS_PROOF_INVALID|WITNESS_SIGNATURE/);
    });

    it('receipts carry the cosignature and still verify offline', async () => {
      const { size } = await cosignedAtLeast(40);
      const ca = readFileSync(t.caPath, 'utf8');
      const receipt = (await httpsRequest(`${t.url.public}/v1/audit/receipt/3`, { ca })).json();
      expect(verifyAuditReceipt(receipt, logVkeys)).toMatchObject({ ok: true, index: 3 });
      if (receipt.treeSize === size) {
        expect(verifyCheckpointCosignature(receipt.checkpoint as string, vkey).ok).toBe(true);
      }
    });

    it('a gateway that lost track of the witness size resynchronises on its 409', async () => {
      await t.gateway.store.query('DELETE FROM audit_witness_state');
      const before = witnessState().size;
      for (let i = 40; i < 45; i++) await t.gateway.audit.append(event(i));
      const { size } = await cosignedAtLeast(before + 5);
      expect(witnessState().size).toBe(size);
      expect(witnessLog).toMatch(/WITNESS_OLD_SIZE_MISMATCH/);
    });

    it('the metric counts the cosignatures obtained from the witness', async () => {
      const metrics = await (await fetch(`${t.url.ops}/metrics`)).text();
      const line = metrics
        .split('\n')
        .find((l) =>
          l.startsWith(
            `fleetgate_audit_witness_cosignatures_total{witness="${WITNESS}",result="obtained",reason="ok"}`,
          ),
        );
      expect(Number(line?.split(' ').at(-1))).toBeGreaterThanOrEqual(2);
    });
  });
}

for (const engine of engines()) {
  describe(`a cosignature that does not verify is never stored, on ${engine.name}`, () => {
    let t: TestGateway;
    let dir: string;
    let server: RunningWitnessServer;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'fleetgate-witness-bad-'));
      const identity = initWitness(join(dir, 'state'), WITNESS);
      // The gateway pins another key under the witness's name: the witness's real cosignatures fail.
      const pinned = encodeWitnessVkey(WITNESS, generateKeyPairSync('ed25519').publicKey);
      const port = await freePort();
      t = await startTestGateway(engine, (config) => {
        config.audit.witnesses = [{ name: WITNESS, url: `http://127.0.0.1:${port}`, vkey: pinned }];
      });
      const vkeys = readFileSync(join(t.dataDir, 'pki', 'audit', 'vkey.txt'), 'utf8').split('\n');
      const witness = new Witness({
        identity,
        logs: [witnessedLogFromVkeys(vkeys)],
        state: new WitnessStateStore(join(dir, 'state')),
      });
      const quiet = { info: () => {}, warn: () => {}, error: () => {} };
      server = await startWitnessServer({
        witness,
        host: '127.0.0.1',
        port,
        insecureLoopback: true,
        logger: quiet,
      });
    }, 60_000);

    afterAll(async () => {
      await t?.stop();
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('the witness cosigned, the gateway refused it: nothing stored or served, the failure counted', async () => {
      for (let i = 0; i < 3; i++) await t.gateway.audit.append(event(i));
      const failed = await until(async () => {
        const metrics = await (await fetch(`${t.url.ops}/metrics`)).text();
        const line = metrics.split('\n').find((l) => l.includes('result="failed",reason="bad_cosignature"'));
        return line === undefined ? undefined : Number(line.split(' ').at(-1));
      });
      expect(failed).toBeGreaterThanOrEqual(1);
      const rows = await t.gateway.store.query('SELECT tree_size FROM audit_cosignatures');
      expect(rows).toHaveLength(0);
      const note = (
        await httpsRequest(`${t.url.public}/v1/audit/checkpoint`, { ca: readFileSync(t.caPath, 'utf8') })
      ).text;
      expect(note.split('\n').filter((l) => l.startsWith(`\u2014 ${WITNESS} `))).toHaveLength(0);
    });

    it('the invalid cosignature is audited, once a minute however often it recurs', async () => {
      const failures = await until(async () => {
        const metrics = await (await fetch(`${t.url.ops}/metrics`)).text();
        const line = metrics.split('\n').find((l) => l.includes('result="failed",reason="bad_cosignature"'));
        const n = line === undefined ? 0 : Number(line.split(' ').at(-1));
        return n >= 2 ? n : undefined;
      });
      expect(failures).toBeGreaterThanOrEqual(2);
      const rows = await t.gateway.store.query<{ entry: string }>('SELECT entry FROM audit_entries');
      const audited = rows
        .map((r) => JSON.parse(r.entry) as AuditEvent)
        .filter((e) => e.class === 'audit.witness.cosignature-invalid');
      expect(audited).toHaveLength(1);
      expect(audited[0]).toMatchObject({
        actor: { kind: 'system', id: 'witness-client' },
        subject: { kind: 'witness', id: WITNESS },
        outcome: 'rejected',
        reasons: ['WITNESS_COSIGNATURE_INVALID'],
        details: { witness: WITNESS, occurrences: 1 },
      });
    });
  });
}
