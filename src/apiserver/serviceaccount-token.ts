/**
 * Service account tokens, as kube-apiserver issues and checks them: the `serviceaccounts/token`
 * subresource (TokenRequest, what `kubectl create token` posts) signs a JWT (ES256) with the
 * cluster's service-account key, and the bearer-token authenticator accepts such a JWT for as long
 * as it has not expired and the service account (and the object it is bound to, if any) still
 * exists with the same UID. The user is `system:serviceaccount:<namespace>:<name>`.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { badRequest, type FieldError, fieldErr, invalid, methodNotAllowed, StatusError } from '../api/errors.js';
import type { KubeObject } from '../api/meta.js';
import { TokenRequest } from '../api/types/authentication.js';
import { type Client, R } from '../client/types.js';
import type { ConnectHandler } from './handler.js';
import { decodeBody } from './machinery.js';
import { json } from './request.js';

/** kube-apiserver's default `--service-account-issuer` for a cluster.local cluster, also the API audience. */
export const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** TokenRequest's default and minimum validity (kube's ExpirationSeconds default and MinTokenAgeSec). */
const DEFAULT_EXPIRATION_SECONDS = 3600;
const MIN_EXPIRATION_SECONDS = 600;
const MAX_EXPIRATION_SECONDS = 2 ** 32;
/** Clock skew tolerated on `nbf` and `exp`, as kube's JWT validation allows. */
const LEEWAY_SECONDS = 60;

const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

/** The user name of a service account. */
export function serviceAccountUser(namespace: string, name: string): string {
  return `${SERVICE_ACCOUNT_PREFIX}${namespace}:${name}`;
}

/** The namespace and name of a service account user, if `user` is one. */
export function parseServiceAccountUser(user: string): { namespace: string; name: string } | undefined {
  if (!user.startsWith(SERVICE_ACCOUNT_PREFIX)) return undefined;
  const [namespace, name, ...rest] = user.slice(SERVICE_ACCOUNT_PREFIX.length).split(':');
  return namespace && name && rest.length === 0 ? { namespace, name } : undefined;
}

/** The private claims kube puts under `kubernetes.io`. */
interface KubernetesClaims {
  namespace: string;
  serviceaccount: { name: string; uid: string };
  pod?: { name: string; uid: string };
  secret?: { name: string; uid: string };
}

interface Claims {
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  iss: string;
  sub: string;
  jti?: string;
  'kubernetes.io': KubernetesClaims;
}

const b64 = (data: string | Buffer) => Buffer.from(data).toString('base64url');

/** Kinds a token may be bound to, and where they are read. */
const BINDABLE = { Pod: R.pods, Secret: R.secrets } as const;

export class ServiceAccountTokens {
  readonly #key: KeyObject;
  readonly #publicKey: KeyObject;
  /** kube's key ID: base64url(SHA-256(DER public key)). */
  readonly #kid: string;

  constructor(
    keyPem: string,
    /** Reads service accounts and bound objects (an in-process client). */
    private readonly client: Pick<Client, 'get'>,
    readonly issuer = DEFAULT_ISSUER,
    private readonly now: () => number = Date.now,
  ) {
    this.#key = createPrivateKey(keyPem);
    this.#publicKey = createPublicKey(this.#key);
    this.#kid = b64(
      createHash('sha256')
        .update(this.#publicKey.export({ type: 'spki', format: 'der' }))
        .digest(),
    );
  }

