/**
 * A partner that can write in its own drop tree turns it against the gateway (security review H9-1): its
 * rejected/, processed/, inbound/, outbound/ or DROP/<partner> itself replaced by a symbolic link into
 * another partner's tree. None of these may create a tender for another partner, write or move a file
 * outside the partner's tree, or pull another partner's files in: each is refused with
 * `EDI_DROP_DIRECTORY_UNSAFE`, audited once, and the partner's files stay where they are until the tree is
 * repaired. Real gateway, real store, on every engine.
 */
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withOperator } from '../../src/tendering/tenant-scope.ts';
import { engines } from '../support/engines.ts';
import { waitFor as until } from '../support/wait.ts';
import type { TenderApi } from '../tendering/support.ts';
import { nextIcn, startEdiApi, tender204, upload } from './support.ts';

const ship = () => `SH-${randomBytes(4).toString('hex').toUpperCase()}`;

type Partner = 'acme-tms' | 'globex-tms';

for (const engine of engines()) {
  describe(`EDI drop directory with a hostile tree on ${engine.name}`, () => {
    let api: TenderApi;
    let drop: string;
    const dir = (partner: Partner, sub: string) => join(drop, partner, sub);
    const put = (partner: Partner, name: string, text: string) => {
      const tmp = join(drop, partner, `.${name}.part`);
      writeFileSync(tmp, text);
      renameSync(tmp, join(dir(partner, 'inbound'), name));
    };
    /** Replaces DROP/acme-tms/<sub> by a symbolic link to `target`; returns the repair. */
    const hijack = (sub: string, target: string) => {
      const real = dir('acme-tms', sub);
      const aside = `${real}.real`;
      renameSync(real, aside);
      symlinkSync(target, real);
      return () => {
        rmSync(real);
        renameSync(aside, real);
      };
    };
    const unsafeEntries = async (fromIndex: number, directory: string) =>
      (await api.t.auditSince(fromIndex)).filter(
        (e) =>
          e.class === 'edi.interchange.refused' &&
          (e.reasons as string[]).includes('EDI_DROP_DIRECTORY_UNSAFE') &&
          (e.details as { directory: string }).directory === directory,
      );
    const refusedOnce = async (fromIndex: number, directory: string) => {
      const [entry] = await until(async () => {
        const found = await unsafeEntries(fromIndex, directory);
        return found.length > 0 ? found : undefined;
      }, `the refusal of ${directory}`);
      // More scans of the same unsafe tree add no entry.
      await api.t.gateway.edi.runOnce();
      await api.t.gateway.edi.runOnce();
      expect(await unsafeEntries(fromIndex, directory)).toHaveLength(1);
      expect(entry).toMatchObject({
        outcome: 'rejected',
        actor: { kind: 'partner', id: 'acme-tms' },
        details: { source: 'drop', problem: 'symlink' },
      });
    };
    const tendersFor = (shipmentId: string) =>
      withOperator(api.t.gateway.store, (tx) =>
        tx.query<{ partner_id: string }>('SELECT partner_id FROM tenders WHERE reference = $1', [shipmentId]),
      );
    const edi = (names: string[]) => names.filter((n) => n.endsWith('.edi'));

    beforeAll(async () => {
      drop = mkdtempSync(join(tmpdir(), 'fleetgate-drop-'));
      api = await startEdiApi(engine, (config) => {
        config.edi.dropDirectory = drop;
        config.edi.pollIntervalMs = 50;
      });
    });
    afterAll(async () => {
      await api?.stop();
      rmSync(drop, { recursive: true, force: true });
    });

    it('rejected/ → globex inbound: a file refused as acme never becomes a globex tender', async () => {
      const fromIndex = await api.t.auditSize();
      const repair = hijack('rejected', '../globex-tms/inbound');
      const shipmentId = ship();
      put('acme-tms', 'impostor.edi', tender204({ shipmentId, icn: nextIcn(), sender: 'GLOBEXTMS' }));
      await refusedOnce(fromIndex, 'acme-tms/rejected');
      expect(await tendersFor(shipmentId)).toEqual([]);
      expect(edi(readdirSync(dir('globex-tms', 'inbound')))).toEqual([]);
      expect(readdirSync(dir('globex-tms', 'processed')).some((n) => n.includes('impostor'))).toBe(false);
      expect(readdirSync(dir('acme-tms', 'inbound'))).toContain('impostor.edi');

      // Repaired: the file is refused as what it is, in acme's own rejected/.
      repair();
      const result = await until(() => {
        const p = join(dir('acme-tms', 'rejected'), 'impostor.edi.result.json');
        return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>) : undefined;
      }, 'the impostor in rejected/');
      expect(result).toMatchObject({ ok: false, code: 'EDI_SENDER_MISMATCH' });
      expect(await tendersFor(shipmentId)).toEqual([]);
    });

    it('processed/ → globex inbound: nothing is received, nothing written there', async () => {
      const fromIndex = await api.t.auditSize();
      const repair = hijack('processed', '../globex-tms/inbound');
      const shipmentId = ship();
      put('acme-tms', 'load.edi', tender204({ shipmentId, icn: nextIcn() }));
      await refusedOnce(fromIndex, 'acme-tms/processed');
      expect(await tendersFor(shipmentId)).toEqual([]);
      expect(edi(readdirSync(dir('globex-tms', 'inbound')))).toEqual([]);
      repair();
      // Repaired: the acme tender, for acme, and the file in acme's processed/.
      await until(
        () => (existsSync(join(dir('acme-tms', 'processed'), 'load.edi')) ? true : undefined),
        'load',
      );
      expect(await tendersFor(shipmentId)).toEqual([{ partner_id: 'acme-tms' }]);
    });

    it("inbound/ → globex inbound: globex's files are not pulled into acme's tree", async () => {
      const fromIndex = await api.t.auditSize();
      const repair = hijack('inbound', '../globex-tms/inbound');
      const shipmentId = ship();
      put('globex-tms', 'globex-load.edi', tender204({ shipmentId, icn: nextIcn(), sender: 'GLOBEXTMS' }));
      await refusedOnce(fromIndex, 'acme-tms/inbound');
      // Globex's own scan takes its file: a globex tender, in globex's processed/, nothing in acme's tree.
      await until(
        () => (existsSync(join(dir('globex-tms', 'processed'), 'globex-load.edi')) ? true : undefined),
        "globex's file",
      );
      expect(await tendersFor(shipmentId)).toEqual([{ partner_id: 'globex-tms' }]);
      expect(readdirSync(dir('acme-tms', 'rejected')).some((n) => n.includes('globex-load'))).toBe(false);
      expect(readdirSync(dir('acme-tms', 'processed')).some((n) => n.includes('globex-load'))).toBe(false);
      repair();
    });

    it('outbound/ → globex inbound: no 997 is written there, the message stays unexported', async () => {
      const fromIndex = await api.t.auditSize();
      const repair = hijack('outbound', '../globex-tms/inbound');
      const answer = await upload(api, 'acme-tms', tender204({ shipmentId: ship(), icn: nextIcn() }));
      expect(answer.status, answer.text).toBe(200);
      const ackId = (answer.json().acknowledgments as { id: string }[])[0]?.id as string;
      await refusedOnce(fromIndex, 'acme-tms/outbound');
      expect(edi(readdirSync(dir('globex-tms', 'inbound')))).toEqual([]);
      const [row] = await withOperator(api.t.gateway.store, (tx) =>
        tx.query<{ exported_at: Date | null }>('SELECT exported_at FROM edi_outbound WHERE id = $1', [ackId]),
      );
      expect(row?.exported_at).toBeNull();
      repair();
      await until(
        () => (edi(readdirSync(dir('acme-tms', 'outbound'))).length > 0 ? true : undefined),
        'the export after the repair',
      );
    });

    it('DROP/acme-tms → DROP/globex-tms: acme reads nothing of globex, globex refuses the acme file', async () => {
      const fromIndex = await api.t.auditSize();
      const real = join(drop, 'acme-tms');
      renameSync(real, `${real}.real`);
      symlinkSync('globex-tms', real);
      // Put through the link: physically in globex's inbound, claiming to be acme's.
      const shipmentId = ship();
      put('acme-tms', 'through-link.edi', tender204({ shipmentId, icn: nextIcn() }));
      await refusedOnce(fromIndex, 'acme-tms');
      const result = await until(() => {
        const p = join(dir('globex-tms', 'rejected'), 'through-link.edi.result.json');
        return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>) : undefined;
      }, 'the file refused by globex');
      expect(result).toMatchObject({ ok: false, code: 'EDI_SENDER_MISMATCH' });
      expect(await tendersFor(shipmentId)).toEqual([]);
      rmSync(real);
      renameSync(`${real}.real`, real);
    });

    it('never creates a missing directory through a symbolic link', async () => {
      const fromIndex = await api.t.auditSize();
      const outside = mkdtempSync(join(tmpdir(), 'fleetgate-outside-'));
      try {
        const real = dir('acme-tms', 'rejected');
        renameSync(real, `${real}.real`);
        // A dangling link: a recursive mkdir would create the target.
        symlinkSync(join(outside, 'made-by-gateway'), real);
        await refusedOnce(fromIndex, 'acme-tms/rejected');
        expect(readdirSync(outside)).toEqual([]);
        rmSync(real);
        renameSync(`${real}.real`, real);
      } finally {
        rmSync(outside, { recursive: true, force: true });
      }
    });
  });
}
