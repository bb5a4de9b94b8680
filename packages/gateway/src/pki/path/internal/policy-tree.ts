/**
 * Certificate policy processing, RFC 5280 §6.1.2 (a), (d), (e), (f), §6.1.3 (d)–(f), §6.1.4 (a), (b),
 * (h)–(j) and §6.1.5 (a), (b), (g): the valid_policy_tree, explicit_policy, policy_mapping and
 * inhibit_anyPolicy, written to follow the RFC's steps one for one. Qualifiers are not kept (RFC 5280
 * lets relying parties ignore them).
 *
 * Threat: besides accepting a certificate under a policy its CAs never asserted, the tree itself is a
 * denial-of-service vector — policy mappings can make it grow exponentially with depth (CVE-2023-0464,
 * RFC 9618 §1). The tree is capped at MAX_POLICY_NODES nodes; a chain that needs more is refused with
 * PATH_POLICY rather than processed.
 */
import type { PathCertificate } from '../types.ts';
import { ANY_POLICY } from './extensions.ts';

export const MAX_POLICY_NODES = 1024;

interface PolicyNode {
  readonly validPolicy: string;
  expected: Set<string>;
  children: PolicyNode[];
  readonly parent: PolicyNode | undefined;
  readonly depth: number;
}

export interface PolicyOptions {
  readonly initialPolicySet: readonly string[];
  readonly initialExplicitPolicy: boolean;
  readonly initialPolicyMappingInhibit: boolean;
  readonly initialAnyPolicyInhibit: boolean;
}

/** The policy state variables of §6.1.2 for a path of `n` certificates. */
export class PolicyState {
  #root: PolicyNode | undefined;
  #nodes = 1;
  explicitPolicy: number;
  policyMapping: number;
  inhibitAnyPolicy: number;
  readonly #n: number;

