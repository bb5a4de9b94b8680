/**
 * The witness's durable state and process lock (audit/witness/state.ts, witness.ts step 5):
 *  - a witness that once cosigned the empty tree (size 0) treats the next request as first contact:
 *    "old 0" for a larger tree is cosigned, not refused 422 for ever (RFC 9162 has no proof from size 0);
 *  - the process lock: a live holder refuses a second process; a stale lock (dead process, or our own pid
 *    left by an earlier run) is taken over; a lock of the earlier single-file layout is honoured;
 *  - two takeovers of the same stale lock: exactly one wins — deterministically interleaved in one process
 *    (the second takeover runs between the first's staleness check and its create), and with eight real
 *    processes released at once, several rounds.
 */
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leafHash } from '@fleetgate/core/merkle/hash';
import { rootFromLeafHashes } from '@fleetgate/core/merkle/root';
import { formatCheckpoint } from '@fleetgate/core/note/checkpoint';
import { signNote } from '@fleetgate/core/note/signed-note';
import { encodeVerifierKey } from '@fleetgate/core/note/verifier-key';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatAddCheckpointBody } from '../../src/audit/witness/add-checkpoint-body.ts';
import { initWitness } from '../../src/audit/witness/identity.ts';
import { acquireProcessLock, WitnessStateStore } from '../../src/audit/witness/state.ts';
import { Witness, witnessedLogFromVkeys } from '../../src/audit/witness/witness.ts';

const ORIGIN = 'log.test/state';
const STATE_TS = join(import.meta.dirname, '..', '..', 'src', 'audit', 'witness', 'state.ts');

