/**
 * The local cluster's PKI: a self-signed CA and the API server's serving certificate, made once
 * at first start and reused afterwards (clients keep trusting the same CA across restarts).
 * ECDSA P-256 keeps generation at a few milliseconds, so `svcnet up` stays fast on a first run.
 */
import { generateKeyPairSync, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as X509 from '@peculiar/x509';

const EC: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const DAY_MS = 24 * 60 * 60 * 1000;

/** The DNS names every kube-apiserver certificate carries, so in-cluster clients can verify it. */
export const DEFAULT_DNS_SANS = [
  'localhost',
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
];

export interface PkiSans {
  /** Extra DNS names (the defaults above are always included). */
  dns?: string[];
  /** Extra IP addresses, e.g. the node bridge 172.18.0.1 and the `kubernetes` Service IP 10.96.0.1 (127.0.0.1 is always included). */
  ips?: string[];
}

export interface Pki {
  caCertPem: string;
  caKeyPem: string;
  certPem: string;
  keyPem: string;
  caCertPath: string;
  caKeyPath: string;
  certPath: string;
  keyPath: string;
}

const FILES = { caCert: 'ca.crt', caKey: 'ca.key', cert: 'apiserver.crt', key: 'apiserver.key' } as const;

/**
 * Loads the PKI from `dir` or creates it. The serving certificate is re-issued (by the same CA)
 * when it lacks one of the requested SANs or expires within 30 days, so adding a node address
 * later does not break clients. Keys are written 0600.
 */
export async function ensurePki(dir: string, opts: { sans?: PkiSans } = {}): Promise<Pki> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const paths = {
    caCertPath: join(dir, FILES.caCert),
    caKeyPath: join(dir, FILES.caKey),
    certPath: join(dir, FILES.cert),
    keyPath: join(dir, FILES.key),
  };
  const dnsNames = unique([...DEFAULT_DNS_SANS, ...(opts.sans?.dns ?? [])]);
  const ips = unique(['127.0.0.1', ...(opts.sans?.ips ?? [])]);

  let caCertPem: string;
  let caKeyPem: string;
  if (existsSync(paths.caCertPath) && existsSync(paths.caKeyPath)) {
    caCertPem = readFileSync(paths.caCertPath, 'utf8');
    caKeyPem = readFileSync(paths.caKeyPath, 'utf8');
  } else {
    ({ certPem: caCertPem, keyPem: caKeyPem } = await createCa('svcnet-ca'));
    writeFileSync(paths.caKeyPath, caKeyPem, { mode: 0o600 });
    writeFileSync(paths.caCertPath, caCertPem, { mode: 0o644 });
  }

  if (existsSync(paths.certPath) && existsSync(paths.keyPath)) {
    const certPem = readFileSync(paths.certPath, 'utf8');
    if (certCovers(certPem, caCertPem, dnsNames, ips)) {
      return { caCertPem, caKeyPem, certPem, keyPem: readFileSync(paths.keyPath, 'utf8'), ...paths };
    }
  }
  const serving = await issueServingCert({ caCertPem, caKeyPem, commonName: 'kube-apiserver', dnsNames, ips });
  writeFileSync(paths.keyPath, serving.keyPem, { mode: 0o600 });
  writeFileSync(paths.certPath, serving.certPem, { mode: 0o644 });
  return { caCertPem, caKeyPem, certPem: serving.certPem, keyPem: serving.keyPem, ...paths };
}

/** A self-signed CA certificate (10 years) and its PKCS#8 key, both PEM. */
export async function createCa(commonName: string, years = 10): Promise<{ certPem: string; keyPem: string }> {
  const x509 = await loadX509();
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + years * 365 * DAY_MS),
    keys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await keyToPem(keys.privateKey) };
}

export interface IssueOptions {
  caCertPem: string;
  caKeyPem: string;
  commonName: string;
  dnsNames?: string[];
  ips?: string[];
  /** Client certificates get clientAuth instead of serverAuth. */
  usage?: 'server' | 'client';
  /** Subject organization (for client certs: the Kubernetes group, e.g. system:masters). */
  organization?: string;
  days?: number;
}

