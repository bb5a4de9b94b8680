/**
 * The watched drop directory (issue 6 §6) end to end, on every engine: a 204 put in
 * DROP/acme-tms/inbound/ becomes a tender and moves to processed/ with its result, and the 997 and 990
 * appear in DROP/acme-tms/outbound/; a broken file moves to rejected/ with a coded result and a 997 R; a
 * symbolic link is refused without being followed (and audited); a file whose ISA06 is another partner's is refused;
 * the same interchange dropped again (a crash before the move) is "already received" and moves to
 * processed/ without creating anything twice.
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
import { bodyOf, nextIcn, segment, startEdiApi, tender204 } from './support.ts';

const ship = () => `SH-${randomBytes(4).toString('hex').toUpperCase()}`;

for (const engine of engines()) {
  describe(`EDI drop directory on ${engine.name}`, () => {
    let api: TenderApi;
    let drop: string;
    const dir = (sub: string) => join(drop, 'acme-tms', sub);
    const put = (name: string, text: string) => {
      // Written beside the directory and renamed in, as batch partners are told to.
      const tmp = join(drop, 'acme-tms', `.${name}.part`);
      writeFileSync(tmp, text);
      renameSync(tmp, join(dir('inbound'), name));
    };
    const resultOf = (where: 'processed' | 'rejected', name: string) =>
      until(() => {
        const path = join(dir(where), `${name}.result.json`);
        return existsSync(path) && existsSync(join(dir(where), name))
          ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>)
          : undefined;
      }, `${where}/${name}`);

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

    it('processes a dropped 204: tender, processed/ with its result, 997 and 990 in outbound/', async () => {
      const shipmentId = ship();
      const icn = nextIcn();
      put('load-1.edi', tender204({ shipmentId, icn }));
      const result = await resultOf('processed', 'load-1.edi');
      expect(result).toMatchObject({ ok: true, interchangeControlNumber: icn });
      const sets = result.sets as { outcome: string; tenderId: string; decision: string }[];
      expect(sets[0]).toMatchObject({ outcome: 'created', decision: 'accepted' });
      expect(existsSync(join(dir('inbound'), 'load-1.edi'))).toBe(false);
      const view = await api.call('acme-tms', 'GET', `/v1/tenders/${sets[0]?.tenderId}`);
      expect(view.json()).toMatchObject({ reference: shipmentId, status: 'accepted' });

      const ackName = `${(result.acknowledgments as { controlNumber: string }[])[0]?.controlNumber}-997.edi`;
      const ack = await until(() => {
        const p = join(dir('outbound'), ackName);
        return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
      }, 'the 997 file');
      expect(segment(bodyOf(ack).segments, 'AK9')[0]).toBe('A');
      const response = await until(() => {
        for (const name of readdirSync(dir('outbound')).filter((n) => n.endsWith('-990.edi'))) {
          const text = readFileSync(join(dir('outbound'), name), 'utf8');
          if (segment(bodyOf(text).segments, 'B1')[1] === shipmentId) return text;
        }
        return undefined;
      }, 'the 990 file');
      expect(segment(bodyOf(response).segments, 'B1')[3]).toBe('A');
      expect(readdirSync(dir('outbound')).filter((n) => n.startsWith('.'))).toEqual([]);

      // Dropped again (as after a crash before the move): already received, processed, nothing twice.
      put('load-1-again.edi', tender204({ shipmentId, icn }));
      const again = await resultOf('processed', 'load-1-again.edi');
      expect(again).toMatchObject({ ok: false, code: 'EDI_INTERCHANGE_DUPLICATE' });
      const rows = await withOperator(api.t.gateway.store, (tx) =>
        tx.query('SELECT id FROM tenders WHERE reference = $1', [shipmentId]),
      );
      expect(rows).toHaveLength(1);
    });

    it('moves a broken file to rejected/ with a coded result and a 997 R', async () => {
      const broken = tender204({ shipmentId: ship(), icn: nextIcn() }).replace(/SE\*14\*0001/, 'SE*3*0001');
      put('broken.edi', broken);
      const result = await resultOf('rejected', 'broken.edi');
      expect(result).toMatchObject({
        ok: false,
        code: 'EDI_INTERCHANGE_INVALID',
        ediCode: 'EDI_CONTROL_COUNT_MISMATCH',
      });
      const ack = (result.acknowledgment as { x12: string }).x12;
      expect(segment(bodyOf(ack).segments, 'AK5')).toEqual(['R', '4']);
      put('garbage.edi', '\u0000\u0001 not x12 at all');
      expect(await resultOf('rejected', 'garbage.edi')).toMatchObject({ code: 'EDI_INTERCHANGE_INVALID' });
    });

    it('refuses a symbolic link without following it, and a file sent as another partner', async () => {
      const fromIndex = await api.t.auditSize();
      const outside = join(drop, 'outside.edi');
      const valid = tender204({ shipmentId: ship(), icn: nextIcn() });
      writeFileSync(outside, valid);
      symlinkSync(outside, join(dir('inbound'), 'link.edi'));
      expect(await resultOf('rejected', 'link.edi')).toMatchObject({
        ok: false,
        code: 'EDI_INTERCHANGE_INVALID',
      });
      expect(readFileSync(outside, 'utf8')).toBe(valid);
      const refusals = (await api.t.auditSince(fromIndex)).filter(
        (e) => e.class === 'edi.interchange.refused' && (e.details as { file?: string }).file === 'link.edi',
      );
      expect(refusals).toHaveLength(1);
      expect(refusals[0]?.reasons).toEqual(['EDI_INTERCHANGE_INVALID']);

      put('impostor.edi', tender204({ shipmentId: ship(), icn: nextIcn(), sender: 'GLOBEXTMS' }));
      expect(await resultOf('rejected', 'impostor.edi')).toMatchObject({
        ok: false,
        code: 'EDI_SENDER_MISMATCH',
      });
    });
  });
}
