import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import forge from 'node-forge';
import { randomSerial, signWithNodeCrypto, type CertificateAuthority } from './certificate-authority.js';

const { pki } = forge;
const DAY_MS = 24 * 3600_000;

/**
 * Issues a certificate per host name, signed by the local CA. All leaves share one key pair made
 * at start-up, so a host we have not seen costs one signature (about a millisecond), not a key
 * generation. Contexts are cached, least recently used dropped first.
 *
 * The leaves' key is ECDSA P-256, not RSA: every client handshake Sluice answers is signed with
 * it, and an RSA-2048 signature costs about a millisecond of the proxy's CPU (0.96 ms here,
 * `openssl speed`) where P-256 costs 0.03 ms. A burst of a thousand TLS connections (a page, a
 * load test, a thousand SSE clients) spent a second signing. Every TLS client Sluice serves takes
 * P-256 leaves; the CA stays RSA, as trust stores hold it. (`keyType: 'rsa'` is for stand-in
 * upstreams, the bench's, that should present what many servers still do.)
 */
export class LeafCertificates {
  private readonly contexts = new Map<string, SecureContext>();
  private readonly leafKeyPem: string;
  /** The leaves' public key as certificates carry it (forge cannot make one for an EC key). */
  private readonly leafPublicKeyInfo: Buffer;
  private readonly leafKeyIdentifier: string;
  /** The CA's key identifier, as forge computes it (a SHA-1 in JavaScript): once, not per host. */
  private readonly caKeyIdentifier: string;
  private readonly caKey: KeyObject;

  constructor(
    private readonly ca: CertificateAuthority,
    private readonly maxCached = 1000,
    private readonly keyType: 'ec' | 'rsa' = 'ec',
  ) {
    const { privateKey, publicKey } =
      keyType === 'ec'
        ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.leafKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    this.leafPublicKeyInfo = publicKey.export({ type: 'spki', format: 'der' });
    this.leafKeyIdentifier = keyIdentifier(this.leafPublicKeyInfo);
    this.caKeyIdentifier = ca.cert.generateSubjectKeyIdentifier().getBytes();
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
    // A stand-in forge can encode; signWithNodeCrypto puts the leaves' EC key in its place.
    cert.publicKey = this.ca.cert.publicKey;
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
      // An EC key signs; it never enciphers a key (RFC 5480 section 3).
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: this.keyType === 'rsa', critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [altName] },
      {
        name: 'subjectKeyIdentifier',
        value: forge.asn1.create(
          forge.asn1.Class.UNIVERSAL,
          forge.asn1.Type.OCTETSTRING,
          false,
          forge.util.hexToBytes(this.leafKeyIdentifier),
        ),
      },
      { name: 'authorityKeyIdentifier', keyIdentifier: this.caKeyIdentifier },
    ]);
    signWithNodeCrypto(cert, this.caKey, this.leafPublicKeyInfo);
    return pki.certificateToPem(cert);
  }
}

/**
 * RFC 5280 section 4.2.1.2, method 1: the SHA-1 of the subjectPublicKey BIT STRING's bytes (after
 * the byte counting its unused bits).
 */
function keyIdentifier(spki: Buffer): string {
  // Not decoded: forge would otherwise parse an RSA key's bits as the ASN.1 they hold. (It takes
  // these options; its type definitions know only a `strict` flag.)
  const fromDer = forge.asn1.fromDer as unknown as (der: string, options: object) => forge.asn1.Asn1;
  const info = fromDer(spki.toString('binary'), { decodeBitStrings: false });
  const [, subjectPublicKey] = info.value as forge.asn1.Asn1[];
  const bits = Buffer.from(subjectPublicKey!.value as string, 'binary');
  return createHash('sha1').update(bits.subarray(1)).digest('hex');
}

function normalizeHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare.toLowerCase();
}
