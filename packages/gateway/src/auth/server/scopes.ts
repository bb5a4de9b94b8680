/**
 * The scopes a token request is granted (RFC 6749 §3.3): each requested scope must be one fleetgate knows
 * and one the client is registered for — anything else is `invalid_scope`, never silently dropped, so a
 * client cannot mistake a narrower token for the one it asked for. No `scope` parameter grants all of the
 * client's scopes. Limits: at most 256 characters, at most as many scopes as exist. Granted scopes come
 * back in the catalogue's order, without duplicates.
 */
import { SCOPES, type Scope } from './client-registry.ts';
import { OAuthError } from './errors.ts';

const invalidScope = (reason: string, description: string): OAuthError =>
  new OAuthError('invalid_scope', 'OAUTH_INVALID_SCOPE', description, { reason });

export function grantScopes(requested: string | undefined, allowed: readonly Scope[]): Scope[] {
  if (requested === undefined) {
    if (allowed.length === 0) throw invalidScope('NO_SCOPES', 'the client has no scopes');
    return [...allowed];
  }
  const names = requested.split(' ').filter((s) => s !== '');
  if (names.length === 0 || names.length > SCOPES.length || requested.length > 256) {
    throw invalidScope('SCOPE_MALFORMED', 'scope is empty or too long');
  }
  const granted = new Set<Scope>();
  for (const name of names) {
    const scope = allowed.find((s) => s === name);
    if (scope === undefined) {
      throw invalidScope('SCOPE_NOT_ALLOWED', 'a requested scope is not allowed for this client');
    }
    granted.add(scope);
  }
  return SCOPES.filter((s) => granted.has(s));
}
