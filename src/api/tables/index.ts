/**
 * Server-side printing: the meta.k8s.io/v1 Table kube-apiserver returns when kubectl asks for
 * `as=Table`. Columns, priorities (1 = `-o wide` only) and cell text follow
 * pkg/printers/internalversion/printers.go, so `kubectl get` output looks as it does against a
 * real cluster. Wide cells are always filled, as the apiserver does; kubectl hides them.
 */

import { ageSince } from '../duration.js';
import { formatLabels, type LabelSelector, labelSelectorAsSelector, selectorToString } from '../labels.js';
import type { KubeObject, ObjectMeta } from '../meta.js';

/* biome-ignore-start lint/suspicious/noExplicitAny: printed bodies are loosely typed JSON here */
type Json = any;
/* biome-ignore-end lint/suspicious/noExplicitAny: printed bodies are loosely typed JSON here */

export interface TableColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface TableRowCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface PartialObjectMetadata {
  kind: 'PartialObjectMetadata';
  apiVersion: 'meta.k8s.io/v1';
  metadata: ObjectMeta;
}

export interface TableRow {
  cells: unknown[];
  conditions?: TableRowCondition[];
  /** As `includeObject` asks: the object's metadata (the default), the whole object, or absent. */
  object?: PartialObjectMetadata | KubeObject;
}

/** metav1.TableOptions' includeObject: what each row carries besides its cells. */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  /** null when headers were not asked for (watch events after the first). */
  columnDefinitions: TableColumnDefinition[] | null;
  rows: TableRow[];
}

export interface TableOptions {
  now: Date;
  /** Omit column definitions (kube sends them only with the first watch event). */
  noHeaders?: boolean;
  /** The list's resourceVersion, copied into the Table's metadata. */
  resourceVersion?: string;
  /** What each row carries (default Metadata); kubectl asks for Object to `--sort-by` a field. */
  includeObject?: IncludeObject;
}

const NAME_DESCRIPTION =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';
const AGE_DESCRIPTION =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

function col(name: string, description: string, opts: { type?: string; format?: string; priority?: number } = {}): TableColumnDefinition {
  return { name, type: opts.type ?? 'string', format: opts.format ?? '', description, priority: opts.priority ?? 0 };
}
const nameCol = () => col('Name', NAME_DESCRIPTION, { format: 'name' });
const ageCol = () => col('Age', AGE_DESCRIPTION);
const wide = (name: string, description: string, type = 'string') => col(name, description, { priority: 1, type });

interface Printer {
  columns: TableColumnDefinition[];
  /** Cells for one object, plus row conditions where the printer sets them. */
  row(obj: Json, now: Date): { cells: unknown[]; conditions?: TableRowCondition[] };
}

const age = (obj: Json, now: Date) => ageSince(obj.metadata?.creationTimestamp, now);

// ---------------------------------------------------------------------------------------------
// Services

function loadBalancerStatusText(ingress: Json[] | undefined): string {
  return (ingress ?? [])
    .map((i) => i.ip || i.hostname || '')
    .filter(Boolean)
    .join(',');
}

/** The EXTERNAL-IP column: `<none>`, `<pending>` for an unserved LoadBalancer, the CNAME for ExternalName. */
export function serviceExternalIP(svc: Json): string {
  const s = svc.spec ?? {};
  const externalIPs: string[] = s.externalIPs ?? [];
  switch (s.type) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = loadBalancerStatusText(svc.status?.loadBalancer?.ingress);
      if (externalIPs.length) return [...(lb ? lb.split(',') : []), ...externalIPs].join(',');
      return lb || '<pending>';
    }
    case 'ExternalName':
      return s.externalName ?? '';
  }
  return '<unknown>';
}

/** PORT(S): `80/TCP`, `80:30080/TCP` with a node port, comma-joined. */
export function servicePorts(ports: Json[] | undefined): string {
  return (ports ?? []).map((p) => (p.nodePort > 0 ? `${p.port}:${p.nodePort}/${p.protocol}` : `${p.port}/${p.protocol}`)).join(',');
}

