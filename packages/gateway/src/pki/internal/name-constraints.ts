/**
 * The nameConstraints extension of an issuing intermediate (RFC 5280 §4.2.1.10), always critical:
 * permitted dNSName subtrees (the gateway's server names) and permitted iPAddress subtrees (loopback
 * 127.0.0.0/8 and ::1/128 plus the server's addresses, each as a host range /32 or /128). A relying
 * party that processes name constraints (OpenSSL, our validatePath) then refuses any server
 * certificate such an intermediate issues for another host.
 *
 * No uniformResourceIdentifier subtree on purpose: OpenSSL matches URI constraints against the URI's
 * host part, and our client identities are `urn:fleetgate:…` URIs without one, so a URI constraint
 * would make OpenSSL reject every device and partner certificate. With no URI subtree, URI SANs are
 * unconstrained (§4.2.1.10: constraints apply only to the name forms they list).
 *
 * Threat: a compromised (or per-tenant) intermediate minting a server certificate for an arbitrary
 * host name (e.g. a TMS partner's) that every holder of our trust bundle would accept.
 */
import { isIP } from 'node:net';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  GeneralName,
  GeneralSubtree,
  GeneralSubtrees,
  id_ce_nameConstraints,
  NameConstraints,
} from '@peculiar/asn1-x509';
import { PkiError } from '../errors.ts';
import { x509 } from './x509-lib.ts';

/** What an intermediate may certify as a server: DNS subtrees and IP ranges (CIDR). */
export interface PermittedServerNames {
  readonly dnsNames: readonly string[];
  /** CIDR ranges, e.g. "127.0.0.0/8", "::1/128". */
  readonly ipRanges: readonly string[];
}

export const LOOPBACK_DNS_NAMES: readonly string[] = ['localhost'];
export const LOOPBACK_IP_RANGES: readonly string[] = ['127.0.0.0/8', '::1/128'];

/** localhost + `dnsNames`, loopback + each of `ipAddresses` as a host range, without duplicates. */
export function permittedServerNames(
  dnsNames: readonly string[],
  ipAddresses: readonly string[],
): PermittedServerNames {
  const hosts = ipAddresses.map((ip) => {
    const family = isIP(ip);
    if (family === 0) throw new PkiError('PKI_INVALID_ARGUMENT', 'server IP addresses must be IPv4 or IPv6');
    return `${ip}/${family === 4 ? 32 : 128}`;
  });
  return {
    dnsNames: [...new Set([...LOOPBACK_DNS_NAMES, ...dnsNames.map((n) => n.toLowerCase())])],
    ipRanges: [...new Set([...LOOPBACK_IP_RANGES, ...hosts])],
  };
}

/** The critical nameConstraints extension with these permitted subtrees (no excluded subtrees). */
export function nameConstraintsExtension(
  permitted: PermittedServerNames,
): InstanceType<typeof x509.Extension> {
  const subtrees = [
    ...permitted.dnsNames.map((dNSName) => new GeneralSubtree({ base: new GeneralName({ dNSName }) })),
    ...permitted.ipRanges.map((iPAddress) => new GeneralSubtree({ base: new GeneralName({ iPAddress }) })),
  ];
  if (subtrees.length === 0) {
    throw new PkiError('PKI_INVALID_ARGUMENT', 'name constraints need at least one permitted subtree');
  }
  const value = AsnConvert.serialize(
    new NameConstraints({ permittedSubtrees: new GeneralSubtrees(subtrees) }),
  );
  return new x509.Extension(id_ce_nameConstraints, true, value);
}
