/**
 * SSRF at delivery time with `webhooks.allowPrivateAddresses` OFF (the default), against a real gateway
 * and a real HTTPS receiver on loopback: endpoints whose URLs are inside the partner's allow-list but
 * resolve to internal addresses (localhost, 127.0.0.1, [::1]) are never connected to — each attempt is
 * recorded as WEBHOOK_TARGET_INTERNAL, audited as webhook.target.refused, and the receiver sees nothing.
 * (target.test.ts covers 169.254.169.254 and IPv4-mapped addresses below the API.)
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/engines.ts';
import { startTenderApi, type TenderApi, tender } from '../tendering/support.ts';
import { type Receiver, startReceiver, until } from './support.ts';

for (const engine of engines()) {
  describe(`webhook SSRF rules on ${engine.name}`, () => {
    let receiver: Receiver;
    let api: TenderApi;
    let targets: string[];

    beforeAll(async () => {
      receiver = await startReceiver();
      targets = [
        `https://localhost:${receiver.port}/hooks`,
        `https://127.0.0.1:${receiver.port}/hooks`,
        `https://[::1]:${receiver.port}/hooks`,
      ];
      api = await startTenderApi(engine, (config) => {
        config.tenderEngine.fleetSize = 1000;
        config.webhooks = {
          ...config.webhooks,
          pollIntervalMs: 50,
          backoffBaseMs: 20,
          maxAttempts: 1,
          trustedCaFile: receiver.caPath,
        };
        const acme = config.partners.find((p) => p.id === 'acme-tms');
        if (acme !== undefined) acme.webhooks = { allowedUrls: targets };
      });
    }, 60_000);
    afterAll(async () => {
      await api?.stop();
      await receiver?.close();
    });

    it('refuses internal targets at delivery time and never connects', async () => {
      expect(api.t.gateway.config.webhooks.allowPrivateAddresses).toBe(false);
      const endpoints: string[] = [];
      for (const url of targets) {
        const answer = await api.call('acme-tms', 'POST', '/v1/webhooks/endpoints', { url });
        expect(answer.status, answer.text).toBe(201);
        endpoints.push((answer.json().endpoint as { id: string }).id);
      }
      const id = (
        await api.call('acme-tms', 'POST', '/v1/tenders', tender(`PO-${randomUUID().slice(0, 8)}`))
      ).json().id as string;
      const dead = await until(async () => {
        const items = (await api.call('acme-tms', 'GET', '/v1/webhooks/deliveries?status=dead')).json()
          .items as {
          endpointId: string;
          messageId: string;
          lastError: string;
          recentAttempts: { errorCode: string; statusCode: number | null }[];
        }[];
        const mine = items.filter((d) => d.messageId.startsWith(`${id}:`));
        return mine.length === endpoints.length ? mine : undefined;
      });
      expect(new Set(dead.map((d) => d.endpointId))).toEqual(new Set(endpoints));
      for (const d of dead) {
        expect(d.lastError).toBe('WEBHOOK_TARGET_INTERNAL');
        expect(d.recentAttempts[0]).toMatchObject({ errorCode: 'WEBHOOK_TARGET_INTERNAL', statusCode: null });
      }
      expect(receiver.received).toEqual([]);
      const rows = await api.t.gateway.store.query<{ entry: string }>('SELECT entry FROM audit_entries');
      const refused = rows
        .map(
          (r) =>
            JSON.parse(r.entry) as { class: string; reasons?: string[]; details?: { endpointId?: string } },
        )
        .filter(
          (e) => e.class === 'webhook.target.refused' && e.reasons?.includes('WEBHOOK_TARGET_INTERNAL'),
        );
      expect(new Set(refused.map((e) => e.details?.endpointId))).toEqual(new Set(endpoints));
    });
  });
}
