/**
 * RFC 5280 §4.2.1.10 name constraints, processed as §6.1.3 (b)–(c) and §6.1.4 (g) require: every
 * certificate after a constraining CA (except self-issued intermediates) must have its subject DN, its
 * subjectAltNames and any emailAddress in its subject inside every CA's permitted subtrees of that name
 * form and outside all excluded subtrees.
 *
 * Permitted subtrees are kept per CA rather than intersected: a name must match one permitted subtree
 * of *each* CA that constrained its form, which is the intersection without computing it.
 *
 * Forms: directoryName (RDN prefix), dNSName (the name or any subdomain; a leading "." means proper
 * subdomains only), rfc822Name (mailbox, host, or ".domain"), iPAddress (address/mask; an IPv4-mapped
 * IPv6 address also meets IPv4 subtrees, so it cannot slip past an excluded IPv4 range), and
 * uniformResourceIdentifier (the URI's host: "host" only that host, ".domain" its subdomains).
 * fleetgate extension for URNs (RFC 8141), which have no host: a constraint that is itself a URN matches
 * a URN that equals it or, when the constraint ends in ":", starts with it — the "urn" scheme and the NID
 * compared case-insensitively, the rest exactly — so a CA can be limited to `urn:fleetgate:vehicle:`.
 * Other implementations read such a constraint as a host name, which a URN never matches: they
 * reject, we accept; a URN under a host-form URI constraint is rejected by both.
 *
 * Threat: a subordinate CA escaping the namespace it was delegated. Fail closed: a name that cannot be
 * parsed, a wildcard DNS name that could expand into an excluded subtree, and any name of a form we do
 * not process (otherName, x400Address, ediPartyName, registeredID) under a constraint of that form are
 * all violations.
 */
import type { NameConstraints, PathCertificate } from '../types.ts';
import {
  type DistinguishedName,
  emailAddresses,
  type GeneralName,
  type GeneralNameKind,
  nameWithin,
} from './names.ts';

export interface NameConstraintState {
  /** One list per constraining CA: its permitted subtrees. */
  readonly permitted: readonly (readonly GeneralName[])[];
  readonly excluded: readonly GeneralName[];
}

export const UNCONSTRAINED: NameConstraintState = { permitted: [], excluded: [] };

/** §6.1.4 (g): add a CA's constraints to the state. */
export function addConstraints(state: NameConstraintState, nc: NameConstraints): NameConstraintState {
  return {
    permitted: nc.permitted.length > 0 ? [...state.permitted, nc.permitted] : state.permitted,
    excluded: [...state.excluded, ...nc.excluded],
  };
}

function dnsWithin(name: string, constraint: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  const c = constraint.toLowerCase().replace(/\.$/, '');
  if (c.startsWith('.')) return n.endsWith(c) && n.length > c.length;
  if (c === '') return true;
  return n === c || n.endsWith(`.${c}`);
}

/** A wildcard "*.B" is excluded when some expansion of it could be: B inside C, or C below B. */
function wildcardMayEnter(name: string, constraint: string): boolean {
  const base = name.slice(2);
  const c = constraint.toLowerCase().replace(/^\./, '');
  return dnsWithin(base, constraint) || dnsWithin(c, `.${base}`);
}

/** Splits a mailbox at its last "@"; undefined when it has none or an empty side. */
function mailbox(address: string): { local: string; host: string } | undefined {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return undefined;
  return { local: address.slice(0, at), host: address.slice(at + 1).toLowerCase() };
}

function rfc822Within(name: string, constraint: string): boolean | undefined {
  const box = mailbox(name);
  if (box === undefined) return undefined;
  if (constraint.includes('@')) {
    const c = mailbox(constraint);
    return c !== undefined && c.local === box.local && c.host === box.host;
  }
  const c = constraint.toLowerCase();
  if (c.startsWith('.')) return box.host.endsWith(c) && box.host.length > c.length;
  return box.host === c;
}

const URN = /^urn:([A-Za-z0-9][A-Za-z0-9-]{0,31}):(.+)$/is;

/** A URN with the "urn" scheme and NID lower-cased (RFC 8141 §3.1), the NSS as is. */
function normaliseUrn(text: string): string | undefined {
  const m = URN.exec(text);
  return m ? `urn:${(m[1] ?? '').toLowerCase()}:${m[2] ?? ''}` : undefined;
}

/** The lower-cased host of a URI with an authority (RFC 3986 §3.2.2), or undefined. */
function uriHost(uri: string): string | undefined {
  const match = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(uri);
  if (!match) return undefined;
  const authority = (match[1] ?? '').slice((match[1] ?? '').lastIndexOf('@') + 1);
  const host = authority.startsWith('[')
    ? authority.slice(0, authority.indexOf(']') + 1)
    : authority.replace(/:[0-9]*$/, '');
  return host === '' || host === '[]' ? undefined : host.toLowerCase();
}

