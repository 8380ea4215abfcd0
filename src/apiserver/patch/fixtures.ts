/** Small hand-written schemas (shaped like kube's OpenAPI) used by this folder's tests. */
import type { JsonSchema } from './schema.js';

const str: JsonSchema = { type: 'string' };
const int: JsonSchema = { type: 'integer' };
const stringMap: JsonSchema = { type: 'object', additionalProperties: str };

export const metadataSchema: JsonSchema = {
  type: 'object',
  properties: {
    name: str,
    namespace: str,
    labels: stringMap,
    annotations: stringMap,
    finalizers: { type: 'array', items: str, 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'set' },
    managedFields: { type: 'array', items: { type: 'object' }, 'x-kubernetes-list-type': 'atomic' },
  },
};

export const servicePortSchema: JsonSchema = {
  type: 'object',
  properties: {
    name: str,
    protocol: { type: 'string', default: 'TCP' },
    port: int,
    targetPort: { anyOf: [int, str] },
    nodePort: int,
  },
};

export const serviceSchema: JsonSchema = {
  type: 'object',
  properties: {
    apiVersion: str,
    kind: str,
    metadata: metadataSchema,
    spec: {
      type: 'object',
      properties: {
        ports: {
          type: 'array',
          items: servicePortSchema,
          'x-kubernetes-patch-strategy': 'merge',
          'x-kubernetes-patch-merge-key': 'port',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['port', 'protocol'],
        },
        selector: { ...stringMap, 'x-kubernetes-map-type': 'atomic' },
        type: str,
        clusterIP: str,
        externalIPs: { type: 'array', items: str, 'x-kubernetes-list-type': 'atomic' },
      },
    },
  },
};

const envVar: JsonSchema = { type: 'object', properties: { name: str, value: str } };
const container: JsonSchema = {
  type: 'object',
  properties: {
    name: str,
    image: str,
    env: { type: 'array', items: envVar, 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-patch-merge-key': 'name' },
    ports: {
      type: 'array',
      items: { type: 'object', properties: { containerPort: int, protocol: { type: 'string', default: 'TCP' } } },
      'x-kubernetes-patch-strategy': 'merge',
      'x-kubernetes-patch-merge-key': 'containerPort',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['containerPort', 'protocol'],
    },
  },
};

export const deploymentSchema: JsonSchema = {
  type: 'object',
  properties: {
    apiVersion: str,
    kind: str,
    metadata: metadataSchema,
    spec: {
      type: 'object',
      properties: {
        replicas: int,
        strategy: {
          type: 'object',
          'x-kubernetes-patch-strategy': 'retainKeys',
          properties: {
            type: str,
            rollingUpdate: { type: 'object', properties: { maxSurge: { anyOf: [int, str] }, maxUnavailable: { anyOf: [int, str] } } },
          },
        },
        template: {
          type: 'object',
          properties: {
            metadata: metadataSchema,
            spec: {
              type: 'object',
              properties: {
                containers: {
                  type: 'array',
                  items: container,
                  'x-kubernetes-patch-strategy': 'merge',
                  'x-kubernetes-patch-merge-key': 'name',
                  'x-kubernetes-list-type': 'map',
                  'x-kubernetes-list-map-keys': ['name'],
                },
              },
            },
          },
        },
      },
    },
  },
};
