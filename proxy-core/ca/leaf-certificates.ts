import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import forge from 'node-forge';
import { randomSerial, signWithNodeCrypto, type CertificateAuthority } from './certificate-authority.js';

const { pki } = forge;
const DAY_MS = 24 * 3600_000;

/**
 * Issues a certificate per host name, signed by the local CA. All leaves share one key pair made
 * at start-up, so a host we have not seen costs one signature (about a millisecond), not an RSA
 * key generation. Contexts are cached, least recently used dropped first.
 */
export class LeafCertificates {
  private readonly contexts = new Map<string, SecureContext>();
  private readonly leafKeyPem: string;
  private readonly leafPublicKey: forge.pki.PublicKey;
  private readonly caKey: KeyObject;

  constructor(
    private readonly ca: CertificateAuthority,
    private readonly maxCached = 1000,
  ) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.leafKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    this.leafPublicKey = pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
    this.caKey = createPrivateKey(ca.keyPem);
  }

  /** A TLS context presenting a certificate valid for `host` (a DNS name or an IP address). */
  contextFor(host: string): SecureContext {
    const name = normalizeHost(host);
    const cached = this.contexts.get(name);
    if (cached) {
      this.contexts.delete(name);
      this.contexts.set(name, cached);
      return cached;
    }
    const context = createSecureContext({ key: this.leafKeyPem, cert: this.issuePem(name) });
    this.contexts.set(name, context);
    if (this.contexts.size > this.maxCached) {
      const oldest = this.contexts.keys().next().value;
      if (oldest !== undefined) this.contexts.delete(oldest);
    }
    return context;
  }

  /** The PEM certificate for `host`; exposed for tests and for export. */
  issuePem(host: string): string {
    const name = normalizeHost(host);
    const cert = pki.createCertificate();
    cert.publicKey = this.leafPublicKey;
    cert.serialNumber = randomSerial();
    const now = Date.now();
    cert.validity.notBefore = new Date(now - DAY_MS);
    // Under 398 days: the longest validity Apple and Chromium accept for a leaf.
    cert.validity.notAfter = new Date(now + 390 * DAY_MS);
    // Common names are limited to 64 characters; the SAN carries the real name.
    cert.setSubject([{ name: 'commonName', value: name.slice(0, 64) }]);
    cert.setIssuer(this.ca.cert.subject.attributes);
    const altName = isIP(name) ? { type: 7, ip: name } : { type: 2, value: name };
    cert.setExtensions([
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [altName] },
      { name: 'subjectKeyIdentifier' },
      { name: 'authorityKeyIdentifier', keyIdentifier: this.ca.cert.generateSubjectKeyIdentifier().getBytes() },
    ]);
    signWithNodeCrypto(cert, this.caKey);
    return pki.certificateToPem(cert);
  }
}

function normalizeHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare.toLowerCase();
}