function uriWithin(name: string, constraint: string): boolean | undefined {
  const urn = normaliseUrn(name);
  const host = urn === undefined ? uriHost(name) : undefined;
  if (urn === undefined && host === undefined) return undefined;
  if (/^urn:/i.test(constraint)) {
    if (urn === undefined) return false;
    if (constraint.endsWith(':')) {
      const prefix = normaliseUrn(`${constraint}x`)?.slice(0, -1);
      return prefix !== undefined && urn.startsWith(prefix);
    }
    return urn === normaliseUrn(constraint);
  }
  if (host === undefined) return false;
  const c = constraint.toLowerCase();
  if (c.startsWith('.')) return host.endsWith(c) && host.length > c.length;
  return host === c;
}

/** ::ffff:a.b.c.d (RFC 4291 §2.5.5.2) is the IPv4 host a.b.c.d, so it meets IPv4 constraints too. */
function ipv4Mapped(address: Uint8Array): Uint8Array | undefined {
  if (address.length !== 16 || address[10] !== 0xff || address[11] !== 0xff) return undefined;
  return address.subarray(0, 10).every((b) => b === 0) ? address.subarray(12) : undefined;
}

function ipWithin(address: Uint8Array, constraint: Uint8Array): boolean {
  const v4 = ipv4Mapped(address);
  if (v4 !== undefined && constraint.length === 8) return ipWithin(v4, constraint);
  if (constraint.length !== address.length * 2) return false;
  const mask = constraint.subarray(address.length);
  for (let i = 0; i < address.length; i++) {
    if (((address[i] ?? 0) & (mask[i] ?? 0)) !== ((constraint[i] ?? 0) & (mask[i] ?? 0))) return false;
  }
  return true;
}

/** Whether `name` is inside subtree `base` (same form); undefined when `name` cannot be evaluated. */
function within(name: GeneralName, base: GeneralName, forExclusion: boolean): boolean | undefined {
  switch (name.kind) {
    case 'directory':
      return base.kind === 'directory' && nameWithin(name.name, base.name);
    case 'dns':
      if (base.kind !== 'dns') return false;
      if (forExclusion && name.value.startsWith('*.')) return wildcardMayEnter(name.value, base.value);
      return dnsWithin(name.value, base.value);
    case 'rfc822':
      return base.kind === 'rfc822' ? rfc822Within(name.value, base.value) : false;
    case 'uri':
      return base.kind === 'uri' ? uriWithin(name.value, base.value) : false;
    case 'ip':
      return base.kind === 'ip' ? ipWithin(name.bytes, base.bytes) : false;
    default:
      // otherName, x400Address, ediPartyName, registeredID: not processed (caller fails closed).
      return undefined;
  }
}

const PROCESSED: ReadonlySet<GeneralNameKind> = new Set(['directory', 'dns', 'rfc822', 'uri', 'ip']);

/** Why `name` violates the constraints, or undefined when it satisfies them. */
function violation(name: GeneralName, state: NameConstraintState): string | undefined {
  const constrained =
    state.excluded.some((c) => c.kind === name.kind) ||
    state.permitted.some((list) => list.some((c) => c.kind === name.kind));
  if (!constrained) return undefined;
  if (!PROCESSED.has(name.kind)) return `a ${name.kind} name is constrained but not processed`;
  for (const base of state.excluded) {
    if (base.kind !== name.kind) continue;
    const hit = within(name, base, true);
    if (hit !== false) return `a ${name.kind} name is in an excluded subtree`;
  }
  for (const list of state.permitted) {
    const ofKind = list.filter((c) => c.kind === name.kind);
    if (ofKind.length === 0) continue;
    if (!ofKind.some((base) => within(name, base, false) === true)) {
      return `a ${name.kind} name is outside the permitted subtrees`;
    }
  }
  return undefined;
}

function directory(name: DistinguishedName): GeneralName {
  return { kind: 'directory', name };
}

/** §6.1.3 (b)–(c) for one certificate: the first violation found, or undefined. */
export function checkNameConstraints(cert: PathCertificate, state: NameConstraintState): string | undefined {
  if (state.permitted.length === 0 && state.excluded.length === 0) return undefined;
  const names: GeneralName[] = [];
  if (cert.subject.rdns.length > 0) names.push(directory(cert.subject));
  for (const email of emailAddresses(cert.subject)) names.push({ kind: 'rfc822', value: email });
  names.push(...(cert.subjectAltNames ?? []));
  for (const name of names) {
    const problem = violation(name, state);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
