/**
 * The API server's transport-neutral request and response. The HTTPS front turns sockets into
 * these; the in-process client builds them directly, so both go through the same handler.
 */
import type { Readable } from 'node:stream';
import type { WatchEvent } from '../api/meta.js';

export interface ApiRequest {
  method: string;
  /** URL path, e.g. /api/v1/namespaces/default/services/web */
  path: string;
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  /** Raw body (JSON, YAML for apply patches). */
  body?: string;
  /** The raw bytes, for binary bodies (protobuf). */
  bodyBytes?: Buffer;
  /** Parsed body, when an in-process caller already has the object (skips JSON parsing). */
  bodyObject?: unknown;
  /** Authenticated user name. */
  user?: string;
}

export interface JsonResponse {
  kind: 'json';
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Warning headers (`Warning: 299 - "..."`). */
  warnings?: string[];
}

export interface WatchResponse {
  kind: 'watch';
  status: 200;
  events: AsyncIterable<WatchEvent<unknown>>;
  /** Stops the stream (client went away). */
  close(): void;
  warnings?: string[];
}

export interface RawResponse {
  kind: 'raw';
  status: number;
  contentType: string;
  body: string | Buffer;
  headers?: Record<string, string>;
}

/** A body streamed as it arrives (pods/log proxied from the node's kubelet, `follow` included). */
export interface StreamResponse {
  kind: 'stream';
  status: number;
  contentType: string;
  /** Destroyed when the client goes away. */
  body: Readable;
  headers?: Record<string, string>;
}

export type ApiResponse = JsonResponse | WatchResponse | RawResponse | StreamResponse;

/** What a resource URL names: /api/v1/namespaces/{ns}/{resource}/{name}/{subresource}. */
export interface ResourceRequestInfo {
  group: string;
  version: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/**
 * Parses a resource path. Returns undefined for non-resource paths (/version, /healthz, discovery…).
 * Cluster-scoped and namespaced shapes are told apart by the caller (it knows each resource's scope).
 */
export function parseResourcePath(path: string): ResourceRequestInfo | undefined {
  const parts = path.split('/').filter(Boolean);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  // namespaces/{ns}/{resource}... is a namespaced request, except namespaces/{name}[/{sub}] itself.
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && isNamespaceSubresource(rest[2]))) {
    const [, namespace, resource, name, subresource] = rest;
    return { group, version, resource, namespace: decodeURIComponent(namespace), name: name && decodeURIComponent(name), subresource };
  }
  const [resource, name, subresource] = rest;
  return { group, version, resource, name: name && decodeURIComponent(name), subresource };
}

function isNamespaceSubresource(s: string): boolean {
  return s === 'status' || s === 'finalize';
}

export function json(status: number, body: unknown, warnings?: string[]): JsonResponse {
  return { kind: 'json', status, body, warnings };
}
