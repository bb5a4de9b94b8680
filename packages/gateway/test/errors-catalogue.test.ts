/** docs/errors.md and the code's catalogue list exactly the same codes, statuses and titles. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/errors/codes.ts';
import { GatewayError } from '../src/errors/gateway-error.ts';

const doc = readFileSync(join(import.meta.dirname, '../../../docs/errors.md'), 'utf8');
const rows = [...doc.matchAll(/^\| `([A-Z0-9_]+)` \| (\d{3}) \| ([^|]+) \|/gm)].map((m) => ({
  code: m[1] as string,
  status: Number(m[2]),
  title: (m[3] as string).trim(),
}));

describe('error catalogue', () => {
  it('documents every code with its status and title, and nothing else', () => {
    expect(rows.length).toBeGreaterThan(0);
    const documented = Object.fromEntries(rows.map((r) => [r.code, { status: r.status, title: r.title }]));
    expect(documented).toEqual(ERROR_CODES);
    expect(new Set(rows.map((r) => r.code)).size).toBe(rows.length);
  });

  it('renders problem+json with a stable type URI and no internal detail', () => {
    const problem = new GatewayError('TELEMETRY_REPLAYED', 'counter 7', {
      cause: new Error('SQL state 23505'),
    }).toProblem('/v1/telemetry');
    expect(problem).toEqual({
      type: 'https://fleetgate.dev/errors/telemetry-replayed',
      title: 'Batch counter was already accepted',
      status: 409,
      code: 'TELEMETRY_REPLAYED',
      detail: 'counter 7',
      instance: '/v1/telemetry',
    });
    expect(JSON.stringify(problem)).not.toMatch(/SQL/);
  });
});
