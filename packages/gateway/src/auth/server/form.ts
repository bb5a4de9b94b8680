/**
 * application/x-www-form-urlencoded request bodies of the OAuth endpoints (RFC 6749 §3.2, RFC 7662 §2.1,
 * RFC 7009 §2.1), parsed defensively: the body is at most MAX_FORM_BYTES (enforced by the route's body
 * limit before this runs), at most MAX_PARAMETERS parameters, each name at most 64 characters. A
 * parameter sent twice is refused (RFC 6749 §3.1: "Request and response parameters MUST NOT be included
 * more than once") — two `scope`s or two `client_assertion`s could otherwise be read differently by two
 * layers. Unknown parameters are kept but ignored by the endpoints (RFC 6749 §3.2).
 */
import { invalidRequest } from './errors.ts';
import { MAX_TOKEN_BYTES } from './own-token.ts';

export const MAX_FORM_BYTES = 16 * 1024;
export const MAX_PARAMETERS = 32;

export class FormParams {
  readonly #values: Map<string, string>;

  constructor(values: Map<string, string>) {
    this.#values = values;
  }

  get(name: string): string | undefined {
    return this.#values.get(name);
  }

  has(name: string): boolean {
    return this.#values.has(name);
  }
}

export function parseForm(body: Buffer): FormParams {
  if (body.byteLength > MAX_FORM_BYTES) throw invalidRequest('FORM_TOO_LARGE', 'request body is too large');
  const text = body.toString('utf8');
  const values = new Map<string, string>();
  let count = 0;
  for (const [name, value] of new URLSearchParams(text)) {
    count += 1;
    if (count > MAX_PARAMETERS) throw invalidRequest('FORM_TOO_MANY_PARAMETERS', 'too many parameters');
    if (name.length === 0 || name.length > 64)
      throw invalidRequest('FORM_PARAMETER_NAME', 'bad parameter name');
    if (values.has(name))
      throw invalidRequest('FORM_DUPLICATE_PARAMETER', 'a parameter was sent more than once');
    values.set(name, value);
  }
  return new FormParams(values);
}

/** The `token` parameter of introspection and revocation: required, at most 8 KiB (never parsed if larger). */
export function tokenParameter(form: FormParams): string {
  const token = form.get('token');
  if (token === undefined || token === '') throw invalidRequest('TOKEN_MISSING', 'token is required');
  if (token.length > MAX_TOKEN_BYTES) throw invalidRequest('TOKEN_TOO_LARGE', 'token is larger than 8 KiB');
  return token;
}