const servicePrinter: Printer = {
  columns: [
    nameCol(),
    col('Type', 'type determines how the Service is exposed. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer.'),
    col('Cluster-IP', 'clusterIP is the IP address of the service, usually assigned randomly by the master.'),
    col('External-IP', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'),
    col('Port(s)', 'The list of ports that are exposed by this service.'),
    ageCol(),
    wide('Selector', 'Route service traffic to pods with label keys and values matching this selector.'),
  ],
  row(svc, now) {
    const s = svc.spec ?? {};
    const clusterIP = s.clusterIPs?.length ? s.clusterIPs[0] : '<none>';
    return {
      cells: [
        svc.metadata.name,
        s.type,
        clusterIP,
        serviceExternalIP(svc),
        servicePorts(s.ports) || '<none>',
        age(svc, now),
        formatLabels(s.selector),
      ],
    };
  },
};

// ---------------------------------------------------------------------------------------------
// Pods

const isRestartableInit = (c: Json) => c?.restartPolicy === 'Always';
const conditionTrue = (conds: Json[] | undefined, type: string) => (conds ?? []).some((c) => c.type === type && c.status === 'True');

function later(a: string | undefined, b: string | undefined): string | undefined {
  if (!b) return a;
  if (!a) return b;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

/** The pod STATUS/READY/RESTARTS logic of kube's printPod. */
export function podStatus(pod: Json, now: Date): { ready: string; reason: string; restarts: string } {
  const spec = pod.spec ?? {};
  const status = pod.status ?? {};
  let restarts = 0;
  let restartableInitRestarts = 0;
  let total = (spec.containers ?? []).length;
  let ready = 0;
  let lastRestart: string | undefined;
  let lastRestartableInitRestart: string | undefined;
  let reason: string = status.reason || status.phase || '';
  for (const c of status.conditions ?? []) if (c.type === 'PodScheduled' && c.reason === 'SchedulingGated') reason = 'SchedulingGated';

  const initByName = new Map<string, Json>();
  for (const c of spec.initContainers ?? []) {
    initByName.set(c.name, c);
    if (isRestartableInit(c)) total++;
  }
  const initStatuses: Json[] = status.initContainerStatuses ?? [];
  let initializing = false;
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i];
    restarts += cs.restartCount ?? 0;
    const finished = cs.lastState?.terminated?.finishedAt;
    lastRestart = later(lastRestart, finished);
    const restartable = isRestartableInit(initByName.get(cs.name));
    if (restartable) {
      restartableInitRestarts += cs.restartCount ?? 0;
      lastRestartableInitRestart = later(lastRestartableInitRestart, finished);
    }
    const term = cs.state?.terminated;
    const waiting = cs.state?.waiting;
    if (term && term.exitCode === 0) continue;
    if (restartable && cs.started) {
      if (cs.ready) ready++;
      continue;
    }
    if (term) reason = term.reason ? `Init:${term.reason}` : term.signal ? `Init:Signal:${term.signal}` : `Init:ExitCode:${term.exitCode}`;
    else if (waiting?.reason && waiting.reason !== 'PodInitializing') reason = `Init:${waiting.reason}`;
    else reason = `Init:${i}/${(spec.initContainers ?? []).length}`;
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(status.conditions, 'Initialized')) {
    restarts = restartableInitRestarts;
    lastRestart = lastRestartableInitRestart;
    let hasRunning = false;
    const statuses: Json[] = status.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i];
      restarts += cs.restartCount ?? 0;
      lastRestart = later(lastRestart, cs.lastState?.terminated?.finishedAt);
      const waiting = cs.state?.waiting;
      const term = cs.state?.terminated;
      if (waiting?.reason) reason = waiting.reason;
      else if (term?.reason) reason = term.reason;
      else if (term) reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode}`;
      else if (cs.ready && cs.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    // A completed container next to a running one does not make the pod Completed.
    if (reason === 'Completed' && hasRunning) reason = conditionTrue(status.conditions, 'Ready') ? 'Running' : 'NotReady';
  }

  const terminal = status.phase === 'Succeeded' || status.phase === 'Failed';
  if (pod.metadata?.deletionTimestamp && status.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata?.deletionTimestamp && !terminal) reason = 'Terminating';

  const restartsText = restarts !== 0 && lastRestart ? `${restarts} (${ageSince(lastRestart, now)} ago)` : String(restarts);
  return { ready: `${ready}/${total}`, reason, restarts: restartsText };
}

const podPrinter: Printer = {
  columns: [
    nameCol(),
    col('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
    col('Status', 'The aggregate status of the containers in this pod.'),
    col(
      'Restarts',
      'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
    ),
    ageCol(),
    wide('IP', 'podIP is the IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.'),
    wide('Node', 'nodeName indicates in which node this pod is scheduled.'),
    wide(
      'Nominated Node',
      'nominatedNodeName is set when this pod preempts other pods on the node, but it cannot be scheduled right away.',
    ),
    wide('Readiness Gates', 'If specified, all readiness gates will be evaluated for pod readiness.'),
  ],
  row(pod, now) {
    const { ready, reason, restarts } = podStatus(pod, now);
    const status = pod.status ?? {};
    const gates: Json[] = pod.spec?.readinessGates ?? [];
    let readinessGates = '<none>';
    if (gates.length) {
      const trueCount = gates.filter(
        (g) => (status.conditions ?? []).find((c: Json) => c.type === g.conditionType)?.status === 'True',
      ).length;
      readinessGates = `${trueCount}/${gates.length}`;
    }
    const conditions: TableRowCondition[] | undefined =
      status.phase === 'Succeeded'
        ? [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }]
        : status.phase === 'Failed'
          ? [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }]
          : undefined;
    return {
      cells: [
        pod.metadata.name,
        ready,
        reason,
        restarts,
        age(pod, now),
        status.podIPs?.[0]?.ip || status.podIP || '<none>',
        pod.spec?.nodeName || '<none>',
        status.nominatedNodeName || '<none>',
        readinessGates,
      ],
      conditions,
    };
  },
};

// ---------------------------------------------------------------------------------------------
// Endpoints and EndpointSlices

function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** ENDPOINTS: at most three `ip:port`, then ` + N more...`; `<none>` without subsets. */
export function formatEndpoints(ep: Json): string {
  const subsets: Json[] = ep.subsets ?? [];
  if (subsets.length === 0) return '<none>';
  const max = 3;
  const list: string[] = [];
  let more = false;
  let count = 0;
  for (const ss of subsets) {
    const addrs: Json[] = ss.addresses ?? [];
    const ports: Json[] = ss.ports ?? [];
    if (ports.length === 0) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(a.ip);
      }
      continue;
    }
    for (const port of ports) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(joinHostPort(a.ip, port.port));
      }
    }
  }
  const ret = list.join(',');
  return more ? `${ret} + ${count - max} more...` : ret;
}

function listWithMore(list: string[], more: boolean, count: number, max: number): string {
  const ret = list.join(',');
  if (more) return `${ret} + ${count - max} more...`;
  return ret || '<unset>';
}

function formatSlicePorts(ports: Json[] | undefined): string {
  const max = 3;
  const list: string[] = [];
  let more = false;
  let count = 0;
  for (const p of ports ?? []) {
    if (list.length < max) list.push(p.port !== undefined && p.port !== null ? String(p.port) : p.name ? p.name : '*');
    else more = true;
    count++;
  }
  return listWithMore(list, more, count, max);
}

function formatSliceEndpoints(endpoints: Json[] | undefined): string {
  const max = 3;
  const list: string[] = [];
  let more = false;
  let count = 0;
  for (const e of endpoints ?? [])
    for (const a of e.addresses ?? []) {
      if (list.length < max) list.push(a);
      else more = true;
      count++;
    }
  return listWithMore(list, more, count, max);
}

const endpointsPrinter: Printer = {
  columns: [nameCol(), col('Endpoints', 'Endpoints of the service'), ageCol()],
  row: (ep, now) => ({ cells: [ep.metadata.name, formatEndpoints(ep), age(ep, now)] }),
};

const endpointSlicePrinter: Printer = {
  columns: [
    nameCol(),
    col('AddressType', 'addressType specifies the type of address carried by this EndpointSlice.'),
    col('Ports', 'ports specifies the list of network ports exposed by each endpoint in this slice.'),
    col('Endpoints', 'endpoints is a list of unique endpoints in this slice.'),
    ageCol(),
  ],
  row: (s, now) => ({ cells: [s.metadata.name, s.addressType, formatSlicePorts(s.ports), formatSliceEndpoints(s.endpoints), age(s, now)] }),
};

// ---------------------------------------------------------------------------------------------
// Workloads

function containerCells(containers: Json[] | undefined): [string, string] {
  const cs = containers ?? [];
  return [cs.map((c) => c.name).join(','), cs.map((c) => c.image).join(',')];
}

function selectorText(sel: LabelSelector | undefined): string {
  try {
    return selectorToString(labelSelectorAsSelector(sel));
  } catch {
    return '';
  }
}

const deploymentPrinter: Printer = {
  columns: [
    nameCol(),
    col('Ready', 'Number of the pod with ready state'),
    col('Up-to-date', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.', {
      type: 'integer',
    }),
    col('Available', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.', {
      type: 'integer',
    }),
    ageCol(),
    wide('Containers', 'Names of each container in the template.'),
    wide('Images', 'Images referenced by each container in the template.'),
    wide(
      'Selector',
      'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.',
    ),
  ],
  row(d, now) {
    const st = d.status ?? {};
    const [names, images] = containerCells(d.spec?.template?.spec?.containers);
    return {
      cells: [
        d.metadata.name,
        `${st.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`,
        st.updatedReplicas ?? 0,
        st.availableReplicas ?? 0,
        age(d, now),
        names,
        images,
        selectorText(d.spec?.selector),
      ],
    };
  },
};

const replicaSetPrinter: Printer = {
  columns: [
    nameCol(),
    col('Desired', 'Replicas is the number of desired replicas.', { type: 'integer' }),
    col('Current', 'Replicas is the most recently observed number of replicas.', { type: 'integer' }),
    col('Ready', 'The number of ready replicas for this replica set.', { type: 'integer' }),
    ageCol(),
    wide('Containers', 'Names of each container in the template.'),
    wide('Images', 'Images referenced by each container in the template.'),
    wide('Selector', 'Selector is a label query over pods that should match the replica count.'),
  ],
  row(rs, now) {
    const st = rs.status ?? {};
    const [names, images] = containerCells(rs.spec?.template?.spec?.containers);
    return {
      cells: [
        rs.metadata.name,
        rs.spec?.replicas ?? 0,
        st.replicas ?? 0,
        st.readyReplicas ?? 0,
        age(rs, now),
        names,
        images,
        selectorText(rs.spec?.selector),
      ],
    };
  },
};

// ---------------------------------------------------------------------------------------------
// Cluster objects

function nodeRoles(labels: Record<string, string> | undefined): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length);
      if (role) roles.add(role);
    } else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return [...roles].sort();
}

const nodeAddress = (node: Json, type: string) => (node.status?.addresses ?? []).find((a: Json) => a.type === type)?.address ?? '<none>';

const nodePrinter: Printer = {
  columns: [
    nameCol(),
    col('Status', 'The status of the node'),
    col('Roles', 'The roles of the node'),
    ageCol(),
    col('Version', 'Kubelet Version reported by the node.'),
    wide('Internal-IP', 'List of addresses reachable to the node. Queried from cloud provider, if available.'),
    wide('External-IP', 'List of addresses reachable to the node. Queried from cloud provider, if available.'),
    wide('OS-Image', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).'),
    wide('Kernel-Version', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."),
    wide('Container-Runtime', 'Container runtime version reported by the node through runtime remote API (e.g. containerd://1.4.2).'),
  ],
  row(node, now) {
    const ready = (node.status?.conditions ?? []).find((c: Json) => c.type === 'Ready');
    const status = ready ? [ready.status === 'True' ? 'Ready' : 'NotReady'] : ['Unknown'];
    if (node.spec?.unschedulable) status.push('SchedulingDisabled');
    const info = node.status?.nodeInfo ?? {};
    return {
      cells: [
        node.metadata.name,
        status.join(','),
        nodeRoles(node.metadata.labels).join(',') || '<none>',
        age(node, now),
        info.kubeletVersion ?? '',
        nodeAddress(node, 'InternalIP'),
        nodeAddress(node, 'ExternalIP'),
        info.osImage || '<unknown>',
        info.kernelVersion || '<unknown>',
        info.containerRuntimeVersion || '<unknown>',
      ],
    };
  },
};

const namespacePrinter: Printer = {
  columns: [nameCol(), col('Status', 'The status of the namespace'), ageCol()],
  row: (ns, now) => ({ cells: [ns.metadata.name, ns.status?.phase ?? '', age(ns, now)] }),
};

// ---------------------------------------------------------------------------------------------
// Events (core/v1 and events.k8s.io/v1 print alike)

const eventPrinter: Printer = {
  columns: [
    col('Last Seen', 'The time at which the most recent occurrence of this event was recorded.'),
    col('Type', 'Type of this event (Normal, Warning), new types could be added in the future'),
    col(
      'Reason',
      "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
    ),
    col('Object', 'The object that this event is about.'),
    wide(
      'Subobject',
      'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.',
    ),
    wide('Source', 'The component reporting this event. Should be a short machine understandable string.'),
    col('Message', 'A human-readable description of the status of this operation.'),
    wide('First Seen', 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)'),
    wide('Count', 'The number of times this event has occurred.'),
    col('Name', NAME_DESCRIPTION, { priority: 1, format: 'name' }),
  ],
  row(ev, now) {
    const v1 = ev.apiVersion === 'events.k8s.io/v1';
    const involved = (v1 ? ev.regarding : ev.involvedObject) ?? {};
    const first = v1 ? ev.deprecatedFirstTimestamp : ev.firstTimestamp;
    const last = v1 ? ev.deprecatedLastTimestamp : ev.lastTimestamp;
    let count: number = (v1 ? ev.deprecatedCount : ev.count) ?? 0;
    const firstSeen = first ? ageSince(first, now) : ageSince(ev.eventTime, now);
    let lastSeen = last ? ageSince(last, now) : firstSeen;
    if (ev.series) {
      lastSeen = ageSince(ev.series.lastObservedTime, now);
      count = ev.series.count ?? count;
    } else if (count === 0) count = 1;
    const kind = String(involved.kind ?? '').toLowerCase();
    const target = involved.name ? `${kind}/${involved.name}` : kind;
    const src = (v1 ? ev.deprecatedSource : ev.source) ?? {};
    const component = src.component || ev.reportingController || '';
    const host = src.host || ev.reportingInstance || '';
    const source = component ? (host ? `${component}, ${host}` : component) : '';
    const message = String((v1 ? ev.note : ev.message) ?? '').trim();
    return {
      cells: [
        lastSeen,
        ev.type ?? '',
        ev.reason ?? '',
        target,
        involved.fieldPath ?? '',
        source,
        message,
        firstSeen,
        count,
        ev.metadata.name,
      ],
    };
  },
};

// ---------------------------------------------------------------------------------------------
// Networking

function ingressHosts(rules: Json[] | undefined): string {
  const max = 3;
  const list: string[] = [];
  let more = false;
  for (const r of rules ?? []) {
    if (list.length === max) more = true;
    if (!more && r.host) list.push(r.host);
  }
  if (list.length === 0) return '*';
  const ret = list.join(',');
  return more ? `${ret} + ${(rules ?? []).length - max} more...` : ret;
}

const ingressPrinter: Printer = {
  columns: [
    nameCol(),
    col('Class', 'The name of the IngressClass resource that should be used for this Ingress.'),
    col('Hosts', 'Hosts that incoming requests are matched against before the ingress rule'),
    col('Address', 'Address is a list containing ingress points for the load-balancer'),
    col('Ports', 'Ports of TLS configurations that open'),
    ageCol(),
  ],
  row(ing, now) {
    const spec = ing.spec ?? {};
    return {
      cells: [
        ing.metadata.name,
        spec.ingressClassName ?? '<none>',
        ingressHosts(spec.rules),
        loadBalancerStatusText(ing.status?.loadBalancer?.ingress),
        (spec.tls ?? []).length ? '80, 443' : '80',
        age(ing, now),
      ],
    };
  },
};

const ingressClassPrinter: Printer = {
  columns: [
    nameCol(),
    col('Controller', 'Controller that is responsible for handling this class'),
    col('Parameters', 'A reference to a resource with additional parameters'),
    ageCol(),
  ],
  row(ic, now) {
    const p = ic.spec?.parameters;
    const params = p ? `${p.kind}${p.apiGroup ? `.${p.apiGroup}` : ''}/${p.name}` : '<none>';
    return { cells: [ic.metadata.name, ic.spec?.controller ?? '', params, age(ic, now)] };
  },
};

// ---------------------------------------------------------------------------------------------
// Config and identity

const configMapPrinter: Printer = {
  columns: [nameCol(), col('Data', 'Data contains the configuration data.', { type: 'integer' }), ageCol()],
  row: (cm, now) => ({
    cells: [cm.metadata.name, Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length, age(cm, now)],
  }),
};

const secretPrinter: Printer = {
  columns: [
    nameCol(),
    col('Type', 'Used to facilitate programmatic handling of secret data.'),
    col('Data', 'Data contains the secret data.', { type: 'integer' }),
    ageCol(),
  ],
  row: (s, now) => ({
    cells: [s.metadata.name, s.type ?? '', Object.keys({ ...(s.data ?? {}), ...(s.stringData ?? {}) }).length, age(s, now)],
  }),
};

const serviceAccountPrinter: Printer = {
  columns: [
    nameCol(),
    col(
      'Secrets',
      'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.',
      { type: 'integer' },
    ),
    ageCol(),
  ],
  row: (sa, now) => ({ cells: [sa.metadata.name, (sa.secrets ?? []).length, age(sa, now)] }),
};

const leasePrinter: Printer = {
  columns: [nameCol(), col('Holder', 'holderIdentity contains the identity of the holder of a current lease.'), ageCol()],
  row: (l, now) => ({ cells: [l.metadata.name, l.spec?.holderIdentity ?? '', age(l, now)] }),
};

const defaultPrinter: Printer = {
  columns: [nameCol(), ageCol()],
  row: (o, now) => ({ cells: [o.metadata.name, age(o, now)] }),
};

const printers: Record<string, Printer> = {
  services: servicePrinter,
  pods: podPrinter,
  endpoints: endpointsPrinter,
  endpointslices: endpointSlicePrinter,
  deployments: deploymentPrinter,
  replicasets: replicaSetPrinter,
  nodes: nodePrinter,
  namespaces: namespacePrinter,
  events: eventPrinter,
  ingresses: ingressPrinter,
  ingressclasses: ingressClassPrinter,
  configmaps: configMapPrinter,
  secrets: secretPrinter,
  serviceaccounts: serviceAccountPrinter,
  leases: leasePrinter,
};

/** The columns printed for a resource (plural name); unknown resources get Name and Age. */
export function columnsFor(resource: string): TableColumnDefinition[] {
  return (printers[resource] ?? defaultPrinter).columns.map((c) => ({ ...c }));
}

/**
 * Builds the Table for `objects` of `resource` (plural, e.g. "services"). By default each row
 * carries the object's metadata as PartialObjectMetadata, which kubectl needs for `-A` and
 * `--show-labels`; `includeObject: 'Object'` (kubectl's `--sort-by`) carries the whole object.
 */
export function tableFor(resource: string, objects: KubeObject[], opts: TableOptions): Table {
  const printer = printers[resource] ?? defaultPrinter;
  const include = opts.includeObject ?? 'Metadata';
  const rows: TableRow[] = objects.map((obj) => {
    const { cells, conditions } = printer.row(obj, opts.now);
    const row: TableRow = { cells };
    if (include === 'Object') row.object = obj;
    else if (include === 'Metadata') row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
    if (conditions) row.conditions = conditions;
    return row;
  });
  const metadata: Table['metadata'] = {};
  if (opts.resourceVersion !== undefined) metadata.resourceVersion = opts.resourceVersion;
  return { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata, columnDefinitions: opts.noHeaders ? null : columnsFor(resource), rows };
}