/** Issues a leaf certificate signed by the CA; returns the certificate and its PKCS#8 key, PEM. */
export async function issueServingCert(o: IssueOptions): Promise<{ certPem: string; keyPem: string }> {
  const x509 = await loadX509();
  const ca = new x509.X509Certificate(o.caCertPem);
  const caKey = await pemToKey(o.caKeyPem);
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const names: X509.JsonGeneralName[] = [
    ...(o.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(o.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const usage = o.usage ?? 'server';
  const subject = o.organization ? `CN=${o.commonName}, O=${o.organization}` : `CN=${o.commonName}`;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: ca.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + (o.days ?? 365) * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey),
      ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await keyToPem(keys.privateKey) };
}

/** Loads the certificate library ahead of time (e.g. while other start-up work runs). */
export async function preloadPkiLibrary(): Promise<void> {
  await loadX509();
}

/**
 * The key that signs service account tokens (kube-apiserver's --service-account-signing-key-file):
 * an EC P-256 key in `dir/sa.key`, made on first use and written 0600.
 */
export function ensureServiceAccountKey(dir: string): string {
  const path = join(dir, 'sa.key');
  if (existsSync(path)) return readFileSync(path, 'utf8');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  writeFileSync(path, pem, { mode: 0o600 });
  return pem;
}

/** A random bearer token (32 bytes, base64url): unguessable and safe in headers and YAML. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Whether the stored serving certificate is still good for these names. Uses node:crypto only,
 * so a restart never loads @peculiar/x509 (its module graph costs more than generating keys).
 */
function certCovers(certPem: string, caCertPem: string, dnsNames: string[], ips: string[]): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caCertPem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    if (Date.parse(cert.validTo) - Date.now() < 30 * DAY_MS) return false;
    return (
      dnsNames.every((d) => cert.checkHost(d, { subject: 'never', wildcards: false }) === d) && ips.every((ip) => cert.checkIP(ip) === ip)
    );
  } catch {
    return false;
  }
}

async function keyToPem(key: CryptoKey): Promise<string> {
  const x509 = await loadX509();
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function pemToKey(pem: string): Promise<CryptoKey> {
  const x509 = await loadX509();
  const der = x509.PemConverter.decodeFirst(pem);
  return webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign']);
}

function serial(): string {
  // Positive (top bit clear), 16 bytes, as RFC 5280 recommends.
  const b = randomBytes(16);
  b[0] &= 0x7f;
  return b.toString('hex');
}

function unique(xs: string[]): string[] {
  return [...new Set(xs.filter(Boolean))];
}

// ---------------------------------------------------------------------------------------------
// Loading @peculiar/x509. Its dependency tsyringe throws at load time unless the Reflect
// metadata functions exist ("requires a reflect polyfill"); x509 does not rely on real
// design-time metadata for what we use, so a small WeakMap store suffices. It is installed only
// when absent (the `reflect-metadata` package would take over transparently), and x509 is
// imported lazily, after it: a static import would be evaluated before any code here runs.

let x509Lib: Promise<typeof X509> | undefined;

function loadX509(): Promise<typeof X509> {
  x509Lib ??= (async () => {
    installReflectMetadata();
    const mod = await import('@peculiar/x509');
    // Bundled, the CommonJS module's exports may sit under `default`.
    const lib = (mod.cryptoProvider ? mod : (mod as unknown as { default: typeof X509 }).default) as typeof X509;
    lib.cryptoProvider.set(webcrypto as unknown as Crypto);
    return lib;
  })();
  return x509Lib;
}

function installReflectMetadata(): void {
  const R = Reflect as unknown as Record<string, unknown>;
  for (const [name, fn] of Object.entries(reflectShim)) if (typeof R[name] !== 'function') R[name] = fn;
}

type Key = unknown;
/** target → property (undefined for the target itself) → metadata key → value */
const store = new WeakMap<object, Map<PropertyKey | undefined, Map<Key, unknown>>>();

function own(target: object, property: PropertyKey | undefined, create: boolean): Map<Key, unknown> | undefined {
  let byProp = store.get(target);
  if (!byProp) {
    if (!create) return undefined;
    byProp = new Map();
    store.set(target, byProp);
  }
  let m = byProp.get(property);
  if (!m && create) {
    m = new Map();
    byProp.set(property, m);
  }
  return m;
}

const reflectShim = {
  defineMetadata(key: Key, value: unknown, target: object, property?: PropertyKey): void {
    own(target, property, true)?.set(key, value);
  },
  getOwnMetadata(key: Key, target: object, property?: PropertyKey): unknown {
    return own(target, property, false)?.get(key);
  },
  getMetadata(key: Key, target: object, property?: PropertyKey): unknown {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t)) {
      const m = own(t, property, false);
      if (m?.has(key)) return m.get(key);
    }
    return undefined;
  },
  metadata(key: Key, value: unknown) {
    return (target: object, property?: PropertyKey) => reflectShim.defineMetadata(key, value, target, property);
  },
};
