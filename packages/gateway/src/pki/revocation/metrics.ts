/**
 * Prometheus metrics of revocation, registered on the gateway's own registry (observability/metrics.ts):
 *   fleetgate_certificate_revocations_total{reason}      revocations committed through this process
 *   fleetgate_revoked_connections_closed_total           open connections closed because of a revocation
 *   fleetgate_revoked_certificate_refusals_total{listener,stage}  handshakes/requests of revoked certs refused
 *   fleetgate_crl_age_seconds                            now - thisUpdate of the CRL being served
 *   fleetgate_crl_number                                 its cRLNumber
 * An operator alerts on the CRL age approaching `revocation.crlValiditySeconds`: past it, every relying
 * party that checks the CRL (Mosquitto, OpenSSL) refuses every certificate.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { CrlDocument } from './crl-publisher.ts';

export interface RevocationMetrics {
  readonly revocations: Counter<'reason'>;
  readonly connectionsTerminated: Counter;
  readonly refusals: Counter<'listener' | 'stage'>;
}

export function registerRevocationMetrics(
  registry: Registry,
  source: { crl: () => CrlDocument | undefined; now: () => Date },
): RevocationMetrics {
  new Gauge({
    name: 'fleetgate_crl_age_seconds',
    help: 'Seconds since the thisUpdate of the CRL being served (absent before the first CRL)',
    registers: [registry],
    collect() {
      const crl = source.crl();
      if (crl !== undefined) this.set((source.now().getTime() - crl.thisUpdate.getTime()) / 1000);
    },
  });
  new Gauge({
    name: 'fleetgate_crl_number',
    help: 'cRLNumber of the CRL being served',
    registers: [registry],
    collect() {
      const crl = source.crl();
      if (crl !== undefined) this.set(Number(crl.crlNumber));
    },
  });
  return {
    revocations: new Counter({
      name: 'fleetgate_certificate_revocations_total',
      help: 'Certificates revoked through this process, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    connectionsTerminated: new Counter({
      name: 'fleetgate_revoked_connections_closed_total',
      help: 'Open TLS connections closed because their certificate was revoked',
      registers: [registry],
    }),
    refusals: new Counter({
      name: 'fleetgate_revoked_certificate_refusals_total',
      help: 'Handshakes and requests refused because the client certificate is revoked',
      labelNames: ['listener', 'stage'] as const,
      registers: [registry],
    }),
  };
}
