/** Ops listener (loopback by default): liveness, readiness (the store answers) and Prometheus metrics. */
import type { AnyFastify } from '../http/common.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import type { Store } from '../store/store.ts';

export function registerOpsRoutes(
  app: AnyFastify,
  opts: { store: Store; metrics: GatewayMetrics; ready: () => boolean },
): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    let storeOk = false;
    try {
      await opts.store.query('SELECT 1');
      storeOk = true;
    } catch {
      storeOk = false;
    }
    const ready = storeOk && opts.ready();
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not ready', store: storeOk ? 'ok' : 'unavailable' });
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(opts.metrics.registry.contentType).send(await opts.metrics.registry.metrics()),
  );
}
