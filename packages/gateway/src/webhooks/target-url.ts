/**
 * Webhook endpoint URLs and the per-partner allow-list (`partners[].webhooks.allowedUrls`;
 * docs/tendering.md "Webhooks"). Threat: SSRF (OWASP API7) — a partner pointing the gateway at an
 * internal service. An endpoint URL must be
 *   - at most 2048 characters, parseable (WHATWG URL, which also resolves `.`/`..` and %2e segments before
 *     we compare), `https:` only;
 *   - without userinfo (`user:pass@`, a classic allow-list confusion) and without a fragment;
 *   - inside one allowed prefix: same host and effective port, and a path equal to the prefix's path or
 *     below it at a `/` boundary (`/hooks` allows `/hooks` and `/hooks/x`, never `/hooksevil`).
 * No allow-list (the default) allows nothing. The resolved addresses are checked again at every delivery
 * (deliver.ts, address-policy.ts): a name in the allow-list is not trusted to stay public.
 */

export const MAX_URL_LENGTH = 2048;

export type UrlProblem = 'invalid' | 'not-https' | 'userinfo' | 'fragment';

/** The parsed URL, or why it can never be an endpoint. */
export function parseEndpointUrl(text: string): URL | UrlProblem {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_URL_LENGTH) return 'invalid';
  if ([...text].some((ch) => ch.charCodeAt(0) <= 0x20 || ch.charCodeAt(0) === 0x7f || ch === '\\'))
    return 'invalid';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'invalid';
  }
  if (url.protocol !== 'https:') return 'not-https';
  const authority = text.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//, '').split(/[/?#]/, 1)[0] ?? '';
  if (url.username !== '' || url.password !== '' || authority.includes('@')) return 'userinfo';
  if (url.hash !== '' || text.includes('#')) return 'fragment';
  if (url.hostname === '') return 'invalid';
  return url;
}

const effectivePort = (url: URL) => (url.port === '' ? '443' : url.port);
const trimSlash = (path: string) => (path.endsWith('/') ? path.slice(0, -1) : path);

/** Whether `url` lies inside the allowed `prefix` (host and port equal, path at a segment boundary). */
export function matchesPrefix(url: URL, prefix: string): boolean {
  const allowed = parseEndpointUrl(prefix);
  if (typeof allowed === 'string') return false;
  if (allowed.hostname !== url.hostname || effectivePort(allowed) !== effectivePort(url)) return false;
  const base = trimSlash(allowed.pathname);
  return base === '' || url.pathname === base || url.pathname.startsWith(`${base}/`);
}

export function isAllowed(url: URL, allowedUrls: readonly string[]): boolean {
  return allowedUrls.some((prefix) => matchesPrefix(url, prefix));
}
