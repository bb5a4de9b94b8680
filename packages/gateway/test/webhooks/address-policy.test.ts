/**
 * The SSRF address policy's special ranges and NAT64 (webhooks/address-policy.ts):
 *  - SIIT IPv4-translated (::ffff:0:0:0/96), Teredo and the rest of 2001::/23, 192.88.99.0/24 (6to4
 *    relay), ORCHID, SRv6 SIDs (5f00::/16) and 3fff::/20 documentation are refused, over their whole range
 *    (fast-check picks the host bits);
 *  - an address under 64:ff9b::/96 — and under a prefix declared in `webhooks.nat64Prefixes` — is judged
 *    exactly as the IPv4 address it embeds (fast-check over every IPv4 address), and a declared prefix
 *    changes nothing until it is declared; the rest of 64:ff9b::/32 stays refused;
 *  - vetTarget applies the declared prefixes; the configuration accepts /96 prefixes only.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/config.ts';
import { ConfigError, validateConfig } from '../../src/config/validate.ts';
import { isInternalAddress, parseNat64Prefix } from '../../src/webhooks/address-policy.ts';
import { vetTarget } from '../../src/webhooks/deliver.ts';

const hex4 = (n: number) => n.toString(16);
const v4Groups = (v4: string) => {
  const [a = 0, b = 0, c = 0, d = 0] = v4.split('.').map(Number);
  return `${hex4((a << 8) | b)}:${hex4((c << 8) | d)}`;
};
/** Random host bits below a prefix: the 16-bit groups after the first `fixed` ones. */
const groups = (n: number) => fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: n, maxLength: n });

describe('special-purpose ranges', () => {
  it('refuses the examples the review named', () => {
    for (const a of [
      '::ffff:0:7f00:1', // SIIT form of 127.0.0.1
      '::ffff:0:808:808', // SIIT, even of a public address: no public peer lives there
      '2001::1', // Teredo
      '2001:0:4136:e378:8000:63bf:3fff:fdd2',
      '2001:2::1', // benchmarking
      '2001:10::1', // ORCHID
      '2001:1f::1',
      '2001:20::1', // ORCHIDv2
      '192.88.99.1',
      '::ffff:192.88.99.1',
      '5f00::1',
      '5f00:ffff::1',
      '3fff::1',
      '3fff:fff::1',
      '64:ff9b:1::a00:1', // local-use NAT64, not declared
      '64:ff9b:0:1::808:808', // inside 64:ff9b::/32 but outside the /96
    ]) {
      expect({ a, internal: isInternalAddress(a) }).toEqual({ a, internal: true });
    }
    for (const a of ['2001:200::1', '2001:4860:4860::8888', '5f01::1', '3ffe::1', '4000::1', '192.88.98.1']) {
      expect({ a, internal: isInternalAddress(a) }).toEqual({ a, internal: false });
    }
  });

  it('refuses every address of each new IPv6 range', () => {
    const ranges: [string, fc.Arbitrary<string>][] = [
      ['::ffff:0:0:0/96', groups(2).map((g) => `0:0:0:0:ffff:0:${g.map(hex4).join(':')}`)],
      [
        '2001::/23',
        groups(7).map(([g1 = 0, ...rest]) => `2001:${hex4(g1 & 0x1ff)}:${rest.map(hex4).join(':')}`),
      ],
      ['5f00::/16', groups(7).map((g) => `5f00:${g.map(hex4).join(':')}`)],
      [
        '3fff::/20',
        groups(7).map(([g1 = 0, ...rest]) => `3fff:${hex4(g1 & 0x0fff)}:${rest.map(hex4).join(':')}`),
      ],
    ];
    for (const [range, address] of ranges) {
      fc.assert(
        fc.property(address, (a) => {
          expect({ range, a, internal: isInternalAddress(a) }).toEqual({ range, a, internal: true });
        }),
        { numRuns: 500 },
      );
    }
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), (host) => {
        expect(isInternalAddress(`192.88.99.${host}`)).toBe(true);
      }),
    );
  });
});

