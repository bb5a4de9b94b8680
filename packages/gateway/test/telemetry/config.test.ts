/**
 * The `telemetryIngest` configuration section: absent (an older fleetgate.json) or partly given, it takes
 * its defaults; wrong values are refused with the JSON path that is wrong.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig, defaultTelemetryIngestConfig } from '../../src/config/config.ts';
import { ConfigError, validateConfig } from '../../src/config/validate.ts';

const base = (): Record<string, unknown> => JSON.parse(JSON.stringify(defaultConfig()));

const problems = (doc: unknown): string[] => {
  try {
    validateConfig(doc);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('telemetryIngest configuration', () => {
  it('defaults an absent section and every absent key', () => {
    const doc = base();
    delete doc.telemetryIngest;
    expect(validateConfig(doc).telemetryIngest).toEqual(defaultTelemetryIngestConfig());
    const partial = {
      ...base(),
      telemetryIngest: { maxConnectionsPerDevice: 2, groupCommit: { maxDelayMs: 0 } },
    };
    const got = validateConfig(partial).telemetryIngest;
    expect(got.maxConnectionsPerDevice).toBe(2);
    expect(got.groupCommit).toEqual({ ...defaultTelemetryIngestConfig().groupCommit, maxDelayMs: 0 });
    expect(got.rateLimits).toEqual(defaultTelemetryIngestConfig().rateLimits);
  });

  it('refuses wrong values with their path', () => {
    const bad = (telemetryIngest: unknown) => problems({ ...base(), telemetryIngest });
    expect(bad({ algorithms: ['ed25519', 'rsa'] })).toEqual([
      '$.telemetryIngest.algorithms[1]: must be one of ed25519, ecdsa-p256-sha256, hmac-sha256, ed25519+ml-dsa-65',
    ]);
    expect(bad({ algorithms: [] })).toEqual([
      '$.telemetryIngest.algorithms: must name at least one suite, each once',
    ]);
    expect(bad({ algorithms: ['ed25519', 'ed25519'] })).toHaveLength(1);
    expect(bad({ rateLimits: { records: { burst: 0, perSecond: 1 } } })).toEqual([
      '$.telemetryIngest.rateLimits.records.burst: must be an integer in [1, 1000000000]',
    ]);
    expect(bad({ maxConnectionsPerDevice: 0 })[0]).toMatch(/^\$\.telemetryIngest\.maxConnectionsPerDevice/);
    expect(bad({ groupCommit: { maxBatches: 1, extra: true } })).toEqual([
      '$.telemetryIngest.groupCommit.extra: unknown key',
    ]);
    expect(bad({ clockSkewWarnSeconds: 'soon' })[0]).toMatch(/clockSkewWarnSeconds/);
    expect(bad({ unknown: 1 })).toEqual(['$.telemetryIngest.unknown: unknown key']);
  });
});