/** The pid of a process that has exited (so no process runs under it, barring reuse). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe('a witness that cosigned the empty tree', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fleetgate-witness-zero-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('treats the stored size 0 as first contact', async () => {
    const ed = generateKeyPairSync('ed25519');
    const ml = generateKeyPairSync('ml-dsa-65');
    const leaves = Array.from({ length: 9 }, (_, i) => leafHash(Buffer.from(`leaf-${i}`)));
    const note = (size: number) =>
      signNote(
        formatCheckpoint({ origin: ORIGIN, size, rootHash: rootFromLeafHashes(leaves.slice(0, size)) }),
        [ed.privateKey, ml.privateKey].map((privateKey) => ({ name: ORIGIN, privateKey })),
      );
    const state = join(dir, 'state');
    const witness = new Witness({
      identity: initWitness(state, 'witness.test/zero'),
      logs: [
        witnessedLogFromVkeys([
          encodeVerifierKey(ORIGIN, ed.publicKey),
          encodeVerifierKey(ORIGIN, ml.publicKey),
        ]),
      ],
      state: new WitnessStateStore(state),
    });
    const submit = (old: number, size: number) =>
      witness.addCheckpoint(new TextEncoder().encode(formatAddCheckpointBody(old, [], note(size))));

    expect(await submit(0, 0)).toMatchObject({ status: 200, code: 'OK' });
    expect(new WitnessStateStore(state).get(ORIGIN)?.size).toBe(0);
    expect(await submit(0, 0)).toMatchObject({ status: 200, code: 'OK' }); // the same empty tree again
    expect(await submit(0, 5)).toMatchObject({ status: 200, code: 'OK' }); // was 422 WITNESS_PROOF_INVALID
    expect(new WitnessStateStore(state).get(ORIGIN)?.size).toBe(5);
    // Size 5 is a real commitment: old 0 is now stale, as for any witness that cosigned something.
    expect(await submit(0, 9)).toMatchObject({ status: 409, code: 'WITNESS_OLD_SIZE_MISMATCH', body: '5\n' });
  });
});

describe('the witness process lock', () => {
  let root: string;
  let n = 0;
  const fresh = (): string => {
    const d = join(root, `s${n++}`);
    mkdirSync(d);
    return d;
  };
  const locks = (d: string) => readdirSync(d).filter((f) => f.startsWith('witness.lock'));

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'fleetgate-witness-lock-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('refuses a second holder while the first runs, and is free again after release', () => {
    const d = fresh();
    const release = acquireProcessLock(d);
    expect(() => acquireProcessLock(d)).toThrow(/another witness \(pid \d+\) holds/);
    release();
    expect(locks(d)).toEqual([]);
    acquireProcessLock(d)();
  });

  it("a live process's lock, in either layout, is honoured", async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      for (const name of ['witness.lock', 'witness.lock.4']) {
        const d = fresh();
        writeFileSync(join(d, name), `${child.pid}\n`);
        expect(() => acquireProcessLock(d)).toThrow(`another witness (pid ${child.pid}) holds`);
        expect(locks(d)).toEqual([name]);
      }
    } finally {
      child.kill();
    }
  });

  it('takes over a stale lock (a dead process, garbage, or our own pid from an earlier run)', () => {
    for (const [name, content] of [
      ['witness.lock', `${deadPid()}\n`],
      ['witness.lock.7', `${deadPid()}\n`],
      ['witness.lock.2', 'not a pid'],
      ['witness.lock.3', `${process.pid}\n`], // e.g. a container that is always pid 1
    ] as const) {
      const d = fresh();
      writeFileSync(join(d, name), content);
      const release = acquireProcessLock(d);
      const [held, ...rest] = locks(d);
      expect(rest).toEqual([]);
      expect(readFileSync(join(d, held as string), 'utf8')).toBe(`${process.pid}\n`);
      expect(held).not.toBe(name);
      release();
    }
  });

  it('two takeovers of one stale lock, the second between the first one’s check and create: one wins', () => {
    const d = fresh();
    writeFileSync(join(d, 'witness.lock.1'), `${deadPid()}\n`);
    let second: (() => void) | undefined;
    // The first has judged witness.lock.1 stale; before it creates, another takeover completes.
    expect(() =>
      acquireProcessLock(d, {
        beforeCreate: () => {
          second ??= acquireProcessLock(d);
        },
      }),
    ).toThrow(/another witness/);
    expect(second).toBeTypeOf('function');
    expect(locks(d)).toEqual(['witness.lock.2']);
    second?.();
  });

  it('eight processes taking over one stale lock at once: exactly one holds it, in every round', async () => {
    const script = `
      import { existsSync } from 'node:fs';
      import { acquireProcessLock } from ${JSON.stringify(STATE_TS)};
      const [dir, go] = process.argv.slice(1);
      const wait = new Int32Array(new SharedArrayBuffer(4));
      while (!existsSync(go)) Atomics.wait(wait, 0, 0, 1);
      try {
        const release = acquireProcessLock(dir);
        process.stdout.write('held');
        setTimeout(() => { release(); process.exit(0); }, 1500);
      } catch (error) {
        process.stdout.write(String(error.message).startsWith('another witness') ? 'refused' : 'error: ' + error.message);
      }`;
    for (let round = 0; round < 3; round++) {
      const d = fresh();
      const go = join(d, 'go');
      writeFileSync(join(d, 'witness.lock'), `${deadPid()}\n`);
      const children = Array.from({ length: 8 }, () => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script, d, go], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
        });
        child.stderr.on('data', (c: Buffer) => {
          out += c.toString();
        });
        return new Promise<string>((resolve) => child.on('close', () => resolve(out.trim())));
      });
      await new Promise((r) => setTimeout(r, 300)); // let every child reach the barrier
      writeFileSync(go, '');
      const results = await Promise.all(children);
      expect({ round, results: results.filter((r) => r !== 'held' && r !== 'refused') }).toEqual({
        round,
        results: [],
      });
      expect({ round, held: results.filter((r) => r === 'held').length }).toEqual({ round, held: 1 });
      expect(existsSync(join(d, 'witness.lock'))).toBe(false);
    }
  }, 30_000);
});
