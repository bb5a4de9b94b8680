/** The `revocation` configuration section: absent (older files) means the defaults; bad values name their path. */
import { describe, expect, it } from 'vitest';
import { defaultConfig, defaultRevocationConfig } from '../../src/config/config.ts';
import { ConfigError, validateConfig } from '../../src/config/validate.ts';

function withRevocation(revocation: unknown): unknown {
  const doc = JSON.parse(JSON.stringify(defaultConfig())) as Record<string, unknown>;
  if (revocation === undefined) delete doc.revocation;
  else doc.revocation = revocation;
  return doc;
}

function problems(doc: unknown): string[] {
  try {
    validateConfig(doc);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('revocation configuration', () => {
  it('defaults an absent section and absent keys', () => {
    expect(validateConfig(withRevocation(undefined)).revocation).toEqual(defaultRevocationConfig());
    expect(validateConfig(withRevocation({ refreshIntervalMs: 250 })).revocation).toEqual({
      ...defaultRevocationConfig(),
      refreshIntervalMs: 250,
    });
    expect(defaultRevocationConfig()).toEqual({
      refreshIntervalMs: 1000,
      crlValiditySeconds: 3600,
      crlReissueSeconds: 1800,
      ocspValiditySeconds: 300,
    });
  });

  it('refuses a poll slower than a second, a reissue after expiry, and unknown keys', () => {
    expect(problems(withRevocation({ refreshIntervalMs: 5000 }))).toEqual([
      '$.revocation.refreshIntervalMs: must be an integer in [50, 1000]',
    ]);
    expect(problems(withRevocation({ crlValiditySeconds: 600, crlReissueSeconds: 600 }))).toEqual([
      '$.revocation.crlReissueSeconds: must be less than crlValiditySeconds',
    ]);
    expect(problems(withRevocation({ crlfile: '/tmp/x' }))).toEqual(['$.revocation.crlfile: unknown key']);
    expect(problems(withRevocation('yes'))).toEqual(['$.revocation: must be an object']);
  });
});
