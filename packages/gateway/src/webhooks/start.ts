/**
 * Webhooks in one gateway node (docs/tendering.md "Webhooks"): the dependencies the routes share with the
 * dispatcher — the data directory's key-wrapping key for the sealed secrets, the receivers' trust anchors
 * (system roots plus `webhooks.trustedCaFile`) — and the dispatcher itself, woken by tender decisions.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { rootCertificates } from 'node:tls';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AuditLog } from '../audit/log.ts';
import type { GatewayConfig } from '../config/config.ts';
import type { GatewayEvents } from '../events.ts';
import type { Store } from '../store/store.ts';
import { loadOrCreateKek } from '../telemetry/device-keys/kek.ts';
import { startWebhookDispatcher, type WebhookDispatcher } from './dispatcher.ts';
import type { WebhookDeps } from './endpoints.ts';

export interface WebhookService {
  deps: WebhookDeps;
  wake(): void;
  stop(): Promise<void>;
}

export function startWebhooks(options: {
  dataDir: string;
  store: Store;
  audit: AuditLog;
  now: () => Date;
  logger: Logger;
  config: GatewayConfig;
  events: GatewayEvents;
  registry: Registry;
}): WebhookService {
  const { config } = options;
  const kek = loadOrCreateKek(options.dataDir);
  const file = config.webhooks.trustedCaFile;
  const ca =
    file === null
      ? undefined
      : [...rootCertificates, readFileSync(isAbsolute(file) ? file : join(options.dataDir, file), 'utf8')];
  const deps: WebhookDeps = { store: options.store, audit: options.audit, now: options.now, kek, config };
  const dispatcher: WebhookDispatcher = startWebhookDispatcher({
    ...deps,
    logger: options.logger.child({ component: 'webhooks' }),
    ca,
    registry: options.registry,
  });
  const wake = () => dispatcher.wake();
  options.events.on('tender.decided', wake);
  return {
    deps,
    wake,
    stop: async () => {
      options.events.off('tender.decided', wake);
      await dispatcher.stop();
    },
  };
}
