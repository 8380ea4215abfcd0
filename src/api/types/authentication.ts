/**
 * authentication.k8s.io/v1: SelfSubjectReview, who the API server takes the caller to be (`kubectl
 * auth whoami`), TokenRequest, a service account token (`kubectl create token`), and TokenReview,
 * whether a bearer token is valid and whose it is (what webhook authenticators ask).
 */
import { objectHeader } from './meta.js';
import { bool, i64, mapOf, type Static, str, stringList, struct, Time } from './schema.js';

const AUTHN = 'io.k8s.api.authentication.v1';

export const UserInfo = struct(`${AUTHN}.UserInfo`, 'The information about a user that the authenticator reports.', {
  username: str('The name that uniquely identifies this user among all active users.'),
  uid: str('A unique value that identifies this user across time.'),
  groups: stringList('The names of groups this user is a part of.'),
  extra: mapOf(stringList('Values of one extra attribute.'), 'Any additional information provided by the authenticator.'),
});
export type UserInfo = Static<typeof UserInfo>;

export const SelfSubjectReview = struct(
  `${AUTHN}.SelfSubjectReview`,
  'Returns the user attributes the API server assigned to the caller when authenticating the request.',
  {
    ...objectHeader,
    status: struct(`${AUTHN}.SelfSubjectReviewStatus`, 'Filled in by the server with the user attributes.', {
      userInfo: UserInfo,
    }),
  },
);
export type SelfSubjectReview = Static<typeof SelfSubjectReview>;

export const BoundObjectReference = struct(`${AUTHN}.BoundObjectReference`, 'An object a token is bound to.', {
  kind: str("Kind of the referent. Valid kinds are 'Pod' and 'Secret'."),
  apiVersion: str('API version of the referent.'),
  name: str('Name of the referent.'),
  uid: str('UID of the referent.'),
});

export const TokenRequest = struct(`${AUTHN}.TokenRequest`, 'TokenRequest requests a token for a given service account.', {
  ...objectHeader,
  spec: struct(`${AUTHN}.TokenRequestSpec`, 'Information about the request being evaluated.', {
    audiences: stringList(
      'Audiences are the intendend audiences of the token. A recipient of a token must identify themself with an identifier in the list of audiences of the token, and otherwise should reject the token. A token issued for multiple audiences may be used to authenticate against any of the audiences listed but implies a high degree of trust between the target audiences.',
    ),
    expirationSeconds: i64(
      "ExpirationSeconds is the requested duration of validity of the request. The token issuer may return a token with a different validity duration so a client needs to check the 'expiration' field in a response.",
    ),
    boundObjectRef: BoundObjectReference,
  }),
  status: struct(`${AUTHN}.TokenRequestStatus`, 'Filled in by the server and indicates whether the token can be authenticated.', {
    token: str('Token is the opaque bearer token.'),
    expirationTimestamp: Time,
  }),
});
export type TokenRequest = Static<typeof TokenRequest>;

export const TokenReview = struct(
  `${AUTHN}.TokenReview`,
  'TokenReview attempts to authenticate a token to a known user.',
  {
    ...objectHeader,
    spec: struct(`${AUTHN}.TokenReviewSpec`, 'A description of the token authentication request.', {
      token: str('Token is the opaque bearer token.'),
      audiences: stringList(
        'Audiences is a list of the identifiers that the resource server presented with the token identifies as. Audience-aware token authenticators will verify that the token was intended for at least one of the audiences in this list. If no audiences are provided, the audience will default to the audience of the Kubernetes apiserver.',
      ),
    }),
    status: struct(`${AUTHN}.TokenReviewStatus`, 'The result of the token authentication request.', {
      authenticated: bool('Authenticated indicates that the token was associated with a known user.'),
      user: UserInfo,
      audiences: stringList(
        'Audiences are audience identifiers chosen by the authenticator that are compatible with both the TokenReview and token.',
      ),
      error: str("Error indicates that the token couldn't be checked"),
    }),
  },
  ['spec'],
);
export type TokenReview = Static<typeof TokenReview>;
