/**
 * HTTP routes for OpenAPI v3: the index kubectl reads first, then one document per group/version
 * (with an ETag so kubectl's If-None-Match gets a 304).
 */
import { StatusError } from '../api/errors.js';
import { openapiV3Index, openapiV3Response } from './openapi.js';
import type { ApiRequest, ApiResponse } from './request.js';
import { json } from './request.js';

export function openapiIndexResponse(): ApiResponse {
  return json(200, openapiV3Index());
}

/** GET /openapi/v3/<group-version path>, e.g. api/v1 or apis/apps/v1. */
export function openapiDocumentResponse(groupVersionPath: string, req: ApiRequest): ApiResponse {
  const doc = openapiV3Response(groupVersionPath);
  if (!doc) {
    const e = new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
    return json(404, e.toStatus());
  }
  const headers = { ETag: doc.etag, 'Cache-Control': 'public, immutable' };
  if (req.headers['if-none-match'] === doc.etag) return { kind: 'raw', status: 304, contentType: 'application/json', body: '', headers };
  return { kind: 'raw', status: 200, contentType: 'application/json', body: doc.body, headers };
}
