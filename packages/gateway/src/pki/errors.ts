/**
 * The PKI module's coded error (CONVENTIONS.md §4): a closed union of stable codes, never reused or
 * renamed. Messages name the failed check and, at most, a file path or an identifier that already passed
 * its syntax check: never key bytes, and never text copied from a peer's certificate, because a hostile
 * certificate must not be able to write into our logs (RFC 5280 fields are attacker-chosen on the wire).
 */
export type PkiErrorCode =
  /** The peer certificate carries no `urn:fleetgate:` SAN URI. */
  | 'PKI_NO_IDENTITY'
  /** The peer certificate carries more than one `urn:fleetgate:` SAN URI. */
  | 'PKI_AMBIGUOUS_IDENTITY'
  /** An identifier (vehicle or partner id, in an argument or a SAN URI) is not of the allowed form. */
  | 'PKI_INVALID_ID'
  /** Certificate bytes that cannot be parsed, exceed the size limit, or violate the profile. */
  | 'PKI_MALFORMED_CERTIFICATE'
  /** A certificate asserting CA:TRUE where an end-entity certificate is required. */
  | 'PKI_NOT_END_ENTITY'
  /** A caller-supplied argument is unusable: wrong key type, empty validity, bad DNS name or IP. */
  | 'PKI_INVALID_ARGUMENT'
  /** The issuing CA is missing, is not a CA, or its key does not match its certificate. */
  | 'PKI_CA_UNAVAILABLE'
  /** Files on disk contradict each other (a certificate without its key, a leaf from another CA). */
  | 'PKI_STATE_CONFLICT'
  /** A private-key file (or its folder) is readable by group or others, or is not a regular file. */
  | 'PKI_INSECURE_KEY_FILE'
  /**
   * A CA key cannot be used: its passphrase or PIN is missing or wrong, the encrypted key file is damaged
   * or was tampered with, the PKCS#11 module, token or key object is absent, or the token's key is not
   * sensitive and non-extractable (pki/keys/).
   */
  | 'PKI_KEY_UNAVAILABLE';

export class PkiError extends Error {
  readonly code: PkiErrorCode;

  constructor(code: PkiErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PkiError';
    this.code = code;
  }
}
