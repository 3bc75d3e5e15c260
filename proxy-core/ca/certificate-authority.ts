import { generateKeyPairSync, createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile, chmod, rename } from 'node:fs/promises';
import { join } from 'node:path';
import forge from 'node-forge';
import { errorMessage } from '../../app/error-message.js';

const { pki, asn1, md } = forge;

/** The local certificate authority whose certificate users trust so Sluice can intercept TLS. */
export interface CertificateAuthority {
  readonly certPem: string;
  readonly keyPem: string;
  readonly certPath: string;
  readonly keyPath: string;
  /** The parsed certificate, for building leaves that name it as issuer. */
  readonly cert: forge.pki.Certificate;
}

export class CaFileError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'CaFileError';
  }
}

export const CA_CERT_FILE = 'ca.pem';
export const CA_KEY_FILE = 'ca-key.pem';

/**
 * Loads the CA from `dir`, creating it on first run. The key file is written 0600 and
 * re-tightened if someone loosened it. A CA that exists but cannot be read or parsed is an
 * error, never silently replaced: users have already trusted the old certificate.
 */
export async function loadOrCreateCa(dir: string): Promise<CertificateAuthority> {
  const certPath = join(dir, CA_CERT_FILE);
  const keyPath = join(dir, CA_KEY_FILE);
  await mkdir(dir, { recursive: true, mode: 0o700 });

  const [certPem, keyPem] = await Promise.all([readIfExists(certPath), readIfExists(keyPath)]);
  if (certPem === undefined && keyPem === undefined) {
    return createCa(certPath, keyPath);
  }
  if (certPem === undefined || keyPem === undefined) {
    const missing = certPem === undefined ? certPath : keyPath;
    throw new CaFileError(
      `CA file ${missing} is missing while its pair exists; restore it, or remove both to make a new CA`,
      missing,
    );
  }
  let cert: forge.pki.Certificate;
  try {
    cert = pki.certificateFromPem(certPem);
  } catch (err) {
    throw new CaFileError(`CA certificate ${certPath} cannot be parsed: ${errorMessage(err)}`, certPath);
  }
  try {
    createPrivateKey(keyPem);
  } catch (err) {
    throw new CaFileError(`CA key ${keyPath} cannot be parsed: ${errorMessage(err)}`, keyPath);
  }
  await chmod(keyPath, 0o600);
  return { certPem, keyPem, certPath, keyPath, cert };
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CaFileError(`cannot read CA file ${path}: ${errorMessage(err)}`, path);
  }
}

async function createCa(certPath: string, keyPath: string): Promise<CertificateAuthority> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();

  const cert = pki.createCertificate();
  cert.publicKey = pki.publicKeyFromPem(publicPem);
  cert.serialNumber = randomSerial();
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 24 * 3600_000);
  cert.validity.notAfter = new Date(now + 10 * 365 * 24 * 3600_000);
  const name = [
    { name: 'commonName', value: 'Sluice Local CA' },
    { name: 'organizationName', value: 'Sluice' },
    { shortName: 'OU', value: `generated ${new Date(now).toISOString().slice(0, 10)}` },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signWithNodeCrypto(cert, keyPem);
  const certPem = pki.certificateToPem(cert);

  // Write the key first and atomically, so a crash never leaves a certificate without its key.
  await writeAtomic(keyPath, keyPem, 0o600);
  await writeAtomic(certPath, certPem, 0o644);
  return { certPem, keyPem, certPath, keyPath, cert };
}

async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode, flag: 'wx' });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

/**
 * Signs a forge certificate with Node's native RSA. Forge's pure-JS signing costs tens of
 * milliseconds per leaf; native signing keeps a new host's first handshake fast. Forge knows only
 * RSA keys: a certificate for another kind of key is built around a stand-in and given
 * `subjectPublicKeyInfo` (DER) in its place before it is signed.
 */
export function signWithNodeCrypto(
  cert: forge.pki.Certificate,
  issuerKey: KeyObject | string,
  subjectPublicKeyInfo?: Buffer,
): void {
  const mutable = cert as forge.pki.Certificate & {
    signatureOid: string;
    siginfo: { algorithmOid: string; parameters: unknown };
    tbsCertificate: forge.asn1.Asn1;
    md: forge.md.MessageDigest;
  };
  const oid = pki.oids['sha256WithRSAEncryption'] as string;
  mutable.md = md.sha256.create();
  mutable.signatureOid = oid;
  mutable.siginfo = { algorithmOid: oid, parameters: {} };
  // getTBSCertificate exists in node-forge but is missing from its type definitions.
  const { getTBSCertificate } = pki as unknown as {
    getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1;
  };
  mutable.tbsCertificate = getTBSCertificate(cert);
  if (subjectPublicKeyInfo) {
    // TBSCertificate: version, serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, ...
    (mutable.tbsCertificate.value as forge.asn1.Asn1[])[6] = asn1.fromDer(subjectPublicKeyInfo.toString('binary'));
  }
  const tbsDer = Buffer.from(asn1.toDer(mutable.tbsCertificate).getBytes(), 'binary');
  cert.signature = sign('sha256', tbsDer, issuerKey).toString('binary');
}

export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive INTEGER
  return bytes.toString('hex');
}
