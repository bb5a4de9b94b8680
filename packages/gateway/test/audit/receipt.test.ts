/**
 * A tender's receipt, exactly as docs/audit.md "Verifying a receipt offline" tells a partner to check it:
 * curl gets a token and tenders a load (real peer), curl fetches the receipt and the verifier keys from
 * the public listener, and verifyAuditReceipt checks it with nothing else — on every engine. Then each
 * way a receipt can be wrong: a signature stripped (either one), an altered signature, a truncated or
 * extended proof, an altered entry, a checkpoint for another size, keys of another log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReceiptJson, verifyAuditReceipt } from '../../src/audit/verify-receipt.ts';
import { curlAsPartner } from '../support/curl.ts';
import { engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { tenderBody } from '../support/tender-body.ts';

for (const engine of engines()) {
  describe(`audit receipts on ${engine.name}`, () => {
    let t: TestGateway;
    let receipt: ReceiptJson;
    let vkeys: string[];
    let tenderId: string;
    beforeAll(async () => {
      t = await startTestGateway(engine);
    });
    afterAll(async () => t?.stop());

    const curl = async (args: string[]) => {
      const { out } = await curlAsPartner(t, 'acme-tms', [
        '-w',
        '\n%{http_code} %header{retry-after}',
        ...args,
      ]);
      const at = out.lastIndexOf('\n');
      const [status, retryAfter] = out.slice(at + 1).split(' ');
      return { body: out.slice(0, at), status: Number(status), retryAfter };
    };

    it('a partner tenders with curl, fetches its receipt, and verifies it offline', async () => {
      const token = JSON.parse(
        (
          await curl([
            '-d',
            'grant_type=client_credentials',
            '-d',
            'client_id=acme-tms',
            '-d',
            'scope=tenders:write tenders:read',
            `${t.url.control}/oauth/token`,
          ])
        ).body,
      ) as { access_token: string };
      const created = await curl([
        '-H',
        'content-type: application/json',
        '-H',
        `authorization: Bearer ${token.access_token}`,
        '--data-binary',
        JSON.stringify(tenderBody('RCPT-1')),
        `${t.url.control}/v1/tenders`,
      ]);
      expect(created.status).toBe(201);
      const tender = JSON.parse(created.body) as {
        id: string;
        receipt: { auditIndex: number; logOrigin: string };
      };
      tenderId = tender.id;
      // The receipt exists once a checkpoint covers the entry (every 200 ms here); before that: 404 + Retry-After.
      let answer = await curl([`${t.url.public}/v1/audit/receipt/${tender.receipt.auditIndex}`]);
      for (let i = 0; answer.status !== 200 && i < 50; i++) {
        expect([answer.status, JSON.parse(answer.body).code, answer.retryAfter]).toEqual([
          404,
          'AUDIT_ENTRY_NOT_SEALED',
          '1',
        ]);
        await new Promise((r) => setTimeout(r, 100));
        answer = await curl([`${t.url.public}/v1/audit/receipt/${tender.receipt.auditIndex}`]);
      }
      expect(answer.status).toBe(200);
      receipt = JSON.parse(answer.body) as ReceiptJson;
      vkeys = (await curl([`${t.url.public}/v1/audit/vkey`])).body.trim().split('\n');
      expect(vkeys).toHaveLength(2);

      // Offline: the receipt and the two pinned keys, nothing else.
      const result = verifyAuditReceipt(receipt, vkeys);
      expect(result).toMatchObject({
        ok: true,
        origin: tender.receipt.logOrigin,
        index: tender.receipt.auditIndex,
      });
      expect(result.ok && result.entry).toMatchObject({
        class: 'tender.decided',
        subject: { kind: 'tender', id: tenderId },
        actor: { kind: 'partner', id: 'acme-tms' },
      });
    });

    it('refuses a receipt that was tampered with, with the precise code', () => {
      const lines = receipt.checkpoint.split('\n');
      const sigs = lines.filter((l) => l.startsWith('\u2014 '));
      expect(sigs).toHaveLength(2);
      const body = receipt.checkpoint.slice(0, receipt.checkpoint.lastIndexOf('\n\n') + 2);
      const [ed, ml] = sigs as [string, string];
      const flip = (line: string) =>
        `${line.slice(0, -6)}${line.at(-6) === 'A' ? 'B' : 'A'}${line.slice(-5)}`;
      const cases: [string, unknown, string][] = [
        ['ML-DSA-65 stripped', { ...receipt, checkpoint: `${body}${ed}\n` }, 'RECEIPT_SIGNATURE_MISSING'],
        ['Ed25519 stripped', { ...receipt, checkpoint: `${body}${ml}\n` }, 'RECEIPT_SIGNATURE_MISSING'],
        [
          'ML-DSA-65 altered',
          { ...receipt, checkpoint: `${body}${ed}\n${flip(ml)}\n` },
          'RECEIPT_SIGNATURE_INVALID',
        ],
        [
          'entry altered',
          { ...receipt, entry: receipt.entry.replace('acme-tms', 'acme-tmz') },
          'RECEIPT_LEAF_MISMATCH',
        ],
        ['another size', { ...receipt, treeSize: receipt.treeSize + 1 }, 'RECEIPT_CHECKPOINT_MISMATCH'],
        ['no fields', { index: 1 }, 'RECEIPT_MALFORMED'],
      ];
      if (receipt.proof.length > 0) {
        cases.push([
          'proof truncated',
          { ...receipt, proof: receipt.proof.slice(0, -1) },
          'RECEIPT_PROOF_INVALID',
        ]);
        cases.push([
          'proof extended',
          { ...receipt, proof: [...receipt.proof, receipt.leafHash] },
          'RECEIPT_PROOF_INVALID',
        ]);
        cases.push([
          'proof reordered',
          { ...receipt, proof: [...receipt.proof].reverse() },
          'RECEIPT_PROOF_INVALID',
        ]);
      }
      for (const [name, bad, code] of cases) {
        const result = verifyAuditReceipt(bad, vkeys);
        expect({ name, code: result.ok ? 'OK' : result.code }).toEqual({ name, code });
      }
      expect(verifyAuditReceipt(receipt, [vkeys[0] as string])).toMatchObject({
        ok: false,
        code: 'RECEIPT_KEYS_INVALID',
      });
    });
  });
}