  /** The `serviceaccounts/token` subresource: POST a TokenRequest, get it back with a token. */
  readonly connect: ConnectHandler = async (req, res, namespace, name) => {
    if (req.method.toUpperCase() !== 'POST') throw methodNotAllowed('the server does not allow this method on the requested resource');
    const info = { ...res.info, group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', schema: TokenRequest };
    const { object, warnings } = decodeBody(req, { info: info as typeof res.info });
    const tr = object as unknown as TokenRequest & KubeObject;
    const spec = tr.spec ?? {};
    const expirationSeconds = spec.expirationSeconds || DEFAULT_EXPIRATION_SECONDS;
    const errs: FieldError[] = [];
    if (expirationSeconds < MIN_EXPIRATION_SECONDS)
      errs.push(fieldErr.invalid('spec.expirationSeconds', expirationSeconds, 'may not specify a duration less than 10 minutes'));
    if (expirationSeconds > MAX_EXPIRATION_SECONDS)
      errs.push(fieldErr.invalid('spec.expirationSeconds', expirationSeconds, 'may not specify a duration larger than 2^32 seconds'));
    if (errs.length) throw invalid('TokenRequest', name, errs, 'authentication.k8s.io');
    const sa = await this.client.get(R.serviceaccounts, name, namespace);
    const claims: KubernetesClaims = { namespace, serviceaccount: { name, uid: sa.metadata.uid ?? '' } };
    const bound = spec.boundObjectRef;
    if (bound?.kind || bound?.name) {
      const gvr = BINDABLE[bound.kind as keyof typeof BINDABLE];
      if (!gvr) throw badRequest(`cannot bind token for serviceaccount "${name}" to object of kind "${bound.kind ?? ''}"`);
      const target = await this.client.get(gvr, bound.name ?? '', namespace);
      if (bound.uid && bound.uid !== target.metadata.uid) {
        throw badRequest(
          `the UID in the bound object reference (${bound.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
        );
      }
      claims[bound.kind === 'Pod' ? 'pod' : 'secret'] = { name: target.metadata.name ?? '', uid: target.metadata.uid ?? '' };
    }
    const audiences = spec.audiences?.length ? spec.audiences : [this.issuer];
    const now = Math.floor(this.now() / 1000);
    const token = this.sign({
      aud: audiences,
      exp: now + expirationSeconds,
      iat: now,
      iss: this.issuer,
      nbf: now,
      sub: serviceAccountUser(namespace, name),
      'kubernetes.io': claims,
    });
    const response = {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name, namespace, creationTimestamp: null },
      spec: { audiences, expirationSeconds, boundObjectRef: bound ?? null },
      status: { token, expirationTimestamp: new Date((now + expirationSeconds) * 1000).toISOString().replace('.000Z', 'Z') },
    };
    return json(201, response, warnings);
  };

  /**
   * The user a bearer token names, if it is a token this cluster issued for its API (audience),
   * not expired, whose service account and bound object still exist with the UIDs it names.
   */
  async authenticate(token: string): Promise<string | undefined> {
    const claims = this.verify(token);
    if (!claims) return undefined;
    const k = claims['kubernetes.io'];
    const sameObject = async (gvr: (typeof R)[keyof typeof R], ref: { name: string; uid: string }) => {
      try {
        return (await this.client.get(gvr, ref.name, k.namespace)).metadata.uid === ref.uid;
      } catch (e) {
        if (e instanceof StatusError && e.code === 404) return false;
        throw e;
      }
    };
    if (!(await sameObject(R.serviceaccounts, k.serviceaccount))) return undefined;
    if (k.pod && !(await sameObject(R.pods, k.pod))) return undefined;
    if (k.secret && !(await sameObject(R.secrets, k.secret))) return undefined;
    return claims.sub;
  }

  /** The claims of a well-formed, correctly signed, current token for this API; undefined otherwise. */
  verify(token: string): Claims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [head, body, signature] = parts as [string, string, string];
    try {
      const header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8'));
      if (header.alg !== 'ES256' || (header.kid !== undefined && header.kid !== this.#kid)) return undefined;
      const signed = verify(
        'sha256',
        Buffer.from(`${head}.${body}`),
        { key: this.#publicKey, dsaEncoding: 'ieee-p1363' },
        Buffer.from(signature, 'base64url'),
      );
      if (!signed) return undefined;
      const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Claims;
      const now = Math.floor(this.now() / 1000);
      if (claims.iss !== this.issuer || !Array.isArray(claims.aud) || !claims.aud.includes(this.issuer)) return undefined;
      if (!(claims.exp + LEEWAY_SECONDS > now) || claims.nbf - LEEWAY_SECONDS > now) return undefined;
      const k = claims['kubernetes.io'];
      if (!k?.serviceaccount?.name || claims.sub !== serviceAccountUser(k.namespace, k.serviceaccount.name)) return undefined;
      return claims;
    } catch {
      return undefined;
    }
  }

  private sign(claims: Claims): string {
    const signingInput = `${b64(JSON.stringify({ alg: 'ES256', kid: this.#kid }))}.${b64(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(signingInput), { key: this.#key, dsaEncoding: 'ieee-p1363' });
    return `${signingInput}.${b64(signature)}`;
  }
}
