/**
 * The same interchange uploaded to two gateway nodes on one PostgreSQL store at the same moment
 * (PostgreSQL only: PGlite belongs to one process). The interchange key (tenant, ISA05/ISA06, ISA15,
 * ISA13) is unique in edi_interchanges and recorded in the transaction that creates the tenders, so
 * exactly one node accepts it and the other answers 409 EDI_INTERCHANGE_DUPLICATE; one tender, one
 * interchange row, one `edi.interchange.received` entry — whichever node wins each round.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withOperator, withTenant } from '../../src/tendering/tenant-scope.ts';
import { send } from '../auth/resource/support/gateway.ts';
import { type EngineCase, engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import type { TenderApi } from '../tendering/support.ts';
import { nextIcn, startEdiApi, tender204, tokenFor, upload, withEdiPartners } from './support.ts';

const postgres = engines().find((e) => e.name === 'postgres');
const ship = () => `SH-${randomBytes(4).toString('hex').toUpperCase()}`;

describe.skipIf(postgres === undefined)('EDI duplicate ISA13 on two nodes sharing PostgreSQL', () => {
  const engine = postgres as EngineCase;
  let api: TenderApi;
  let second: TestGateway;
  let token: string;

  beforeAll(async () => {
    api = await startEdiApi(engine);
    second = await startTestGateway(
      engine,
      (config) => {
        config.partners.push({ id: 'ops-console', tenant: 'fleet-ops' });
        withEdiPartners(config);
      },
      undefined,
      undefined,
      { nodeOf: api.t },
    );
    token = await tokenFor(api, 'acme-tms');
  }, 90_000);
  afterAll(async () => {
    await second?.stop();
    await api?.stop();
  });

  const uploadToSecond = (x12: string) =>
    send(`${second.url.control}/v1/edi/interchanges`, {
      method: 'POST',
      creds: api.t.partner('acme-tms'),
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/edi-x12' },
      body: x12,
    });

  it('accepts exactly one of two simultaneous uploads of one ISA13', async () => {
    for (let round = 0; round < 5; round += 1) {
      const icn = nextIcn();
      const shipmentId = ship();
      const x12 = tender204({ shipmentId, icn });
      const fromIndex = await api.t.auditSize();
      const answers = await Promise.all([upload(api, 'acme-tms', x12), uploadToSecond(x12)]);
      expect(answers.map((a) => a.status).sort(), answers.map((a) => a.text).join('\n')).toEqual([200, 409]);
      const refused = answers.find((a) => a.status === 409);
      expect(refused?.json()).toMatchObject({ code: 'EDI_INTERCHANGE_DUPLICATE' });
      const tenders = await withOperator(api.t.gateway.store, (tx) =>
        tx.query<{ partner_id: string }>('SELECT partner_id FROM tenders WHERE reference = $1', [shipmentId]),
      );
      expect(tenders).toEqual([{ partner_id: 'acme-tms' }]);
      const recorded = await withTenant(api.t.gateway.store, 'acme', (tx) =>
        tx.query('SELECT 1 FROM edi_interchanges WHERE partner_id = $1 AND control_number = $2', [
          'acme-tms',
          icn,
        ]),
      );
      expect(recorded).toHaveLength(1);
      const entries = await api.t.auditSince(fromIndex);
      expect(entries.filter((e) => e.class === 'edi.interchange.received')).toHaveLength(1);
      expect(
        entries.filter(
          (e) =>
            e.class === 'edi.interchange.refused' &&
            (e.reasons as string[]).includes('EDI_INTERCHANGE_DUPLICATE'),
        ),
      ).toHaveLength(1);
    }
  });
});
