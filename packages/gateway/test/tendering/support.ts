/**
 * A real gateway for the tender API tests (harness.ts through the resource-server test support): three
 * partners — acme-tms (tenant acme), globex-tms (tenant globex) and an operator console ops-console
 * (tenant fleet-ops, granted `admin`) — and helpers that call the API with certificate-bound tokens
 * minted with the authorization server's key, exactly as the resource server verifies them.
 */
import type { GatewayConfig } from '../../src/config/config.ts';
import {
  type Answer,
  type AuthTestGateway,
  send,
  startAuthGateway,
} from '../auth/resource/support/gateway.ts';
import { certThumbprint } from '../auth/resource/support/mint.ts';
import type { EngineCase } from '../support/engines.ts';
import { tenderBody } from '../support/tender-body.ts';

export type { Answer };

export type Who = 'acme-tms' | 'globex-tms' | 'ops-console';
const TENANT: Record<Who, string> = {
  'acme-tms': 'acme',
  'globex-tms': 'globex',
  'ops-console': 'fleet-ops',
};
const SCOPE: Record<Who, string> = {
  'acme-tms': 'tenders:write tenders:read tracking:read',
  'globex-tms': 'tenders:write tenders:read tracking:read',
  'ops-console': 'admin tenders:read',
};

export interface TenderApi {
  t: AuthTestGateway;
  call(
    who: Who,
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Answer>;
  stop(): Promise<void>;
}

export async function startTenderApi(
  engine: EngineCase,
  tweak?: (config: GatewayConfig) => void,
): Promise<TenderApi> {
  const t = await startAuthGateway(engine, (config) => {
    config.partners.push({ id: 'ops-console', tenant: 'fleet-ops' });
    tweak?.(config);
  });
  await t.gateway.store.query(
    `UPDATE oauth_clients SET scopes = ARRAY['tenders:read', 'admin'] WHERE client_id = 'ops-console'`,
  );
  await t.gateway.store.query(
    `UPDATE oauth_clients SET scopes = ARRAY['tenders:write', 'tenders:read', 'tracking:read']
     WHERE client_id IN ('acme-tms', 'globex-tms')`,
  );
  const tokens = new Map<Who, string>();
  const tokenOf = async (who: Who): Promise<string> => {
    const known = tokens.get(who);
    if (known !== undefined) return known;
    const { token } = await t.token({
      clientId: who,
      tenant: TENANT[who],
      scope: SCOPE[who],
      lifetimeSeconds: 3600,
      cnf: { 'x5t#S256': certThumbprint(t.partner(who).cert) },
    });
    tokens.set(who, token);
    return token;
  };
  return {
    t,
    call: async (who, method, path, body, headers = {}) =>
      send(`${t.url.control}${path}`, {
        method,
        creds: t.partner(who),
        headers: { authorization: `Bearer ${await tokenOf(who)}`, ...headers },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      }),
    stop: () => t.stop(),
  };
}

/** A tender body on DAL–HOU, pickup in `hoursAhead` hours for 4 hours, delivery 16 hours later. */
export const tender = tenderBody;
