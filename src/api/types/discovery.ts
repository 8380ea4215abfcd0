/** discovery.k8s.io/v1 EndpointSlice. */
import { ObjectReference } from './core.js';
import { listOf, objectHeader } from './meta.js';
import { atomic, bool, doc, i32, list, oneOf, type Static, set, str, stringList, stringMap, struct } from './schema.js';

const DISC = 'io.k8s.api.discovery.v1';

export const EndpointConditions = struct(`${DISC}.EndpointConditions`, 'The state of an endpoint.', {
  ready: bool('Ready to receive traffic; unset means ready. False while the pod terminates.'),
  serving: bool('Passing readiness checks, even while terminating.'),
  terminating: bool('The endpoint is terminating.'),
});

export const EndpointHints = struct(`${DISC}.EndpointHints`, 'Topology hints for routing.', {
  forZones: list(
    struct(`${DISC}.ForZone`, 'A zone that should use this endpoint.', { name: str('Zone name.') }, ['name']),
    'Zones that should use this endpoint.',
    atomic,
  ),
  forNodes: list(
    struct(`${DISC}.ForNode`, 'A node that should use this endpoint.', { name: str('Node name.') }, ['name']),
    'Nodes that should use this endpoint.',
    atomic,
  ),
});

export const Endpoint = struct(
  `${DISC}.Endpoint`,
  'One backend of a Service.',
  {
    addresses: stringList('Addresses of the endpoint; consumers use the first.', set),
    conditions: EndpointConditions,
    hostname: str('Hostname of the endpoint (for DNS records of headless Services).'),
    targetRef: doc(ObjectReference, 'The object (usually a Pod) behind the endpoint.'),
    deprecatedTopology: stringMap('Deprecated topology labels.'),
    nodeName: str('Node hosting the endpoint.'),
    zone: str('Zone of the endpoint.'),
    hints: EndpointHints,
  },
  ['addresses'],
);

export const SliceEndpointPort = struct(
  `${DISC}.EndpointPort`,
  'A port served by the endpoints of a slice.',
  {
    name: str('Name of the port; matches the ServicePort name.'),
    protocol: oneOf(['SCTP', 'TCP', 'UDP'], 'IP protocol; TCP by default.'),
    port: i32('Port number; unset means all ports.'),
    appProtocol: str('Application protocol of the port.'),
  },
  [],
  { 'x-kubernetes-map-type': 'atomic' },
);

export const EndpointSlice = struct(
  `${DISC}.EndpointSlice`,
  'A subset of the endpoints of a Service, labelled `kubernetes.io/service-name`.',
  {
    ...objectHeader,
    addressType: oneOf(['FQDN', 'IPv4', 'IPv6'], 'Type of the addresses in this slice.'),
    endpoints: list(Endpoint, 'The endpoints, at most 1000.', atomic),
    ports: list(SliceEndpointPort, 'Ports served by every endpoint of the slice.', atomic),
  },
  ['addressType', 'endpoints'],
);
export type EndpointSlice = Static<typeof EndpointSlice>;
export const EndpointSliceList = listOf(`${DISC}.EndpointSliceList`, 'EndpointSlice', EndpointSlice);
