/**
 * The SSRF rules of webhook targets, below the API (webhooks/address-policy.ts, target-url.ts,
 * deliver.ts vetTarget/deliverOnce with the private-address switch OFF):
 *  - every internal range is refused, IPv4-mapped IPv6 included; public addresses pass;
 *  - a host with one internal address among public ones is refused (ANY address);
 *  - 127.0.0.1, localhost, 169.254.169.254, [::1] and ::ffff:127.0.0.1 targets are refused before any
 *    connection with WEBHOOK_TARGET_INTERNAL (a real listener on 127.0.0.1 sees no connection);
 *  - URL rules: https only, no userinfo, no fragment; allow-list prefixes match at a path boundary only.
 *  - the retry schedule grows and stays within its jitter.
 */
import { createServer } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isInternalAddress } from '../../src/webhooks/address-policy.ts';
import { retryDelayMs } from '../../src/webhooks/backoff.ts';
import { deliverOnce, vetTarget } from '../../src/webhooks/deliver.ts';
import { isAllowed, parseEndpointUrl } from '../../src/webhooks/target-url.ts';

describe('webhook target rules', () => {
  it('classifies internal and public addresses', () => {
    const internal = [
      '0.0.0.0',
      '0.255.1.2',
      '10.0.0.1',
      '100.64.0.1',
      '100.127.255.254',
      '127.0.0.1',
      '127.255.255.255',
      '169.254.169.254',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '192.0.2.7',
      '198.51.100.1',
      '203.0.113.9',
      '198.18.0.1',
      '224.0.0.251',
      '239.255.255.250',
      '255.255.255.255',
      '::',
      '::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:169.254.169.254',
      '::ffff:10.0.0.1',
      '::127.0.0.1',
      'fc00::1',
      'fd12:3456::1',
      'fe80::1',
      'fe80::1%lo',
      'ff02::1',
      '2001:db8::1',
      '64:ff9b::a00:1',
      'not-an-address',
    ];
    const external = [
      '8.8.8.8',
      '1.1.1.1',
      '100.128.0.1',
      '172.32.0.1',
      '192.169.0.1',
      '2606:4700:4700::1111',
      '::ffff:8.8.8.8',
    ];
    for (const a of internal) expect({ a, internal: isInternalAddress(a) }).toEqual({ a, internal: true });
    for (const a of external) expect({ a, internal: isInternalAddress(a) }).toEqual({ a, internal: false });
  });

  it('every IPv4 address and its mapped IPv6 form are judged alike', () => {
    fc.assert(
      fc.property(fc.ipV4(), (v4) => {
        expect(isInternalAddress(`::ffff:${v4}`)).toBe(isInternalAddress(v4));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a host when ANY of its addresses is internal', async () => {
    const url = new URL('https://partner.example/hooks');
    const resolve = async () => [
      { address: '93.184.215.14', family: 4 },
      { address: '10.0.0.5', family: 4 },
    ];
    expect(await vetTarget(url, { allowPrivateAddresses: false, resolve })).toEqual({
      refused: 'WEBHOOK_TARGET_INTERNAL',
    });
    const rebinding = async () => [{ address: '169.254.169.254', family: 4 }];
    expect(await vetTarget(url, { allowPrivateAddresses: false, resolve: rebinding })).toEqual({
      refused: 'WEBHOOK_TARGET_INTERNAL',
    });
    const nowhere = async () => {
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    };
    expect(await vetTarget(url, { allowPrivateAddresses: false, resolve: nowhere })).toEqual({
      refused: 'WEBHOOK_TARGET_UNREACHABLE',
    });
    expect(
      await vetTarget(url, {
        allowPrivateAddresses: false,
        resolve: async () => [{ address: '93.184.215.14', family: 4 }],
      }),
    ).toEqual({ address: '93.184.215.14', family: 4 });
  });

  it('refuses loopback, localhost, metadata, [::1] and mapped targets before connecting', async () => {
    let connections = 0;
    const server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      for (const target of [
        `https://127.0.0.1:${port}/hooks`,
        `https://localhost:${port}/hooks`,
        'https://169.254.169.254/latest/meta-data/',
        `https://[::1]:${port}/hooks`,
        `https://[::ffff:127.0.0.1]:${port}/hooks`,
      ]) {
        const outcome = await deliverOnce(
          new URL(target),
          '{}',
          {},
          {
            timeoutMs: 2000,
            allowPrivateAddresses: false,
            ca: undefined,
          },
        );
        expect({ target, outcome: outcome.ok ? 'ok' : outcome.code }).toEqual({
          target,
          outcome: 'WEBHOOK_TARGET_INTERNAL',
        });
      }
      expect(connections).toBe(0);
    } finally {
      server.close();
    }
  });

  it('parses endpoint URLs strictly', () => {
    expect(parseEndpointUrl('http://tms.example/hooks')).toBe('not-https');
    expect(parseEndpointUrl('https://user:pw@tms.example/hooks')).toBe('userinfo');
    expect(parseEndpointUrl('https://@tms.example/hooks')).toBe('userinfo');
    expect(parseEndpointUrl('https://tms.example/hooks#frag')).toBe('fragment');
    expect(parseEndpointUrl('https://tms.example/hooks#')).toBe('fragment');
    expect(parseEndpointUrl('not a url')).toBe('invalid');
    expect(parseEndpointUrl(`https://tms.example/${'a'.repeat(2048)}`)).toBe('invalid');
    expect(parseEndpointUrl('https://tms.example/a\\b')).toBe('invalid');
    expect(parseEndpointUrl('https://tms.example/hooks?x=@1')).toBeInstanceOf(URL);
  });

  it('matches allow-list prefixes at a path boundary, same host and port', () => {
    const allowed = ['https://tms.example/hooks', 'https://other.example:8443/'];
    const ok = (u: string) => {
      const url = parseEndpointUrl(u);
      return typeof url !== 'string' && isAllowed(url, allowed);
    };
    expect(ok('https://tms.example/hooks')).toBe(true);
    expect(ok('https://tms.example/hooks/fleetgate?v=1')).toBe(true);
    expect(ok('https://tms.example:443/hooks/x')).toBe(true);
    expect(ok('https://TMS.example/hooks/x')).toBe(true);
    expect(ok('https://other.example:8443/anything')).toBe(true);
    expect(ok('https://tms.example/hooksevil')).toBe(false);
    expect(ok('https://tms.example/hooks/../admin')).toBe(false);
    expect(ok('https://tms.example/hooks/%2e%2e/admin')).toBe(false);
    expect(ok('https://tms.example/')).toBe(false);
    expect(ok('https://tms.example.evil.example/hooks')).toBe(false);
    expect(ok('https://tms.example:8443/hooks')).toBe(false);
    expect(ok('https://other.example/anything')).toBe(false);
    expect(ok('https://tms.example@evil.example/hooks')).toBe(false);
    expect(isAllowed(new URL('https://tms.example/hooks'), [])).toBe(false);
  });

  it('backs off exponentially within ±20 % jitter', () => {
    const base = 5000;
    const nominal = [
      5_000, 30_000, 120_000, 600_000, 3_600_000, 7_200_000, 14_400_000, 21_600_000, 21_600_000,
    ];
    nominal.forEach((n, i) => {
      expect(retryDelayMs(i + 1, base, 0)).toBe(Math.round(n * 0.8));
      expect(retryDelayMs(i + 1, base, 0.999999)).toBeLessThanOrEqual(Math.round(n * 1.2));
      expect(retryDelayMs(i + 1, base, 0.5)).toBe(n);
    });
  });
});
