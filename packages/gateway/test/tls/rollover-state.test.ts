/**
 * The files of a CA rollover (pki/rollover/): the overlap as `fleetgate init` sees it (both anchors in
 * ca.pem, old leaves kept with their own issuer, new leaves from the new intermediate, all passing the
 * real `openssl verify`), the refusals (a second rollover during an overlap, completing nothing), an
 * interrupted swap finished by the next run, loadIssuingCa waiting for a swap in progress, and
 * `ca status` through every phase.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultKeysConfig } from '../../src/config/config.ts';
import { bootstrapPki } from '../../src/pki/bootstrap.ts';
import { loadIssuingCa } from '../../src/pki/ca.ts';
import { PkiError } from '../../src/pki/errors.ts';
import { beginRollover } from '../../src/pki/rollover/begin.ts';
import { completeRollover } from '../../src/pki/rollover/complete.ts';
import { caStatus } from '../../src/pki/rollover/status.ts';
import { finishPendingSwap, writeSwapJournal } from '../../src/pki/rollover/swap.ts';
import { makeTempDir, openssl } from '../pki/helpers.ts';

const keys = defaultKeysConfig();
const cn = (path: string): string =>
  /CN=([^\n]*)/.exec(new X509Certificate(readFileSync(path)).subject)?.[1] ?? '';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof PkiError)) throw new Error(`expected a PkiError, got ${String(error)}`);
  return error.code;
}

describe('CA rollover on disk', () => {
  const tmp = makeTempDir();
  const pki = join(tmp.dir, 'pki');
  const verify = (chain: string): number => openssl(['verify', '-CAfile', join(pki, 'ca.pem'), chain]).status;

  beforeAll(async () => {
    await bootstrapPki(tmp.dir, { vehicles: ['OLD-1'], partners: ['acme'], env: {} });
  });
  afterAll(() => tmp.cleanup());

  it('status before: steady, one anchor, the intermediate issues, keys in encrypted files', async () => {
    const status = await caStatus(tmp.dir);
    expect(status.phase).toBe('steady');
    expect(status.anchors).toHaveLength(1);
    expect(status.anchors[0]?.key.custody).toBe('file');
    expect(status.intermediates.map((i) => [i.generation, i.issuing, i.key.custody])).toEqual([
      ['current', true, 'file'],
    ]);
    expect(status.leaves).toEqual({ current: 2, previous: 0, other: 0 });
    expect(status.server.generation).toBe('current');
  });

  it('begins: both anchors trusted, the new intermediate issues, init keeps old leaves and adds new ones', async () => {
    const result = await beginRollover(tmp.dir, { keys, env: {} });
    expect(result.generation).toBe(2);
    expect(existsSync(join(pki, 'rollover.json'))).toBe(false);
    expect(cn(join(pki, 'intermediate', 'cert.pem'))).toBe('fleetgate Intermediate CA G2');
    expect(cn(join(pki, 'previous', 'intermediate', 'cert.pem'))).toBe('fleetgate Intermediate CA');
    expect((readFileSync(join(pki, 'ca.pem'), 'utf8').match(/BEGIN CERTIFICATE/g) ?? []).length).toBe(4);

    expect(await codeOf(beginRollover(tmp.dir, { keys, env: {} }))).toBe('PKI_STATE_CONFLICT');

    // `fleetgate init` during the overlap: nothing rewritten, a new vehicle issued by the new intermediate.
    expect(
      (await bootstrapPki(tmp.dir, { vehicles: ['OLD-1'], partners: ['acme'], env: {} })).written,
    ).toEqual([]);
    const grown = await bootstrapPki(tmp.dir, { vehicles: ['OLD-1', 'NEW-1'], partners: ['acme'], env: {} });
    expect(grown.written).toHaveLength(3);
    expect(new X509Certificate(readFileSync(join(pki, 'devices', 'NEW-1', 'cert.pem'))).issuer).toContain(
      'G2',
    );
    for (const id of ['OLD-1', 'NEW-1'])
      expect([id, verify(join(pki, 'devices', id, 'chain.pem'))]).toEqual([id, 0]);
    expect(verify(join(pki, 'server', 'chain.pem'))).toBe(0);

    const status = await caStatus(tmp.dir);
    expect(status.phase).toBe('overlap');
    expect(status.anchors).toHaveLength(2);
    expect(status.intermediates.map((i) => [i.generation, i.issuing])).toEqual([
      ['current', true],
      ['previous', false],
    ]);
    expect(status.leaves).toEqual({ current: 1, previous: 2, other: 0 });
    expect(status.server.generation).toBe('previous');
  });

  it('finishes an interrupted swap on the next run; loadIssuingCa waits for a swap in progress', async () => {
    // Put the directory back into the middle of a swap: the root moved, the intermediate not yet.
    await writeSwapJournal(tmp.dir, { generation: '2' });
    mkdirSync(join(pki, 'rollover-staging'), { mode: 0o700 });
    renameSync(join(pki, 'intermediate'), join(pki, 'rollover-staging', 'intermediate'));
    renameSync(join(pki, 'previous', 'intermediate'), join(pki, 'intermediate'));
    // Mid-rename: no issuing intermediate at all for a moment.
    renameSync(join(pki, 'intermediate'), join(pki, 'previous', 'intermediate'));
    const waiting = loadIssuingCa(tmp.dir);
    const finished = new Promise<boolean>((resolve, reject) => {
      setTimeout(() => finishPendingSwap(tmp.dir).then(resolve, reject), 200);
    });
    expect((await waiting).certificate.subject).toContain('G2');
    expect(await finished).toBe(true);
    expect(existsSync(join(pki, 'rollover.json'))).toBe(false);
    expect(existsSync(join(pki, 'rollover-staging'))).toBe(false);
    expect(cn(join(pki, 'previous', 'intermediate', 'cert.pem'))).toBe('fleetgate Intermediate CA');
  });

  it('completes: refuses while old certificates remain, then re-issues the server and retires the old anchor', async () => {
    expect(await codeOf(completeRollover(tmp.dir))).toBe('PKI_STATE_CONFLICT');
    const result = await completeRollover(tmp.dir, { force: true });
    expect(result.remaining.map((p) => p.replace(`${pki}/`, ''))).toEqual([
      'partners/acme/cert.pem',
      'devices/OLD-1/cert.pem',
    ]);
    expect(result.serverReissued).toBe(true);
    expect(existsSync(join(pki, 'previous'))).toBe(false);
    expect(existsSync(join(result.retiredTo, 'intermediate', 'key.json'))).toBe(true); // kept, not deleted
    expect(verify(join(pki, 'server', 'chain.pem'))).toBe(0);
    expect(verify(join(pki, 'devices', 'NEW-1', 'chain.pem'))).toBe(0);
    expect(verify(join(pki, 'devices', 'OLD-1', 'chain.pem'))).not.toBe(0); // the old anchor is gone
    expect(await codeOf(completeRollover(tmp.dir))).toBe('PKI_STATE_CONFLICT'); // nothing left to complete

    const status = await caStatus(tmp.dir);
    expect(status.phase).toBe('steady');
    expect(status.anchors).toHaveLength(1);
    expect(status.server.generation).toBe('current');
    expect(status.leaves).toEqual({ current: 1, previous: 0, other: 2 });
  });

  it('a third generation follows (G3), and status of a directory without a CA is "uninitialised"', async () => {
    expect((await beginRollover(tmp.dir, { keys, env: {} })).generation).toBe(3);
    const empty = makeTempDir();
    try {
      expect((await caStatus(empty.dir)).phase).toBe('uninitialised');
      expect(await codeOf(beginRollover(empty.dir, { keys, env: {} }))).toBe('PKI_CA_UNAVAILABLE');
    } finally {
      empty.cleanup();
    }
  });
});
