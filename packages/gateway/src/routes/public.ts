/** Public read-only listener (TLS 1.3, no client certificate): trust bundle, audit checkpoint and key. */
import type { AuditLog } from '../audit/log.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { AnyFastify } from '../http/common.ts';

export function registerPublicRoutes(
  app: AnyFastify,
  opts: { caBundle: string; audit: AuditLog; auditVkey: string },
): void {
  app.get('/pki/ca.pem', async (_request, reply) => reply.type('application/x-pem-file').send(opts.caBundle));
  app.get('/v1/audit/checkpoint', async (_request, reply) => {
    const checkpoint = opts.audit.latestCheckpoint();
    if (checkpoint === undefined)
      throw new GatewayError('SERVICE_UNAVAILABLE', 'no checkpoint published yet', { retryAfterSeconds: 1 });
    return reply.type('text/plain; charset=utf-8').send(checkpoint.note);
  });
  app.get('/v1/audit/vkey', async (_request, reply) =>
    reply.type('text/plain; charset=utf-8').send(`${opts.auditVkey}\n`),
  );
}
