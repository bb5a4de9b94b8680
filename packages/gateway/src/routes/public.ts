/**
 * Public read-only listener (TLS 1.3, no client certificate): the trust bundle. The audit log's read API
 * (checkpoint, verifier keys, entries, proofs, receipts, tiles) is routes/audit.ts.
 */
import type { AnyFastify } from '../http/common.ts';

export function registerPublicRoutes(app: AnyFastify, opts: { caBundle: string }): void {
  app.get('/pki/ca.pem', async (_request, reply) => reply.type('application/x-pem-file').send(opts.caBundle));
}
