/** authentication.k8s.io/v1 SelfSubjectReview: who the API server takes the caller to be (`kubectl auth whoami`). */
import { objectHeader } from './meta.js';
import { mapOf, type Static, str, stringList, struct } from './schema.js';

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
