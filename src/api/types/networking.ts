/** networking.k8s.io/v1 Ingress and IngressClass. */
import { listOf, objectHeader } from './meta.js';
import { atomic, doc, i32, list, oneOf, type Static, str, stringList, struct } from './schema.js';

const NET = 'io.k8s.api.networking.v1';

export const ServiceBackendPort = struct(`${NET}.ServiceBackendPort`, 'A Service port, by name or number.', {
  name: str('Name of the Service port.'),
  number: i32('Number of the Service port.'),
});

export const IngressServiceBackend = struct(
  `${NET}.IngressServiceBackend`,
  'A Service that receives the traffic.',
  { name: str('Name of the Service, in the Ingress namespace.'), port: doc(ServiceBackendPort, 'Port of the Service.') },
  ['name'],
);

export const TypedLocalObjectReference = struct(
  'io.k8s.api.core.v1.TypedLocalObjectReference',
  'Names an object of a given kind in the same namespace.',
  { apiGroup: str('API group of the referent; empty for core.'), kind: str('Kind of the referent.'), name: str('Name of the referent.') },
  ['kind', 'name'],
  { 'x-kubernetes-map-type': 'atomic' },
);

export const IngressBackend = struct(`${NET}.IngressBackend`, 'Where matching traffic goes: a Service or another resource.', {
  service: IngressServiceBackend,
  resource: doc(TypedLocalObjectReference, 'A non-Service backend, such as a storage bucket.'),
});

export const HTTPIngressPath = struct(
  `${NET}.HTTPIngressPath`,
  'A path and the backend that serves it.',
  {
    path: str('Path to match; must begin with `/` for Prefix and Exact.'),
    pathType: oneOf(
      ['Exact', 'ImplementationSpecific', 'Prefix'],
      'How the path is matched: `Exact`, `Prefix` (by `/`-separated elements) or `ImplementationSpecific`.',
    ),
    backend: doc(IngressBackend, 'Where matching requests go.'),
  },
  ['pathType', 'backend'],
);

export const IngressRule = struct(`${NET}.IngressRule`, 'Routes for one host (or all hosts).', {
  host: str('Host name to match; a leading `*.` matches one label. Empty matches all hosts.'),
  http: struct(
    `${NET}.HTTPIngressRuleValue`,
    'HTTP routes of a rule.',
    { paths: list(HTTPIngressPath, 'Paths and their backends.', atomic) },
    ['paths'],
  ),
});

export const IngressTLS = struct(`${NET}.IngressTLS`, 'TLS settings for some hosts.', {
  hosts: stringList('Hosts the certificate covers.'),
  secretName: str('Secret holding the certificate and key.'),
});

export const IngressPortStatus = struct(
  `${NET}.IngressPortStatus`,
  'Status of one Ingress load balancer port.',
  { port: i32('Port number.'), protocol: oneOf(['SCTP', 'TCP', 'UDP'], 'IP protocol.'), error: str('CamelCase error, if any.') },
  ['port', 'protocol'],
);

export const IngressLoadBalancerIngress = struct(`${NET}.IngressLoadBalancerIngress`, 'An entry point of the Ingress load balancer.', {
  ip: str('IP address.'),
  hostname: str('DNS name.'),
  ports: list(IngressPortStatus, 'Status of the ports.', atomic),
});

export const IngressSpec = struct(`${NET}.IngressSpec`, 'Desired routing of an Ingress.', {
  ingressClassName: str('Name of the IngressClass; the default class when unset.'),
  defaultBackend: doc(IngressBackend, 'Backend for requests no rule matches.'),
  tls: list(IngressTLS, 'TLS configuration.', atomic),
  rules: list(IngressRule, 'Host and path rules.', atomic),
});

export const IngressStatus = struct(`${NET}.IngressStatus`, 'Observed state of an Ingress.', {
  loadBalancer: struct(`${NET}.IngressLoadBalancerStatus`, 'The load balancer of the Ingress.', {
    ingress: list(IngressLoadBalancerIngress, 'Entry points.', atomic),
  }),
});

export const Ingress = struct(`${NET}.Ingress`, 'HTTP(S) routing from outside the cluster to Services, by host and path.', {
  ...objectHeader,
  spec: doc(IngressSpec, 'Desired routing.'),
  status: doc(IngressStatus, 'Most recently observed state.'),
});
export type Ingress = Static<typeof Ingress>;
export const IngressList = listOf(`${NET}.IngressList`, 'Ingress', Ingress);

export const IngressClass = struct(`${NET}.IngressClass`, 'A kind of Ingress and the controller that implements it.', {
  ...objectHeader,
  spec: struct(`${NET}.IngressClassSpec`, 'Desired state of an IngressClass.', {
    controller: str('Name of the controller, e.g. `example.com/ingress-controller`.'),
    parameters: struct(
      `${NET}.IngressClassParametersReference`,
      'Controller-specific parameters.',
      {
        apiGroup: str('API group of the referent.'),
        kind: str('Kind of the referent.'),
        name: str('Name of the referent.'),
        scope: str('`Cluster` or `Namespace`.'),
        namespace: str('Namespace when scope is `Namespace`.'),
      },
      ['kind', 'name'],
    ),
  }),
});
export type IngressClass = Static<typeof IngressClass>;
export const IngressClassList = listOf(`${NET}.IngressClassList`, 'IngressClass', IngressClass);
