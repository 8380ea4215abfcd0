/**
 * The errors kube-apiserver's patch handler returns, with its codes and wording
 * (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go and apimachinery's mergepatch).
 */
import { StatusError, type StatusReason } from '../../api/errors.js';

/**
 * 422 from `errors.NewGenericServerResponse(422, ...)`: kube answers a JSON patch that fails to
 * apply (failed `test`, missing path) and some strategic-merge failures with this fixed text and
 * empty details; the underlying reason is not sent to the client. We keep it as `cause` for logs.
 */
export function patchNotApplicable(why: string): StatusError {
  const err = new StatusError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
  (err as Error).cause = why;
  return err;
}

/**
 * A plain Go error that reaches the handler unconverted: kube-apiserver turns it into a 500
 * Status with the error text as message and an empty (omitted) reason.
 */
export function unconvertedError(message: string): StatusError {
  return new StatusError(500, '' as StatusReason, message);
}

/** apimachinery/pkg/util/mergepatch error texts. */
export const mergepatchErrors = {
  badJSONDoc: 'invalid JSON document',
  noListOfLists: 'lists of lists are not supported',
  badPatchFormatForPrimitiveList: 'invalid patch format of primitive list',
  badPatchFormatForRetainKeys: 'invalid patch format of retainKeys',
  badPatchFormatForSetElementOrderList: 'invalid patch format of setElementOrder list',
  patchContentNotMatchRetainKeys: "patch content doesn't match retainKeys list",
  unsupportedStrategicMergePatchFormat: 'strategic merge patch format is not supported',
} as const;

/** Go's json.Unmarshal type-mismatch text, e.g. `json: cannot unmarshal array into Go value of type map[string]interface {}`. */
export function goUnmarshalTypeError(value: unknown, goType: string): string {
  const kind = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value === 'object' ? 'object' : typeof value;
  return `json: cannot unmarshal ${kind} into Go value of type ${goType}`;
}

/** Rough equivalent of Go's encoding/json syntax error text for a JSON.parse failure. */
export function goSyntaxError(text: string, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/end of JSON input/i.test(msg) || text.trim() === '') return 'unexpected end of JSON input';
  const m = /position (\d+)/.exec(msg);
  const ch = m ? text[Number(m[1])] : /token '?(.)/.exec(msg)?.[1];
  return ch ? `invalid character '${ch}' looking for beginning of value` : msg;
}

/** Parses JSON text, throwing a 400 BadRequest worded like Go's decoder on failure. */
export function parseJsonBody(text: string, prefix = ''): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new StatusError(400, 'BadRequest', `${prefix}${goSyntaxError(text, e)}`);
  }
}
