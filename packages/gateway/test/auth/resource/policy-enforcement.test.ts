/**
 * Policies on the tender API against a real gateway on every engine: a partner restricted to DAL–HOU,
 * reefer, 22:00–06:00 America/Chicago (the example) is refused outside its lane, equipment or
 * window with 403 and its code, each refusal audited as `auth.policy.refused` and nothing stored; inside
 * them its tender is decided as usual. An unparseable stored policy refuses everything (fail closed).
 * A Keycloak-shaped external issuer (configured by RFC 8414 metadata) is accepted through the gateway
 * with the tenant and policy of the registered client.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultExternalIssuer } from '../../../src/config/config.ts';
import { engines } from '../../support/engines.ts';
import type { Credentials } from '../../support/harness.ts';
import { expectRefused, tenderBody } from './support/cases.ts';
import { type AuthTestGateway, send, startAuthGateway } from './support/gateway.ts';
import { type FakeKeycloak, keycloakClaims, startFakeKeycloak } from './support/keycloak.ts';
import { certThumbprint } from './support/mint.ts';

const POLICY = {
  lanes: ['DAL-HOU'],
  equipment: ['reefer'],
  timeWindows: [{ start: '22:00', end: '06:00', timeZone: 'America/Chicago' }],
};

/**
 * A pickup window starting at `hour`:00 Chicago time the day after tomorrow, lasting `hours`, and a
 * delivery deadline after it — found by asking Intl, so it is right on either side of a DST change.
 */
function chicagoPickup(hour: number, hours: number): Record<string, unknown> {
  const date = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
  for (const offset of [5, 6]) {
    const start = new Date(`${date}T00:00:00Z`);
    start.setUTCHours(hour + offset);
    const local = new Intl.DateTimeFormat('en-US', {
      timeZone: 'America/Chicago',
      hour: 'numeric',
      hourCycle: 'h23',
    })
      .formatToParts(start)
      .find((p) => p.type === 'hour')?.value;
    if (Number(local) === hour) {
      const end = new Date(start.getTime() + hours * 3_600_000);
      return {
        pickupWindow: { start: start.toISOString(), end: end.toISOString() },
        deliverBy: new Date(end.getTime() + 12 * 3_600_000).toISOString(),
      };
    }
  }
  throw new Error('no US Central offset fits');
}
const night = () => chicagoPickup(23, 3);
const noon = () => chicagoPickup(12, 2);

