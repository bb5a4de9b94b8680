/**
 * The `auth` configuration section (authorization server): absent, it gets its defaults so existing
 * fleetgate.json files keep loading; present, each key absent gets its default and every bad value is
 * refused with its JSON path.
 */
import { describe, expect, it } from 'vitest';
import { defaultAuthConfig, defaultConfig } from '../../../src/config/config.ts';
import { validateConfig } from '../../../src/config/validate.ts';

const withAuth = (auth: unknown): unknown => ({ ...defaultConfig(), auth });

describe('auth configuration', () => {
  it('defaults when the section is absent (a configuration file from before issue 4)', () => {
    const { auth: _auth, ...old } = defaultConfig();
    expect(validateConfig(old).auth).toEqual(defaultAuthConfig());
    expect(defaultAuthConfig()).toMatchObject({
      issuer: 'https://localhost:8443',
      audience: 'urn:fleetgate:control-plane',
      tokenListener: null,
    });
  });

  it('fills keys left out and keeps the ones given', () => {
    const auth = validateConfig(
      withAuth({
        issuer: 'https://gw.example:8443',
        tokenListener: { host: '0.0.0.0', port: 8446 },
        lockout: { threshold: 10 },
      }),
    ).auth;
    expect(auth.issuer).toBe('https://gw.example:8443');
    expect(auth.tokenListener).toEqual({ host: '0.0.0.0', port: 8446 });
    expect(auth.lockout).toEqual({ ...defaultAuthConfig().lockout, threshold: 10 });
    expect(auth.rateLimits).toEqual(defaultAuthConfig().rateLimits);
  });

  it('refuses unknown keys and bad values, naming the path', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ clientSecret: 'x' }, /\$\.auth\.clientSecret: unknown key/],
      [{ issuer: 'http://insecure.example' }, /\$\.auth\.issuer/],
      [{ issuer: 'https://x.example/?q' }, /\$\.auth\.issuer/],
      [{ rateLimits: { perClient: { burst: 0, perSecond: 1 } } }, /\$\.auth\.rateLimits\.perClient\.burst/],
      [{ lockout: { maxSeconds: -1 } }, /\$\.auth\.lockout\.maxSeconds/],
      [{ tokenListener: { host: 'h', port: 70000 } }, /\$\.auth\.tokenListener\.port/],
      [{ assertionMaxLifetimeSeconds: 86_400 }, /\$\.auth\.assertionMaxLifetimeSeconds/],
      ['yes', /\$\.auth: must be an object/],
    ];
    for (const [auth, message] of cases) expect(() => validateConfig(withAuth(auth))).toThrow(message);
  });
});
