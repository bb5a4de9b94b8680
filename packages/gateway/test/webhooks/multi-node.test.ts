/**
 * Two gateway nodes on one PostgreSQL store (PostgreSQL only: PGlite belongs to one process), both running
 * a webhook dispatcher: the lifecycle feed is fanned out once (the cursor row is locked per batch, and
 * deliveries are UNIQUE per endpoint and change), and deliveries are claimed with FOR UPDATE SKIP LOCKED
 * and a lease — so in normal operation every change reaches the receiver exactly once, and every delivery
 * ends delivered.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../../src/config/config.ts';
import { type EngineCase, engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { startTenderApi, type TenderApi, tender } from '../tendering/support.ts';
import { type Receiver, startReceiver, until } from './support.ts';

const postgres = engines().find((e) => e.name === 'postgres');

describe.skipIf(postgres === undefined)('webhooks on two nodes sharing PostgreSQL', () => {
  {
    const engine = postgres as EngineCase;
    let receiver: Receiver;
    let api: TenderApi;
    let second: TestGateway;

    beforeAll(async () => {
      receiver = await startReceiver();
      const tweak = (config: GatewayConfig) => {
        config.tenderEngine.fleetSize = 1000;
        config.webhooks = {
          ...config.webhooks,
          pollIntervalMs: 20,
          backoffBaseMs: 20,
          allowPrivateAddresses: true,
          trustedCaFile: receiver.caPath,
        };
        const acme = config.partners.find((p) => p.id === 'acme-tms');
        if (acme !== undefined) acme.webhooks = { allowedUrls: [`https://localhost:${receiver.port}/acme`] };
      };
      api = await startTenderApi(engine, tweak);
      second = await startTestGateway(
        engine,
        (config) => {
          config.partners.push({ id: 'ops-console', tenant: 'fleet-ops' });
          tweak(config);
        },
        undefined,
        undefined,
        { nodeOf: api.t },
      );
    }, 90_000);
    afterAll(async () => {
      await second?.stop();
      await api?.stop();
      await receiver?.close();
    });

    it('delivers each change exactly once in normal operation', async () => {
      const created = await api.call('acme-tms', 'POST', '/v1/webhooks/endpoints', {
        url: `https://localhost:${receiver.port}/acme/hooks`,
      });
      expect(created.status, created.text).toBe(201);
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) {
        const answer = await api.call(
          'acme-tms',
          'POST',
          '/v1/tenders',
          tender(`PO-${randomUUID().slice(0, 8)}`),
        );
        ids.push(answer.json().id as string);
        const cancel = await api.call('acme-tms', 'POST', `/v1/tenders/${ids[i]}/cancel`, {});
        expect(cancel.status).toBe(200);
      }
      const expected = ids.length * 2; // accepted, cancelled
      await until(async () => {
        const items = (await api.call('acme-tms', 'GET', '/v1/webhooks/deliveries?limit=100')).json()
          .items as {
          status: string;
        }[];
        return items.length === expected && items.every((d) => d.status === 'delivered') ? true : undefined;
      });
      const received = receiver.received.map((r) => String(r.headers['webhook-id']));
      expect(received).toHaveLength(expected);
      expect(new Set(received).size).toBe(expected);
      for (const id of ids) expect(received.filter((m) => m.startsWith(`${id}:`))).toHaveLength(2);
    });
  }
});