for (const engine of engines()) {
  describe(`policies on the tender API on ${engine.name}`, () => {
    let t: AuthTestGateway;
    let kc: FakeKeycloak;
    let acme: Credentials;
    let bearer: () => Promise<string>;

    beforeAll(async () => {
      kc = await startFakeKeycloak();
      t = await startAuthGateway(engine, (config) => {
        config.resourceServer.externalIssuers = [
          {
            ...defaultExternalIssuer({
              issuer: kc.issuer,
              metadataUrl: kc.metadataUrl,
              audience: 'urn:fleetgate:control-plane',
            }),
            tokenTypes: ['jwt'],
            caFile: kc.caFile,
          },
        ];
      });
      acme = t.partner('acme-tms');
      await t.gateway.store.query("UPDATE oauth_clients SET policy = $1 WHERE client_id = 'acme-tms'", [
        JSON.stringify(POLICY),
      ]);
      bearer = async () =>
        `Bearer ${(await t.token({ cnf: { 'x5t#S256': certThumbprint(acme.cert) } })).token}`;
    });
    afterAll(async () => {
      await t?.stop();
      await kc?.close();
    });

    const post = async (body: unknown, authorization?: string) =>
      send(`${t.url.control}/v1/tenders`, {
        creds: acme,
        headers: { authorization: authorization ?? (await bearer()) },
        body: JSON.stringify(body),
      });
    const tendersOf = async (reference: string) =>
      (await t.gateway.store.query('SELECT id FROM tenders WHERE reference = $1', [reference])).length;

    it('accepts a reefer on DAL–HOU picked up at night in Chicago', async () => {
      const reference = `NIGHT-${randomUUID()}`;
      const res = await post(tenderBody(reference, { equipment: 'reefer', ...night() }));
      expect(res.status, res.text).toBe(201);
      expect(res.json()).toMatchObject({ status: 'accepted', laneId: 'DAL-HOU' });
    });

    it('refuses another lane, other equipment and a daytime pickup, audited, nothing stored', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [
          { origin: 'Fort Worth, TX', destination: 'El Paso, TX', equipment: 'reefer', ...night() },
          'AUTH_POLICY_LANE',
        ],
        [{ destination: 'Chicago, IL', equipment: 'reefer', ...night() }, 'AUTH_POLICY_LANE'],
        [{ equipment: 'dry_van', ...night() }, 'AUTH_POLICY_EQUIPMENT'],
        [{ equipment: 'reefer', ...noon() }, 'AUTH_POLICY_TIME_WINDOW'],
      ];
      for (const [over, code] of cases) {
        const reference = `POL-${randomUUID()}`;
        const from = await t.auditSize();
        const res = await post(tenderBody(reference, over));
        await expectRefused(
          t,
          res,
          { status: 403, code, error: null, auditClass: 'auth.policy.refused' },
          from,
        );
        expect(await tendersOf(reference)).toBe(0);
      }
    });

    it('refuses everything when the stored policy cannot be parsed (fail closed)', async () => {
      await t.gateway.store.query("UPDATE oauth_clients SET policy = $1 WHERE client_id = 'acme-tms'", [
        '{"lanes":"DAL-HOU"}',
      ]);
      try {
        await new Promise((done) => setTimeout(done, 1_100));
        const from = await t.auditSize();
        const res = await post(tenderBody(`BAD-${randomUUID()}`, { equipment: 'reefer', ...night() }));
        await expectRefused(t, res, { status: 403, code: 'AUTH_POLICY_INVALID', error: null }, from);
      } finally {
        await t.gateway.store.query("UPDATE oauth_clients SET policy = $1 WHERE client_id = 'acme-tms'", [
          JSON.stringify(POLICY),
        ]);
        await new Promise((done) => setTimeout(done, 1_100));
      }
    });

    it('accepts a Keycloak token (external issuer by RFC 8414 metadata) with the client policy and tenant', async () => {
      const x5t = certThumbprint(acme.cert);
      const kcToken = await kc.sign(keycloakClaims(kc, 'acme-tms', { cnf: { 'x5t#S256': x5t } }));
      const ok = await post(
        tenderBody(`KC-${randomUUID()}`, { equipment: 'reefer', ...night() }),
        `Bearer ${kcToken}`,
      );
      expect(ok.status, ok.text).toBe(201);
      const [row] = await t.gateway.store.query<{ tenant_id: string }>(
        'SELECT tenant_id FROM tenders WHERE id = $1',
        [ok.json().id as string],
      );
      expect(row?.tenant_id).toBe('acme');
      const from = await t.auditSize();
      const lane = await post(
        tenderBody(`KC-${randomUUID()}`, { equipment: 'dry_van', ...night() }),
        `Bearer ${kcToken}`,
      );
      await expectRefused(
        t,
        lane,
        { status: 403, code: 'AUTH_POLICY_EQUIPMENT', error: null, auditClass: 'auth.policy.refused' },
        from,
      );
      // Issued by Keycloak to another client: refused on acme's connection.
      const globexToken = await kc.sign(keycloakClaims(kc, 'globex-tms', { cnf: { 'x5t#S256': x5t } }));
      const other = await post(tenderBody(`KC-${randomUUID()}`), `Bearer ${globexToken}`);
      expect(other.json().code).toBe('AUTH_TOKEN_CLIENT_MISMATCH');
      expect(kc.requests.metadata).toBeGreaterThanOrEqual(1);
    });
  });
}
