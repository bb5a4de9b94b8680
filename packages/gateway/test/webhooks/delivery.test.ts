/**
 * Webhooks end to end against a real gateway (every engine) and a real local HTTPS receiver whose
 * certificate is issued at test time (support.ts). `webhooks.allowPrivateAddresses` is on here (the
 * receiver is on loopback) and the receiver's CA is `webhooks.trustedCaFile`; ssrf.test.ts covers the
 * switch off. Backoff base 20 ms and 3 attempts keep retries short.
 *  - A partner registers an endpoint and gets signed Standard Webhooks deliveries for its tender through
 *    accept → dispatched → … → delivered; the first answer is 500, the retry delivers; every request
 *    verifies with the endpoint secret, carries the change id as webhook-id, and retries resend the same
 *    bytes under the same id.
 *  - Always 500 → dead after 3 attempts (audited) → in the dead-letter list → redeliver → delivered.
 *  - A 3xx is a refused attempt (never followed, audited); eventTypes filters what an endpoint gets.
 *  - Allow-list and URL rules refuse with coded errors (the allow-list refusal audited).
 *  - BOLA: another partner's endpoint or delivery is answered exactly like a missing one, and RLS holds.
 *  - Secret rotation: new secret once, both signatures during the overlap; no secret in any audit entry.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withoutScope, withTenant } from '../../src/tendering/tenant-scope.ts';
import { verifyWebhook } from '../../src/webhooks/verify.ts';
import { engines } from '../support/engines.ts';
import { startTenderApi, type TenderApi, tender, type Who } from '../tendering/support.ts';
import { type Receiver, startReceiver, until } from './support.ts';

const ref = () => `PO-${randomUUID().slice(0, 8)}`;

interface Delivery {
  id: string;
  endpointId: string;
  messageId: string;
  eventType: string;
  status: string;
  attempts: number;
  totalAttempts: number;
  lastError: string | null;
  recentAttempts: { statusCode: number | null; errorCode: string | null }[];
}

for (const engine of engines()) {
  describe(`webhooks on ${engine.name}`, () => {
    let receiver: Receiver;
    let api: TenderApi;
    let base: string;
    const secrets = new Map<string, string>(); // endpoint id → current secret

    beforeAll(async () => {
      receiver = await startReceiver();
      base = `https://localhost:${receiver.port}`;
      api = await startTenderApi(engine, (config) => {
        config.tenderEngine.fleetSize = 1000;
        config.webhooks = {
          ...config.webhooks,
          pollIntervalMs: 50,
          backoffBaseMs: 20,
          maxAttempts: 3,
          allowPrivateAddresses: true,
          trustedCaFile: receiver.caPath,
        };
        for (const p of config.partners) {
          if (p.id === 'acme-tms') p.webhooks = { allowedUrls: [`${base}/acme`] };
          if (p.id === 'globex-tms') p.webhooks = { allowedUrls: [`${base}/globex/`] };
        }
      });
    }, 60_000);
    afterAll(async () => {
      await api?.stop();
      await receiver?.close();
    });

    const createEndpoint = async (who: Who, url: string, eventTypes?: string[]) => {
      const answer = await api.call(who, 'POST', '/v1/webhooks/endpoints', {
        url,
        ...(eventTypes === undefined ? {} : { eventTypes }),
      });
      expect(answer.status, answer.text).toBe(201);
      const body = answer.json() as { endpoint: { id: string }; secret: string };
      secrets.set(body.endpoint.id, body.secret);
      return body;
    };
    const deliveries = async (who: Who, query = '') => {
      const answer = await api.call(who, 'GET', `/v1/webhooks/deliveries?limit=100${query}`);
      expect(answer.status, answer.text).toBe(200);
      return answer.json().items as Delivery[];
    };
    const del = (who: Who, path: string) => api.call(who, 'DELETE' as 'POST', path);
    const auditOf = async (cls: string) => {
      const rows = await api.t.gateway.store.query<{ entry: string }>(
        'SELECT entry FROM audit_entries ORDER BY idx',
      );
      return rows.map((r) => JSON.parse(r.entry) as Record<string, unknown>).filter((e) => e.class === cls);
    };
    const fleet = async (id: string, events: string[]) => {
      for (const event of events) {
        const answer = await api.call('ops-console', 'POST', `/v1/tenders/${id}/events`, {
          event,
          ...(event === 'dispatched' ? { vehicleId: 'TRK-001' } : {}),
        });
        expect(answer.status, answer.text).toBe(200);
      }
    };

    it('delivers signed events through the lifecycle, retrying after a 500', async () => {
      receiver.script('/acme/main', [500, 200]);
      const { endpoint, secret } = await createEndpoint('acme-tms', `${base}/acme/main`);
      expect(secret).toMatch(/^whsec_/);
      const listed = await api.call('acme-tms', 'GET', '/v1/webhooks/endpoints');
      expect(listed.text).not.toContain(secret);
      expect((listed.json().items as { id: string }[]).map((e) => e.id)).toContain(endpoint.id);

      const created = await api.call('acme-tms', 'POST', '/v1/tenders', tender(ref()));
      expect(created.json().status).toBe('accepted');
      const id = created.json().id as string;
      const lifecycle = ['dispatched', 'at_pickup', 'loaded', 'in_transit', 'at_delivery', 'delivered'];
      await fleet(id, lifecycle);

      const done = await until(async () => {
        const mine = (await deliveries('acme-tms', `&endpointId=${endpoint.id}`)).filter((d) =>
          d.messageId.startsWith(`${id}:`),
        );
        return mine.length === 7 && mine.every((d) => d.status === 'delivered') ? mine : undefined;
      });
      const retried = done.filter((d) => d.totalAttempts === 2);
      expect(retried).toHaveLength(1);
      expect(retried[0]?.recentAttempts.map((a) => a.statusCode)).toEqual([200, 500]);
      expect(retried[0]?.recentAttempts[1]?.errorCode).toBe('WEBHOOK_TARGET_STATUS');

      const requests = receiver.received.filter((r) => r.path === '/acme/main');
      expect(requests).toHaveLength(8);
      const payloads = requests.map((r) => {
        verifyWebhook(secret, r.headers, r.body, new Date(), 300); // throws unless authentic and fresh
        const payload = JSON.parse(r.body) as {
          id: string;
          type: string;
          data: { tenderId: string; to: string; auditIndex: number; vehicleId: string | null };
        };
        expect(payload.id).toBe(r.headers['webhook-id']);
        expect(r.headers['content-type']).toBe('application/json');
        return payload;
      });
      // The retry resent the same bytes under the same webhook-id.
      const byId = new Map<string, string[]>();
      for (const r of requests)
        byId.set(String(r.headers['webhook-id']), [
          ...(byId.get(String(r.headers['webhook-id'])) ?? []),
          r.body,
        ]);
      expect(byId.size).toBe(7);
      const twice = [...byId.values()].filter((bodies) => bodies.length === 2);
      expect(twice).toHaveLength(1);
      expect(twice[0]?.[0]).toBe(twice[0]?.[1]);

      const types = new Map(payloads.map((p) => [p.data.to, p.type]));
      expect(types.get('accepted')).toBe('tender.accepted');
      for (const to of lifecycle) expect(types.get(to)).toBe('tender.status_changed');
      expect(payloads.every((p) => p.data.tenderId === id && Number.isInteger(p.data.auditIndex))).toBe(true);
      expect(payloads.find((p) => p.data.to === 'delivered')?.data.vehicleId).toBe('TRK-001');
    });

    it('dead-letters a delivery after the last attempt, then redelivers it', async () => {
      receiver.script('/globex/dead', [500]);
      const { endpoint } = await createEndpoint('globex-tms', `${base}/globex/dead`);
      const id = (await api.call('globex-tms', 'POST', '/v1/tenders', tender(ref()))).json().id as string;
      const dead = await until(async () => {
        const list = await deliveries('globex-tms', '&status=dead');
        return list.find((d) => d.messageId.startsWith(`${id}:`));
      });
      expect(dead).toMatchObject({
        endpointId: endpoint.id,
        attempts: 3,
        status: 'dead',
        lastError: 'WEBHOOK_TARGET_STATUS',
      });
      expect(receiver.received.filter((r) => r.path === '/globex/dead')).toHaveLength(3);
      expect((await auditOf('webhook.delivery.dead')).map((e) => (e.subject as { id: string }).id)).toContain(
        dead.id,
      );

      receiver.script('/globex/dead', [200]);
      const again = await api.call('globex-tms', 'POST', `/v1/webhooks/deliveries/${dead.id}/redeliver`, {});
      expect(again.status, again.text).toBe(202);
      expect(again.json()).toMatchObject({ id: dead.id, status: 'pending', attempts: 0 });
      const delivered = await until(async () => {
        const d = (await deliveries('globex-tms')).find((x) => x.id === dead.id);
        return d?.status === 'delivered' ? d : undefined;
      });
      expect(delivered).toMatchObject({ attempts: 1, totalAttempts: 4 });
      const sent = receiver.received.filter((r) => r.path === '/globex/dead');
      expect(new Set(sent.map((r) => r.headers['webhook-id']))).toEqual(new Set([dead.messageId]));
      expect(
        (await auditOf('webhook.delivery.redelivered')).map((e) => (e.subject as { id: string }).id),
      ).toContain(dead.id);
    });

    it('never follows a redirect, and filters by event type', async () => {
      receiver.script('/acme/redirect', [302]);
      const { endpoint } = await createEndpoint('acme-tms', `${base}/acme/redirect`, ['tender.cancelled']);
      const id = (await api.call('acme-tms', 'POST', '/v1/tenders', tender(ref()))).json().id as string;
      expect((await api.call('acme-tms', 'POST', `/v1/tenders/${id}/cancel`, {})).status).toBe(200);
      const refused = await until(async () => {
        const list = await deliveries('acme-tms', `&endpointId=${endpoint.id}`);
        const d = list.find((x) => x.messageId.startsWith(`${id}:`));
        return d !== undefined && d.totalAttempts >= 1 ? { d, list } : undefined;
      });
      expect(refused.list.every((d) => d.eventType === 'tender.cancelled')).toBe(true);
      expect(refused.d.recentAttempts.at(-1)).toMatchObject({
        statusCode: 302,
        errorCode: 'WEBHOOK_TARGET_REDIRECT',
      });
      expect(receiver.received.some((r) => r.path === '/redirected')).toBe(false);
      const audited = await auditOf('webhook.target.refused');
      expect(audited.some((e) => (e.reasons as string[]).includes('WEBHOOK_TARGET_REDIRECT'))).toBe(true);

      // Deleting the endpoint cancels what is pending; it is gone from the list; a second delete is 404.
      expect((await del('acme-tms', `/v1/webhooks/endpoints/${endpoint.id}`)).status).toBe(200);
      const after = await deliveries('acme-tms', `&endpointId=${endpoint.id}`);
      expect(after.every((d) => d.status !== 'pending')).toBe(true);
      expect((await del('acme-tms', `/v1/webhooks/endpoints/${endpoint.id}`)).json().code).toBe(
        'WEBHOOK_ENDPOINT_NOT_FOUND',
      );
    });

    it('refuses URLs outside the allow-list or the URL rules, with coded errors', async () => {
      const cases: [string, number, string][] = [
        ['https://evil.example/acme', 403, 'WEBHOOK_URL_NOT_ALLOWED'],
        [`${base}/acmeevil`, 403, 'WEBHOOK_URL_NOT_ALLOWED'],
        [`${base}/globex/x`, 403, 'WEBHOOK_URL_NOT_ALLOWED'],
        [`https://127.0.0.1:${receiver.port}/acme`, 403, 'WEBHOOK_URL_NOT_ALLOWED'],
        [`http://localhost:${receiver.port}/acme`, 400, 'WEBHOOK_URL_INVALID'],
        [`https://u:p@localhost:${receiver.port}/acme`, 400, 'WEBHOOK_URL_INVALID'],
        [`${base}/acme#frag`, 400, 'WEBHOOK_URL_INVALID'],
      ];
      for (const [url, status, code] of cases) {
        const answer = await api.call('acme-tms', 'POST', '/v1/webhooks/endpoints', { url });
        expect({ url, status: answer.status, code: answer.json().code }).toEqual({ url, status, code });
      }
      const massAssign = await api.call('acme-tms', 'POST', '/v1/webhooks/endpoints', {
        url: `${base}/acme/x`,
        secret: 'whsec_chosen-by-the-caller',
      });
      expect(massAssign.json().code).toBe('REQUEST_INVALID');
      const audited = await auditOf('webhook.target.refused');
      expect(audited.some((e) => (e.reasons as string[]).includes('WEBHOOK_URL_NOT_ALLOWED'))).toBe(true);
      expect(JSON.stringify(audited)).not.toContain('u:p@');
    });

    it("answers another partner's endpoint or delivery exactly like a missing one", async () => {
      const acmeEndpoint = (
        (await api.call('acme-tms', 'GET', '/v1/webhooks/endpoints')).json().items as { id: string }[]
      )[0]?.id as string;
      const acmeDelivery = (await deliveries('acme-tms'))[0]?.id as string;
      expect(acmeEndpoint).toBeDefined();
      expect(acmeDelivery).toBeDefined();
      const strip = (text: string) => {
        const { instance: _i, ...rest } = JSON.parse(text) as Record<string, unknown>;
        return rest;
      };
      const missingEndpoint = `whe_${randomUUID()}`;
      const missingDelivery = `whd_${randomUUID()}`;
      for (const [method, theirs, none] of [
        ['DELETE', `/v1/webhooks/endpoints/${acmeEndpoint}`, `/v1/webhooks/endpoints/${missingEndpoint}`],
        [
          'POST',
          `/v1/webhooks/endpoints/${acmeEndpoint}/rotate-secret`,
          `/v1/webhooks/endpoints/${missingEndpoint}/rotate-secret`,
        ],
        [
          'POST',
          `/v1/webhooks/deliveries/${acmeDelivery}/redeliver`,
          `/v1/webhooks/deliveries/${missingDelivery}/redeliver`,
        ],
      ] as const) {
        const call = (path: string) =>
          method === 'DELETE' ? del('globex-tms', path) : api.call('globex-tms', 'POST', path, {});
        const a = await call(theirs);
        const b = await call(none);
        expect(a.status).toBe(404);
        expect(strip(a.text)).toEqual(strip(b.text));
      }
      const globexEndpoints = (await api.call('globex-tms', 'GET', '/v1/webhooks/endpoints')).json()
        .items as { id: string }[];
      expect(globexEndpoints.map((e) => e.id)).not.toContain(acmeEndpoint);
      expect((await deliveries('globex-tms')).map((d) => d.id)).not.toContain(acmeDelivery);
      // acme's endpoint is untouched.
      const still = (await api.call('acme-tms', 'GET', '/v1/webhooks/endpoints')).json().items as {
        id: string;
      }[];
      expect(still.map((e) => e.id)).toContain(acmeEndpoint);
      // Row-level security below the API.
      const { store } = api.t.gateway;
      for (const table of ['webhook_endpoints', 'webhook_deliveries', 'webhook_attempts']) {
        const [row] = await withoutScope(store, (tx) =>
          tx.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`),
        );
        expect({ table, n: Number(row?.n) }).toEqual({ table, n: 0 });
      }
      const seen = await withTenant(store, 'globex', (tx) =>
        tx.query('SELECT id FROM webhook_endpoints WHERE id = $1', [acmeEndpoint]),
      );
      expect(seen).toEqual([]);
    });

    it('rotates a secret: both signatures during the overlap, no secret in the audit log', async () => {
      const main = (
        (await api.call('acme-tms', 'GET', '/v1/webhooks/endpoints')).json().items as {
          id: string;
          url: string;
        }[]
      ).find((e) => e.url.endsWith('/acme/main'));
      expect(main).toBeDefined();
      const oldSecret = secrets.get(main?.id ?? '') as string;
      expect(oldSecret).toMatch(/^whsec_/);
      const rotated = await api.call(
        'acme-tms',
        'POST',
        `/v1/webhooks/endpoints/${main?.id}/rotate-secret`,
        {},
      );
      expect(rotated.status, rotated.text).toBe(200);
      const { secret: newSecret, endpoint } = rotated.json() as {
        secret: string;
        endpoint: { previousSecretExpiresAt: string };
      };
      expect(newSecret).not.toBe(oldSecret);
      expect(Date.parse(endpoint.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(23 * 3600 * 1000);
      receiver.script('/acme/main', [200]);
      const id = (await api.call('acme-tms', 'POST', '/v1/tenders', tender(ref()))).json().id as string;
      const request = await until(() =>
        receiver.received.find(
          (r) => r.path === '/acme/main' && String(r.headers['webhook-id']).startsWith(`${id}:`),
        ),
      );
      expect(String(request.headers['webhook-signature']).split(' ')).toHaveLength(2);
      verifyWebhook(newSecret, request.headers, request.body, new Date());
      verifyWebhook(oldSecret, request.headers, request.body, new Date());
      const rows = await api.t.gateway.store.query<{ entry: string }>('SELECT entry FROM audit_entries');
      const everything = rows.map((r) => r.entry).join('\n');
      for (const secret of [...secrets.values(), newSecret]) {
        expect(everything).not.toContain(secret.slice(6));
      }
      expect((await auditOf('webhook.endpoint.secret-rotated')).length).toBeGreaterThan(0);
      // Stored sealed: the secret's base64 is nowhere in the endpoint row.
      const [row] = await api.t.gateway.store.query<Record<string, unknown>>(
        'SELECT * FROM webhook_endpoints WHERE id = $1',
        [main?.id ?? ''],
      );
      expect(JSON.stringify(row)).not.toContain(newSecret.slice(6));
    });
  });
}