  constructor(n: number, options: PolicyOptions) {
    this.#n = n;
    this.#root = {
      validPolicy: ANY_POLICY,
      expected: new Set([ANY_POLICY]),
      children: [],
      parent: undefined,
      depth: 0,
    };
    this.explicitPolicy = options.initialExplicitPolicy ? 0 : n + 1;
    this.policyMapping = options.initialPolicyMappingInhibit ? 0 : n + 1;
    this.inhibitAnyPolicy = options.initialAnyPolicyInhibit ? 0 : n + 1;
  }

  #add(parent: PolicyNode, validPolicy: string, expected: Set<string>): void {
    if (++this.#nodes > MAX_POLICY_NODES) throw new PolicyLimitError();
    parent.children.push({ validPolicy, expected, children: [], parent, depth: parent.depth + 1 });
  }

  #atDepth(depth: number): PolicyNode[] {
    const out: PolicyNode[] = [];
    const walk = (node: PolicyNode): void => {
      if (node.depth === depth) out.push(node);
      else for (const child of node.children) walk(child);
    };
    if (this.#root) walk(this.#root);
    return out;
  }

  /** Deletes, repeatedly, every node above `depth` that has no children. */
  #prune(depth: number): void {
    const prune = (node: PolicyNode): boolean => {
      if (node.depth >= depth) return false;
      node.children = node.children.filter((child) => !prune(child));
      return node.children.length === 0;
    };
    if (this.#root && prune(this.#root)) this.#root = undefined;
  }

  /** §6.1.3 (d)–(f) for certificate `i` (1-based from the anchor). Returns a failure reason or undefined. */
  processCertificate(cert: PathCertificate, i: number): string | undefined {
    const policies = cert.certificatePolicies;
    if (policies === undefined) {
      this.#root = undefined; // (e)
    } else if (this.#root) {
      const parents = this.#atDepth(i - 1);
      for (const policy of policies) {
        if (policy === ANY_POLICY) continue;
        const matching = parents.filter((node) => node.expected.has(policy));
        if (matching.length > 0) {
          for (const node of matching) this.#add(node, policy, new Set([policy])); // (d)(1)(i)
        } else {
          const any = parents.find((node) => node.validPolicy === ANY_POLICY);
          if (any) this.#add(any, policy, new Set([policy])); // (d)(1)(ii)
        }
      }
      if (policies.includes(ANY_POLICY) && (this.inhibitAnyPolicy > 0 || (i < this.#n && cert.selfIssued))) {
        for (const node of parents) {
          for (const value of node.expected) {
            if (!node.children.some((child) => child.validPolicy === value)) {
              this.#add(node, value, new Set([value])); // (d)(2)
            }
          }
        }
      }
      this.#prune(i); // (d)(3)
    }
    if (this.explicitPolicy === 0 && this.#root === undefined) {
      return 'no acceptable policy while an explicit policy is required'; // (f)
    }
    return undefined;
  }

  /** §6.1.4 (a), (b) for intermediate certificate `i`. */
  processMappings(cert: PathCertificate, i: number): string | undefined {
    const mappings = cert.policyMappings;
    if (mappings === undefined) return undefined;
    if (mappings.some((m) => m.issuerDomainPolicy === ANY_POLICY || m.subjectDomainPolicy === ANY_POLICY)) {
      return 'a policy mapping maps to or from anyPolicy'; // (a)
    }
    const issuerPolicies = [...new Set(mappings.map((m) => m.issuerDomainPolicy))];
    for (const idp of issuerPolicies) {
      const mapped = new Set(
        mappings.filter((m) => m.issuerDomainPolicy === idp).map((m) => m.subjectDomainPolicy),
      );
      const nodes = this.#atDepth(i);
      if (this.policyMapping > 0) {
        const matching = nodes.filter((node) => node.validPolicy === idp);
        if (matching.length > 0) {
          for (const node of matching) node.expected = mapped; // (b)(1)
        } else {
          const any = nodes.find((node) => node.validPolicy === ANY_POLICY);
          if (any?.parent) this.#add(any.parent, idp, mapped); // (b)(1)
        }
      } else {
        for (const node of nodes) {
          if (node.validPolicy === idp && node.parent) {
            node.parent.children = node.parent.children.filter((c) => c !== node); // (b)(2)
          }
        }
        this.#prune(i);
      }
    }
    return undefined;
  }

  /** §6.1.4 (h)–(j) for intermediate certificate `i`. */
  updateCounters(cert: PathCertificate): void {
    if (!cert.selfIssued) {
      if (this.explicitPolicy > 0) this.explicitPolicy--;
      if (this.policyMapping > 0) this.policyMapping--;
      if (this.inhibitAnyPolicy > 0) this.inhibitAnyPolicy--;
    }
    const pc = cert.policyConstraints;
    if (pc?.requireExplicitPolicy !== undefined && pc.requireExplicitPolicy < this.explicitPolicy) {
      this.explicitPolicy = pc.requireExplicitPolicy;
    }
    if (pc?.inhibitPolicyMapping !== undefined && pc.inhibitPolicyMapping < this.policyMapping) {
      this.policyMapping = pc.inhibitPolicyMapping;
    }
    if (cert.inhibitAnyPolicy !== undefined && cert.inhibitAnyPolicy < this.inhibitAnyPolicy) {
      this.inhibitAnyPolicy = cert.inhibitAnyPolicy;
    }
  }

  /**
   * §6.1.5 (a), (b), (g) for the leaf, then the final explicit-policy check. Returns the
   * user-constrained policy set (NIST PKITS's term for the output of (g)), or a failure reason.
   */
  finish(leaf: PathCertificate, options: PolicyOptions): { policies: string[] } | { failure: string } {
    if (this.explicitPolicy > 0) this.explicitPolicy--; // (a)
    if (leaf.policyConstraints?.requireExplicitPolicy === 0) this.explicitPolicy = 0; // (b)
    const initial = new Set(options.initialPolicySet);
    if (this.#root && !initial.has(ANY_POLICY)) {
      const boundary = this.#boundary();
      for (const node of boundary) {
        if (node.validPolicy !== ANY_POLICY && !initial.has(node.validPolicy) && node.parent) {
          node.parent.children = node.parent.children.filter((c) => c !== node); // (g)(iii)(2)
        }
      }
      const anyLeaf = this.#atDepth(this.#n).find((node) => node.validPolicy === ANY_POLICY);
      if (anyLeaf?.parent) {
        const present = new Set(boundary.map((node) => node.validPolicy));
        for (const policy of initial) {
          if (!present.has(policy)) this.#add(anyLeaf.parent, policy, new Set([policy])); // (g)(iii)(3)
        }
        anyLeaf.parent.children = anyLeaf.parent.children.filter((c) => c !== anyLeaf);
      }
      this.#prune(this.#n); // (g)(iii)(4)
    }
    if (this.explicitPolicy === 0 && this.#root === undefined) {
      return { failure: 'no acceptable policy while an explicit policy is required' };
    }
    const policies = new Set<string>();
    for (const node of this.#boundary()) {
      if (node.validPolicy !== ANY_POLICY) policies.add(node.validPolicy);
      else if (node.depth === this.#n) policies.add(ANY_POLICY);
    }
    return { policies: [...policies].sort() };
  }

  /** §6.1.5 (g)(iii)(1): the nodes whose parent's valid_policy is anyPolicy. */
  #boundary(): PolicyNode[] {
    const out: PolicyNode[] = [];
    const walk = (node: PolicyNode): void => {
      for (const child of node.children) {
        if (node.validPolicy === ANY_POLICY) out.push(child);
        walk(child);
      }
    };
    if (this.#root) walk(this.#root);
    return out;
  }
}

export class PolicyLimitError extends Error {
  constructor() {
    super(`policy tree exceeds ${MAX_POLICY_NODES} nodes`);
    this.name = 'PolicyLimitError';
  }
}
