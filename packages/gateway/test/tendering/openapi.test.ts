/**
 * docs/openapi.json is generated from the control-plane route table (routes/control-plane.ts through
 * http/openapi.ts) and must stay in sync: this test regenerates it and fails on any difference.
 * `FLEETGATE_WRITE_OPENAPI=1 npx vitest run packages/gateway/test/tendering/openapi.test.ts` rewrites it.
 * It also checks the document's shape: OpenAPI 3.1, every route present with its scope, every schema
 * closed (additionalProperties false on every object) and every documented error code in the catalogue.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors/codes.ts';
import { renderOpenApiDocument } from '../../src/http/openapi.ts';
import { CONTROL_PLANE_API, controlPlaneOpenApi } from '../../src/routes/control-plane.ts';

const FILE = join(import.meta.dirname, '..', '..', '..', '..', 'docs', 'openapi.json');

function objectsWithoutClosure(schema: unknown, path: string, out: string[]): void {
  if (typeof schema !== 'object' || schema === null) return;
  const s = schema as Record<string, unknown>;
  const types = Array.isArray(s.type) ? s.type : [s.type];
  if (types.includes('object') && s.properties !== undefined && s.additionalProperties !== false)
    out.push(path);
  for (const [key, value] of Object.entries(s)) objectsWithoutClosure(value, `${path}/${key}`, out);
}

describe('OpenAPI document', () => {
  it('docs/openapi.json is what the route table generates', () => {
    const generated = renderOpenApiDocument(controlPlaneOpenApi());
    if (process.env.FLEETGATE_WRITE_OPENAPI === '1') writeFileSync(FILE, generated);
    expect(readFileSync(FILE, 'utf8')).toBe(generated);
  });

  it('describes every route, with its scope, closed request schemas and catalogued errors', () => {
    const doc = controlPlaneOpenApi() as {
      openapi: string;
      paths: Record<string, Record<string, { security: unknown[] }>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    for (const route of CONTROL_PLANE_API) {
      const op = doc.paths[route.url.replace(/:(\w+)/g, '{$1}')]?.[route.method.toLowerCase()];
      expect(op, route.url).toBeDefined();
      expect(op?.security).toEqual([{ partnerCertificate: [], oauth2: [route.scope] }]);
      for (const code of route.errors) expect(ERROR_CODES).toHaveProperty(code);
      const open: string[] = [];
      for (const part of ['body', 'params', 'querystring'] as const)
        objectsWithoutClosure(route.schema[part], `${route.operationId}/${part}`, open);
      expect(open).toEqual([]);
    }
  });
});
