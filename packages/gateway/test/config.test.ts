/** Configuration: strict validation naming the wrong path, and environment overrides. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../src/config/config.ts';
import { applyEnvironment, loadConfig } from '../src/config/load.ts';
import { ConfigError, validateConfig } from '../src/config/validate.ts';

const problemsOf = (doc: unknown): string[] => {
  try {
    validateConfig(doc);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
};

describe('configuration', () => {
  it('accepts the defaults unchanged', () => {
    expect(validateConfig(JSON.parse(JSON.stringify(defaultConfig())))).toEqual(defaultConfig());
  });

  it('names every wrong path: unknown keys, types, ranges, duplicates', () => {
    const doc = JSON.parse(JSON.stringify(defaultConfig()));
    doc.listeners.ops.port = 70000;
    doc.telemetry.replayWindow = 100;
    doc.lanes.push({ ...doc.lanes[0] });
    doc.extra = true;
    doc.fleet.vehicles.push('../etc');
    const problems = problemsOf(doc);
    expect(problems).toEqual(
      expect.arrayContaining([
        '$.listeners.ops.port: must be an integer in [0, 65535]',
        '$.telemetry.replayWindow: must be a multiple of 8',
        '$.lanes: ids must be unique',
        '$.extra: unknown key',
        expect.stringMatching(/^\$\.fleet\.vehicles\[12\]: must be a string matching/),
      ]),
    );
    expect(problemsOf(null)).toContain('$: must be an object');
  });

  it('applies environment overrides, and refuses bad ones', () => {
    const c = applyEnvironment(defaultConfig(), {
      DATABASE_URL: 'postgres://u@127.0.0.1:5432/db',
      FLEETGATE_CONTROL_PORT: '9443',
      FLEETGATE_BIND_HOST: '127.0.0.1',
      FLEETGATE_LOG_LEVEL: 'warn',
    });
    expect(c.store).toEqual({ engine: 'postgres', url: 'postgres://u@127.0.0.1:5432/db' });
    expect(c.listeners.controlPlane).toEqual({ host: '127.0.0.1', port: 9443 });
    expect(c.listeners.ops.host).toBe('127.0.0.1');
    expect(c.log.level).toBe('warn');
    expect(() => applyEnvironment(defaultConfig(), { FLEETGATE_OPS_PORT: '99999' })).toThrow(ConfigError);
    expect(() => applyEnvironment(defaultConfig(), { FLEETGATE_LOG_LEVEL: 'loud' })).toThrow(ConfigError);
  });

  it('loads the file from the data directory and reports a missing or broken one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetgate-config-'));
    expect(() => loadConfig(dir, {})).toThrow(/not found/);
    writeFileSync(join(dir, 'fleetgate.json'), '{ not json');
    expect(() => loadConfig(dir, {})).toThrow(/not valid JSON/);
    writeFileSync(join(dir, 'fleetgate.json'), JSON.stringify(defaultConfig()));
    expect(loadConfig(dir, {}).lanes.map((l) => l.id)).toEqual(['DAL-HOU', 'FTW-ELP']);
  });
});
