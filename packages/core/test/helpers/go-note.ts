/**
 * Known-answer data from golang.org/x/mod/sumdb/note (BSD-3-Clause): the package documentation's
 * example and note_test.go. Ed25519 is deterministic (RFC 8032), so signing the same text with the same
 * seed must reproduce the Go output byte for byte.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';

export const GO_SIGNER_KEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
export const GO_PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
export const GO_ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
export const GO_TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
export const GO_PETER_LINE =
  '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
export const GO_ENOCH_LINE =
  '\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';
export const GO_NOTE = `${GO_TEXT}\n${GO_PETER_LINE}`;
export const GO_DOUBLY_SIGNED_NOTE = `${GO_TEXT}\n${GO_PETER_LINE}${GO_ENOCH_LINE}`;

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The private key of GO_SIGNER_KEY: its base64 part is 0x01 || 32-byte seed. */
export function goSignerPrivateKey(): KeyObject {
  const encoded = Buffer.from(GO_SIGNER_KEY.split('+').slice(4).join('+'), 'base64');
  if (encoded.length !== 33 || encoded[0] !== 0x01) throw new Error('unexpected Go signer key');
  return createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, encoded.subarray(1)]),
    format: 'der',
    type: 'pkcs8',
  });
}
