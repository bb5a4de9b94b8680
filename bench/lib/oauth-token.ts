/**
 * Obtains a certificate-bound access token (RFC 8705) from the gateway's token endpoint with a partner's
 * certificate, for benchmarks that drive the control plane: the token is fetched once per connection,
 * outside the timed phases (issuance has its own benchmark).
 */
import { request } from 'node:https';

export function certificateBoundToken(
  origin: string,
  creds: { chain: string; key: string; ca: string },
  clientId: string,
  scope: string,
): Promise<string> {
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: clientId,
    scope,
  }).toString();
  return new Promise((resolve, reject) => {
    const req = request(
      new URL('/oauth/token', origin),
      {
        method: 'POST',
        agent: false,
        cert: creds.chain,
        key: creds.key,
        ca: creds.ca,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const parsed = JSON.parse(text) as { access_token?: unknown };
          if (res.statusCode !== 200 || typeof parsed.access_token !== 'string') {
            reject(new Error(`token endpoint answered ${res.statusCode}: ${text.slice(0, 200)}`));
          } else resolve(parsed.access_token);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