describe('NAT64', () => {
  const site = parseNat64Prefix('2001:db8:64::/96');
  const siteUla = parseNat64Prefix('fd00:64:ff9b::/96');

  it('64:ff9b::/96 is judged by the embedded IPv4 address, in both spellings', () => {
    fc.assert(
      fc.property(fc.ipV4(), (v4) => {
        const expected = isInternalAddress(v4);
        expect(isInternalAddress(`64:ff9b::${v4}`)).toBe(expected);
        expect(isInternalAddress(`64:ff9b::${v4Groups(v4)}`)).toBe(expected);
      }),
      { numRuns: 3000 },
    );
    expect(isInternalAddress('64:ff9b::808:808')).toBe(false); // 8.8.8.8
    expect(isInternalAddress('64:ff9b::a9fe:a9fe')).toBe(true); // 169.254.169.254
    expect(isInternalAddress('64:ff9b::7f00:1')).toBe(true); // 127.0.0.1
  });

  it("a declared site prefix is judged by the embedded IPv4 address; undeclared, its range's own rule applies", () => {
    expect(site).not.toBeNull();
    expect(siteUla).not.toBeNull();
    const declared = [site as Uint8Array, siteUla as Uint8Array];
    fc.assert(
      fc.property(fc.ipV4(), (v4) => {
        const expected = isInternalAddress(v4);
        expect(isInternalAddress(`2001:db8:64::${v4Groups(v4)}`, declared)).toBe(expected);
        expect(isInternalAddress(`fd00:64:ff9b::${v4}`, declared)).toBe(expected);
        // Not declared: 2001:db8::/32 (documentation) and fc00::/7 (unique-local) refuse everything.
        expect(isInternalAddress(`2001:db8:64::${v4Groups(v4)}`)).toBe(true);
        expect(isInternalAddress(`fd00:64:ff9b::${v4}`)).toBe(true);
      }),
      { numRuns: 3000 },
    );
    // Only the /96 is the NAT64: a neighbour of the declared prefix keeps its range's rule.
    expect(isInternalAddress('2001:db8:64:0:0:1:808:808', declared)).toBe(true);
  });

  it('parses /96 prefixes only, with zero host bits, never the mapped or compatible forms', () => {
    expect(parseNat64Prefix('64:ff9b::/96')).toEqual(
      new Uint8Array([0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]),
    );
    expect(parseNat64Prefix('2001:db8:64::0.0.0.0/96')).not.toBeNull();
    for (const bad of [
      '64:ff9b::/64',
      '64:ff9b::1/96',
      '64:ff9b::',
      '::/96',
      '::ffff:0:0/96',
      '10.0.0.0/96',
      'zz::/96',
      ` 64:ff9b::/96`,
      `${'1:'.repeat(40)}/96`,
    ]) {
      expect({ bad, parsed: parseNat64Prefix(bad) }).toEqual({ bad, parsed: null });
    }
  });

  it('vetTarget applies the declared prefixes', async () => {
    const url = new URL('https://partner.example/hooks');
    const resolve = async () => [{ address: '2001:db8:64::5db8:d70e', family: 6 }]; // 93.184.215.14
    expect(await vetTarget(url, { allowPrivateAddresses: false, resolve })).toEqual({
      refused: 'WEBHOOK_TARGET_INTERNAL',
    });
    expect(
      await vetTarget(url, { allowPrivateAddresses: false, resolve, nat64Prefixes: [site as Uint8Array] }),
    ).toEqual({ address: '2001:db8:64::5db8:d70e', family: 6 });
    const metadata = async () => [{ address: '2001:db8:64::a9fe:a9fe', family: 6 }]; // 169.254.169.254
    expect(
      await vetTarget(url, {
        allowPrivateAddresses: false,
        resolve: metadata,
        nat64Prefixes: [site as Uint8Array],
      }),
    ).toEqual({ refused: 'WEBHOOK_TARGET_INTERNAL' });
  });

  it('webhooks.nat64Prefixes: default empty, /96 prefixes accepted, anything else refused', () => {
    const doc = (nat64Prefixes: unknown) => {
      const config = JSON.parse(JSON.stringify(defaultConfig())) as Record<string, Record<string, unknown>>;
      (config.webhooks as Record<string, unknown>).nat64Prefixes = nat64Prefixes;
      return config;
    };
    expect(defaultConfig().webhooks.nat64Prefixes).toEqual([]);
    expect(validateConfig(doc(['2001:db8:64::/96'])).webhooks.nat64Prefixes).toEqual(['2001:db8:64::/96']);
    for (const bad of [['2001:db8:64::/64'], ['::ffff:0:0/96'], ['nope'], 'x', [1]]) {
      expect(() => validateConfig(doc(bad))).toThrow(ConfigError);
    }
  });
});
