/**
 * A witness reporting a fork is a security event (docs/audit.md "Witness"), on every engine: a real
 * gateway and a real witness (in process, plain HTTP on loopback) whose durable state holds ANOTHER root
 * at the size of the gateway's latest checkpoint — what a witness that was shown a split view of the log
 * would hold. The gateway's client resynchronises on the witness's 409, submits its checkpoint at that
 * size, gets 409 at its own size — a fork — and appends `audit.witness.fork-reported` to the audit log
 * (once, whatever follows), besides the error log line and the metric. Nothing is stored as a
 * cosignature.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.ts';
import { initWitness } from '../../src/audit/witness/identity.ts';
import { type RunningWitnessServer, startWitnessServer } from '../../src/audit/witness/server.ts';
import { WitnessStateStore } from '../../src/audit/witness/state.ts';
import { Witness, witnessedLogFromVkeys } from '../../src/audit/witness/witness.ts';
import { engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { freePort, until as untilFor } from '../support/wait.ts';

const WITNESS = 'witness.test/fork';

const until = <T>(probe: () => Promise<T | undefined>): Promise<T> => untilFor(probe, 45_000);

for (const engine of engines()) {
  describe(`a witness reporting a fork, on ${engine.name}`, () => {
    let t: TestGateway;
    let dir: string;
    let server: RunningWitnessServer | undefined;
    const refusals: string[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'fleetgate-witness-fork-'));
      const identity = initWitness(join(dir, 'state'), WITNESS);
      const port = await freePort();
      // The witness is not listening yet: the gateway's client backs off until it is.
      t = await startTestGateway(engine, (config) => {
        config.audit.witnesses = [{ name: WITNESS, url: `http://127.0.0.1:${port}`, vkey: identity.vkey }];
      });
      for (let i = 0; i < 3; i++) {
        await t.gateway.audit.append({
          class: 'tender.decided',
          actor: { kind: 'partner', id: 'acme-tms' },
          subject: { kind: 'tender', id: `tnd_fork_${i}` },
          outcome: 'accepted',
        });
      }
      // The latest checkpoint, once the log is quiet: the size the witness will claim to hold.
      const latest = async () =>
        Number(
          (
            await t.gateway.store.query<{ tree_size: string }>(
              'SELECT max(tree_size) AS tree_size FROM audit_checkpoints',
            )
          )[0]?.tree_size ?? 0,
        );
      const size = await until(async () => {
        const a = await latest();
        await new Promise((r) => setTimeout(r, 1_500));
        return a >= 3 && (await latest()) === a ? a : undefined;
      });
      const vkeys = readFileSync(join(t.dataDir, 'pki', 'audit', 'vkey.txt'), 'utf8').split('\n');
      const state = new WitnessStateStore(join(dir, 'state'));
      // Another tree of the same size: a split view.
      state.put({
        origin: t.gateway.audit.origin,
        size,
        rootHash: randomBytes(32),
        note: '(the other view)',
        cosignedAt: new Date().toISOString(),
      });
      const witness = new Witness({ identity, logs: [witnessedLogFromVkeys(vkeys)], state });
      server = await startWitnessServer({
        witness,
        host: '127.0.0.1',
        port,
        insecureLoopback: true,
        logger: {
          info: () => {},
          warn: (o: object) => refusals.push(String((o as { code?: string }).code)),
          error: () => {},
        },
      });
    }, 90_000);

    afterAll(async () => {
      await t?.stop();
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const forkEntries = async () =>
      (await t.gateway.store.query<{ entry: string }>('SELECT entry FROM audit_entries'))
        .map((r) => JSON.parse(r.entry) as AuditEvent)
        .filter((e) => e.class === 'audit.witness.fork-reported');

    it('the fork is audited, counted, and nothing is cosigned', async () => {
      const [entry] = await until(async () => {
        const found = await forkEntries();
        return found.length > 0 ? found : undefined;
      });
      expect(entry).toMatchObject({
        actor: { kind: 'system', id: 'witness-client' },
        subject: { kind: 'witness', id: WITNESS },
        outcome: 'recorded',
        reasons: ['WITNESS_FORK_REPORTED'],
        details: { witness: WITNESS, occurrences: 1 },
      });
      expect(String(entry?.details?.detail)).toMatch(/a fork/);
      expect(refusals).toContain('WITNESS_ROOT_MISMATCH');
      const metrics = await (await fetch(`${t.url.ops}/metrics`)).text();
      expect(metrics).toMatch(
        new RegExp(
          `fleetgate_audit_witness_cosignatures_total\\{witness="${WITNESS}",result="failed",reason="fork"\\} [1-9]`,
        ),
      );
      expect(await t.gateway.store.query('SELECT tree_size FROM audit_cosignatures')).toHaveLength(0);
      // The entry made a new checkpoint, which the client submits again: refused (the witness cannot
      // extend the other tree), but not audited again within the minute.
      await until(async () =>
        refusals.filter((c) => c === 'WITNESS_PROOF_INVALID' || c === 'WITNESS_ROOT_MISMATCH').length >= 2
          ? true
          : undefined,
      );
      expect(await forkEntries()).toHaveLength(1);
    }, 60_000);
  });
}
