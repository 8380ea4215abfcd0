/** core/v1 types: Namespace, Pod, Service, Endpoints, Event, Node, ConfigMap, Secret, ServiceAccount. */
import { Condition, LabelSelector, listOf, ObjectMeta, objectHeader } from './meta.js';
import {
  atomic,
  Bytes,
  bool,
  doc,
  IntOrString,
  i32,
  i64,
  list,
  looseStruct,
  MicroTime,
  mapOf,
  mergeBy,
  oneOf,
  Quantity,
  type Static,
  set,
  str,
  stringList,
  stringMap,
  struct,
  Time,
} from './schema.js';

const V1 = 'io.k8s.api.core.v1';

const protocol = (what: string) =>
  Object.assign(oneOf(['SCTP', 'TCP', 'UDP'], `The IP protocol for this ${what}: TCP (default), UDP or SCTP.`), { default: 'TCP' });
const resourceList = (description: string) => mapOf(Quantity, description);

// ---------------------------------------------------------------------------------------------
// References and selectors

export const ObjectReference = struct(
  `${V1}.ObjectReference`,
  'Points at another object, with enough detail to find it.',
  {
    apiVersion: str('API version of the referent.'),
    kind: str('Kind of the referent.'),
    namespace: str('Namespace of the referent.'),
    name: str('Name of the referent.'),
    uid: str('UID of the referent.'),
    resourceVersion: str('The version of the referent this reference was made at.'),
    fieldPath: str('A path inside the referent, e.g. `spec.containers{web}`.'),
  },
  [],
  { 'x-kubernetes-map-type': 'atomic' },
);
export type ObjectReference = Static<typeof ObjectReference>;

export const LocalObjectReference = struct(
  `${V1}.LocalObjectReference`,
  'Names an object in the same namespace.',
  { name: str('Name of the referent.') },
  [],
  { 'x-kubernetes-map-type': 'atomic' },
);

export const ObjectFieldSelector = struct(
  `${V1}.ObjectFieldSelector`,
  'Selects a field of the pod, such as `metadata.name` or `status.podIP`.',
  {
    apiVersion: str('Version of the schema the field path is written in; `v1` by default.'),
    fieldPath: str('Path of the field to select.'),
  },
  ['fieldPath'],
  { 'x-kubernetes-map-type': 'atomic' },
);

export const ResourceFieldSelector = struct(
  `${V1}.ResourceFieldSelector`,
  "Selects a container's resource request or limit, such as `limits.cpu`.",
  {
    containerName: str('The container to read from; required for volumes.'),
    resource: str('The resource to select.'),
    divisor: doc(Quantity, 'Unit to express the value in; `1` by default.'),
  },
  ['resource'],
  { 'x-kubernetes-map-type': 'atomic' },
);

const keySelector = (kind: 'ConfigMap' | 'Secret') =>
  struct(
    `${V1}.${kind}KeySelector`,
    `Selects one key of a ${kind}.`,
    {
      name: str(`Name of the ${kind}.`),
      key: str('The key to select.'),
      optional: bool(`If true, a missing ${kind} or key is not an error.`),
    },
    ['key'],
    { 'x-kubernetes-map-type': 'atomic' },
  );
export const ConfigMapKeySelector = keySelector('ConfigMap');
export const SecretKeySelector = keySelector('Secret');

// ---------------------------------------------------------------------------------------------
// Containers

export const ContainerPort = struct(
  `${V1}.ContainerPort`,
  'A network port a container listens on.',
  {
    name: str('An IANA_SVC_NAME unique within the pod; Services can target the port by this name.'),
    hostPort: i32('Port to expose on the host; rarely needed.'),
    containerPort: i32('Port number on the pod IP, 1-65535.'),
    protocol: protocol('port'),
    hostIP: str('Host IP to bind the host port to.'),
  },
  ['containerPort'],
);

export const EnvVarSource = struct(`${V1}.EnvVarSource`, 'Where an environment variable gets its value.', {
  fieldRef: doc(ObjectFieldSelector, 'A pod field: metadata.name, metadata.namespace, status.podIP, spec.nodeName, …'),
  resourceFieldRef: doc(ResourceFieldSelector, 'A resource limit or request of a container.'),
  configMapKeyRef: doc(ConfigMapKeySelector, 'A key of a ConfigMap in the pod namespace.'),
  secretKeyRef: doc(SecretKeySelector, 'A key of a Secret in the pod namespace.'),
});

export const EnvVar = struct(
  `${V1}.EnvVar`,
  'An environment variable of a container.',
  {
    name: str('Name of the variable.'),
    value: str('Literal value; `$(VAR)` references to earlier variables are expanded.'),
    valueFrom: doc(EnvVarSource, 'Source of the value when `value` is not set.'),
  },
  ['name'],
);

const envSource = (kind: 'ConfigMap' | 'Secret') =>
  struct(`${V1}.${kind}EnvSource`, `Imports every key of a ${kind} as environment variables.`, {
    name: str(`Name of the ${kind}.`),
    optional: bool(`If true, a missing ${kind} is not an error.`),
  });

export const EnvFromSource = struct(`${V1}.EnvFromSource`, 'A set of environment variables taken from a ConfigMap or Secret.', {
  prefix: str('Prefix to put before every imported name.'),
  configMapRef: envSource('ConfigMap'),
  secretRef: envSource('Secret'),
});

export const VolumeMount = struct(
  `${V1}.VolumeMount`,
  'Mounts a pod volume into a container.',
  {
    name: str('Name of the pod volume.'),
    readOnly: bool('Mount read-only.'),
    recursiveReadOnly: str('Whether read-only mounts apply to submounts too.'),
    mountPath: str('Path inside the container; must not contain `:`.'),
    subPath: str('Sub-path inside the volume to mount instead of its root.'),
    mountPropagation: str('How mounts propagate between host and container.'),
    subPathExpr: str('Like subPath, with `$(VAR)` expansion.'),
  },
  ['name', 'mountPath'],
);

export const VolumeDevice = struct(
  `${V1}.VolumeDevice`,
  'Maps a raw block volume into a container.',
  { name: str('Name of the PVC volume.'), devicePath: str('Device path inside the container.') },
  ['name', 'devicePath'],
);

export const ResourceRequirements = struct(`${V1}.ResourceRequirements`, 'Compute resources a container requests and may not exceed.', {
  limits: resourceList('The most of each resource the container may use.'),
  requests: resourceList('The amount of each resource the container is guaranteed; defaults to limits.'),
  claims: list(
    struct(
      `${V1}.ResourceClaim`,
      'Names a pod resource claim.',
      { name: str('Name of the claim.'), request: str('Request within the claim.') },
      ['name'],
    ),
    'Dynamic resource claims used by the container.',
    { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] },
  ),
});

export const ExecAction = struct(`${V1}.ExecAction`, 'Runs a command inside the container.', {
  command: stringList('Command line to run (not in a shell); exit status 0 means success.'),
});

export const HTTPHeader = struct(`${V1}.HTTPHeader`, 'A custom HTTP header.', { name: str('Header name.'), value: str('Header value.') }, [
  'name',
  'value',
]);

export const HTTPGetAction = struct(
  `${V1}.HTTPGetAction`,
  'Sends an HTTP GET; a 2xx or 3xx status means success.',
  {
    path: str('Path to request.'),
    port: doc(IntOrString, 'Port number or name on the container.'),
    host: str('Host to connect to; the pod IP by default.'),
    scheme: oneOf(['HTTP', 'HTTPS'], 'Scheme to use; HTTP by default.'),
    httpHeaders: list(HTTPHeader, 'Extra request headers.', atomic),
  },
  ['port'],
);

export const TCPSocketAction = struct(
  `${V1}.TCPSocketAction`,
  'Opens a TCP connection; success if it connects.',
  { port: doc(IntOrString, 'Port number or name on the container.'), host: str('Host to connect to; the pod IP by default.') },
  ['port'],
);

export const GRPCAction = struct(
  `${V1}.GRPCAction`,
  'Calls the gRPC health checking service.',
  { port: i32('Port of the gRPC service.'), service: str('Service name passed to the health check.') },
  ['port'],
);

export const SleepAction = struct(`${V1}.SleepAction`, 'Waits for a number of seconds.', { seconds: i64('Seconds to sleep.') }, [
  'seconds',
]);

export const Probe = struct(`${V1}.Probe`, 'A health check run periodically against a container.', {
  exec: ExecAction,
  httpGet: HTTPGetAction,
  tcpSocket: TCPSocketAction,
  grpc: GRPCAction,
  initialDelaySeconds: i32('Seconds after the container starts before probing begins.'),
  timeoutSeconds: i32('Seconds after which one probe times out; 1 by default.'),
  periodSeconds: i32('How often to probe, in seconds; 10 by default.'),
  successThreshold: i32('Consecutive successes needed after a failure; 1 by default.'),
  failureThreshold: i32('Consecutive failures that count as failed; 3 by default.'),
  terminationGracePeriodSeconds: i64('Grace period used when a failed probe kills the container.'),
});

export const LifecycleHandler = struct(`${V1}.LifecycleHandler`, 'An action run at a container lifecycle hook.', {
  exec: ExecAction,
  httpGet: HTTPGetAction,
  tcpSocket: TCPSocketAction,
  sleep: SleepAction,
});

export const Lifecycle = struct(`${V1}.Lifecycle`, 'Actions taken on container lifecycle events.', {
  postStart: doc(LifecycleHandler, 'Runs right after the container is created.'),
  preStop: doc(LifecycleHandler, 'Runs before the container is stopped; termination waits for it.'),
  stopSignal: str('Signal used to stop the container.'),
});

export const SecurityContext = looseStruct(`${V1}.SecurityContext`, 'Security options for a container (user, capabilities, privilege, …).');
export const PodSecurityContext = looseStruct(`${V1}.PodSecurityContext`, 'Security options for all containers of a pod.');
export const Affinity = looseStruct(`${V1}.Affinity`, 'Scheduling affinity and anti-affinity rules.');
export const TopologySpreadConstraint = looseStruct(`${V1}.TopologySpreadConstraint`, 'How pods spread across topology domains.');

const containerFields = {
  name: str('Name of the container, a DNS label unique within the pod.'),
  image: str('Container image name.'),
  command: stringList('Entrypoint; the image ENTRYPOINT when empty. `$(VAR)` is expanded.'),
  args: stringList('Arguments to the entrypoint; the image CMD when empty.'),
  workingDir: str('Working directory; the image default when empty.'),
  ports: list(
    ContainerPort,
    'Ports the container exposes; informational, a port not listed can still be reached.',
    mergeBy('containerPort', ['containerPort', 'protocol']),
  ),
  envFrom: list(EnvFromSource, 'Sources whose keys become environment variables.', atomic),
  env: list(EnvVar, 'Environment variables.', mergeBy('name')),
  resources: doc(ResourceRequirements, 'Compute resources required by this container.'),
  resizePolicy: list(
    struct(
      `${V1}.ContainerResizePolicy`,
      'How a resource is resized.',
      { resourceName: str('Resource name.'), restartPolicy: str('Restart policy on resize.') },
      ['resourceName', 'restartPolicy'],
    ),
    'Resize policies per resource.',
    atomic,
  ),
  restartPolicy: str('For init containers: `Always` makes it a sidecar.'),
  volumeMounts: list(VolumeMount, 'Volumes to mount into the filesystem.', mergeBy('mountPath')),
  volumeDevices: list(VolumeDevice, 'Block devices to use.', mergeBy('devicePath')),
  livenessProbe: doc(Probe, 'The container is restarted when this probe fails.'),
  readinessProbe: doc(Probe, 'The pod is removed from Service endpoints while this probe fails.'),
  startupProbe: doc(Probe, 'Other probes wait until this one succeeds.'),
  lifecycle: Lifecycle,
  terminationMessagePath: str('File whose contents become the termination message.'),
  terminationMessagePolicy: oneOf(['FallbackToLogsOnError', 'File'], 'How the termination message is filled.'),
  imagePullPolicy: oneOf(['Always', 'IfNotPresent', 'Never'], 'When to pull the image.'),
  securityContext: SecurityContext,
  stdin: bool('Keep a stdin buffer open for the container.'),
  stdinOnce: bool('Close stdin after the first attach disconnects.'),
  tty: bool('Allocate a TTY (needs stdin).'),
};

export const Container = struct(`${V1}.Container`, 'A single application container in a pod.', containerFields, ['name']);
export type Container = Static<typeof Container>;

export const EphemeralContainer = struct(
  `${V1}.EphemeralContainer`,
  'A temporary container added to a running pod for debugging.',
  { ...containerFields, targetContainerName: str('Container whose namespaces this one joins.') },
  ['name'],
);

// ---------------------------------------------------------------------------------------------
// Volumes

export const KeyToPath = struct(
  `${V1}.KeyToPath`,
  'Maps a key to a file path inside a volume.',
  { key: str('The key to project.'), path: str('Relative file path to write the key to.'), mode: i32('File mode bits.') },
  ['key', 'path'],
);

export const ConfigMapVolumeSource = struct(`${V1}.ConfigMapVolumeSource`, 'Fills a volume with the keys of a ConfigMap.', {
  name: str('Name of the ConfigMap.'),
  items: list(KeyToPath, 'Keys to project; all keys when empty.', atomic),
  defaultMode: i32('Mode bits of created files; 0644 by default.'),
  optional: bool('If true, a missing ConfigMap is not an error.'),
});

export const SecretVolumeSource = struct(`${V1}.SecretVolumeSource`, 'Fills a volume with the keys of a Secret.', {
  secretName: str('Name of the Secret.'),
  items: list(KeyToPath, 'Keys to project; all keys when empty.', atomic),
  defaultMode: i32('Mode bits of created files; 0644 by default.'),
  optional: bool('If true, a missing Secret is not an error.'),
});

export const DownwardAPIVolumeFile = struct(
  `${V1}.DownwardAPIVolumeFile`,
  'A file holding a pod field or resource value.',
  {
    path: str('Relative path of the file.'),
    fieldRef: ObjectFieldSelector,
    resourceFieldRef: ResourceFieldSelector,
    mode: i32('File mode bits.'),
  },
  ['path'],
);

export const DownwardAPIVolumeSource = struct(`${V1}.DownwardAPIVolumeSource`, 'Exposes pod information as files.', {
  items: list(DownwardAPIVolumeFile, 'Files to create.', atomic),
  defaultMode: i32('Mode bits of created files.'),
});

const projection = (kind: 'ConfigMap' | 'Secret') =>
  struct(`${V1}.${kind}Projection`, `Projects keys of a ${kind} into a projected volume.`, {
    name: str(`Name of the ${kind}.`),
    items: list(KeyToPath, 'Keys to project; all keys when empty.', atomic),
    optional: bool(`If true, a missing ${kind} is not an error.`),
  });

export const VolumeProjection = struct(`${V1}.VolumeProjection`, 'One source of a projected volume.', {
  secret: projection('Secret'),
  configMap: projection('ConfigMap'),
  downwardAPI: struct(`${V1}.DownwardAPIProjection`, 'Downward API files in a projected volume.', {
    items: list(DownwardAPIVolumeFile, 'Files to create.', atomic),
  }),
  serviceAccountToken: struct(
    `${V1}.ServiceAccountTokenProjection`,
    'A service account token written to a file.',
    {
      audience: str('Intended audience of the token.'),
      expirationSeconds: i64('Requested token lifetime.'),
      path: str('Relative path of the token file.'),
    },
    ['path'],
  ),
  clusterTrustBundle: looseStruct(`${V1}.ClusterTrustBundleProjection`, 'Certificates from ClusterTrustBundle objects.'),
  podCertificate: looseStruct(`${V1}.PodCertificateProjection`, 'A pod certificate and key.'),
});

export const Volume = struct(
  `${V1}.Volume`,
  'A named volume that containers of the pod can mount.',
  {
    name: str('Volume name, a DNS label unique within the pod.'),
    emptyDir: struct(`${V1}.EmptyDirVolumeSource`, 'An empty directory that lives as long as the pod.', {
      medium: str('Storage medium: empty for the node default, `Memory` for tmpfs.'),
      sizeLimit: doc(Quantity, 'Most storage the directory may use.'),
    }),
    configMap: ConfigMapVolumeSource,
    secret: SecretVolumeSource,
    hostPath: struct(
      `${V1}.HostPathVolumeSource`,
      'A file or directory of the host.',
      { path: str('Path on the host.'), type: str('Expected type of the path, e.g. `Directory` or `DirectoryOrCreate`.') },
      ['path'],
    ),
    projected: struct(`${V1}.ProjectedVolumeSource`, 'Several sources combined in one directory.', {
      sources: list(VolumeProjection, 'The sources.', atomic),
      defaultMode: i32('Mode bits of created files.'),
    }),
    downwardAPI: DownwardAPIVolumeSource,
    persistentVolumeClaim: struct(
      `${V1}.PersistentVolumeClaimVolumeSource`,
      'A PersistentVolumeClaim in the pod namespace.',
      { claimName: str('Name of the claim.'), readOnly: bool('Mount read-only.') },
      ['claimName'],
    ),
    nfs: struct(
      `${V1}.NFSVolumeSource`,
      'An NFS export.',
      { server: str('NFS server host or IP.'), path: str('Exported path.'), readOnly: bool('Mount read-only.') },
      ['server', 'path'],
    ),
    csi: looseStruct(`${V1}.CSIVolumeSource`, 'An ephemeral volume from a CSI driver.'),
    ephemeral: looseStruct(`${V1}.EphemeralVolumeSource`, 'A volume backed by a per-pod PVC.'),
    image: looseStruct(`${V1}.ImageVolumeSource`, 'An OCI image or artifact mounted read-only.'),
  },
  ['name'],
);

// ---------------------------------------------------------------------------------------------
// Pod

export const Toleration = struct(`${V1}.Toleration`, 'Lets the pod schedule onto (or stay on) nodes with a matching taint.', {
  key: str('Taint key to match; empty with `Exists` matches all keys.'),
  operator: oneOf(['Equal', 'Exists'], 'How the key relates to the value.'),
  value: str('Taint value to match.'),
  effect: oneOf(['NoExecute', 'NoSchedule', 'PreferNoSchedule'], 'Taint effect to match; empty matches all.'),
  tolerationSeconds: i64('For NoExecute: how long the pod stays bound after the taint appears.'),
});

export const HostAlias = struct(
  `${V1}.HostAlias`,
  'An extra /etc/hosts entry.',
  { ip: str('IP address of the entry.'), hostnames: stringList('Host names for the IP.') },
  ['ip'],
);

export const PodDNSConfig = struct(`${V1}.PodDNSConfig`, "Extra resolver settings merged into the pod's /etc/resolv.conf.", {
  nameservers: stringList('Name server IPs to add.'),
  searches: stringList('Search domains to add.'),
  options: list(
    struct(`${V1}.PodDNSConfigOption`, 'A resolver option such as `ndots:2`.', { name: str('Option name.'), value: str('Option value.') }),
    'Resolver options; they override options of the same name from the DNS policy.',
    atomic,
  ),
});

export const PodSpec = struct(
  `${V1}.PodSpec`,
  'The desired state of a pod: its containers, volumes, networking and scheduling.',
  {
    volumes: list(Volume, 'Volumes that containers of the pod can mount.', {
      ...mergeBy('name'),
      'x-kubernetes-patch-strategy': 'merge,retainKeys',
    }),
    initContainers: list(Container, 'Containers run to completion, in order, before the app containers start.', mergeBy('name')),
    containers: list(Container, 'The containers of the pod; at least one.', mergeBy('name')),
    ephemeralContainers: list(EphemeralContainer, 'Debugging containers added to a running pod.', mergeBy('name')),
    restartPolicy: oneOf(['Always', 'Never', 'OnFailure'], 'Restart policy for all containers; `Always` by default.'),
    terminationGracePeriodSeconds: i64('Seconds between the stop signal and the kill; 30 by default.'),
    activeDeadlineSeconds: i64('Seconds the pod may run before it is failed.'),
    dnsPolicy: oneOf(
      ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'],
      'How the pod resolves names; `ClusterFirst` (cluster DNS, then upstream) by default.',
    ),
    nodeSelector: stringMap('Labels a node must have for the pod to be scheduled there.', true),
    serviceAccountName: str('Name of the ServiceAccount the pod runs as.'),
    serviceAccount: str('Deprecated alias of serviceAccountName.'),
    automountServiceAccountToken: bool('Whether to mount a service account token.'),
    nodeName: str('The node the pod is bound to; the scheduler sets it when empty.'),
    hostNetwork: bool("Use the node's network namespace instead of a pod network namespace."),
    hostPID: bool("Use the node's PID namespace."),
    hostIPC: bool("Use the node's IPC namespace."),
    shareProcessNamespace: bool('Share one PID namespace among the containers.'),
    securityContext: PodSecurityContext,
    imagePullSecrets: list(LocalObjectReference, 'Secrets used to pull images.', mergeBy('name')),
    hostname: str("The pod's hostname; the pod name by default."),
    subdomain: str('With a headless Service of this name, the pod gets the DNS name `<hostname>.<subdomain>.<ns>.svc.<domain>`.'),
    affinity: Affinity,
    schedulerName: str('The scheduler that places the pod.'),
    tolerations: list(Toleration, 'Taints the pod tolerates.', atomic),
    hostAliases: list(HostAlias, "Entries added to the pod's /etc/hosts.", mergeBy('ip')),
    priorityClassName: str('Name of the PriorityClass.'),
    priority: i32('Priority value, set from the priority class.'),
    dnsConfig: doc(PodDNSConfig, 'Resolver settings added to those generated from dnsPolicy.'),
    readinessGates: list(
      struct(
        `${V1}.PodReadinessGate`,
        'An extra condition for pod readiness.',
        { conditionType: str('A condition type in status.conditions.') },
        ['conditionType'],
      ),
      'Extra conditions that must be True for the pod to be ready.',
      atomic,
    ),
    runtimeClassName: str('Name of the RuntimeClass.'),
    enableServiceLinks: bool('Inject Docker-link-style environment variables for Services; true by default.'),
    preemptionPolicy: str('`PreemptLowerPriority` (default) or `Never`.'),
    overhead: resourceList('Resources the pod sandbox uses on top of its containers.'),
    topologySpreadConstraints: list(
      TopologySpreadConstraint,
      'How pods spread across topology domains.',
      mergeBy('topologyKey', ['topologyKey', 'whenUnsatisfiable']),
    ),
    setHostnameAsFQDN: bool('Make the hostname the fully qualified domain name.'),
    os: struct(`${V1}.PodOS`, 'The operating system of the pod.', { name: str('`linux` or `windows`.') }, ['name']),
    hostUsers: bool("Use the host's user namespace; true by default."),
    schedulingGates: list(
      struct(`${V1}.PodSchedulingGate`, 'Holds the pod back from scheduling.', { name: str('Name of the gate.') }, ['name']),
      'Gates that must all be removed before the pod is scheduled.',
      mergeBy('name'),
    ),
    resourceClaims: list(looseStruct(`${V1}.PodResourceClaim`, 'A dynamic resource claim of the pod.'), 'Dynamic resource claims.', {
      ...mergeBy('name'),
      'x-kubernetes-patch-strategy': 'merge,retainKeys',
    }),
    resources: doc(ResourceRequirements, 'Resources for the pod as a whole.'),
  },
  ['containers'],
);
export type PodSpec = Static<typeof PodSpec>;

export const PodCondition = struct(
  `${V1}.PodCondition`,
  'One aspect of pod state, such as `Ready`.',
  {
    type: str('`PodScheduled`, `Initialized`, `ContainersReady`, `Ready`, or a readiness gate.'),
    observedGeneration: i64('The pod generation this condition was computed from.'),
    status: str('`True`, `False` or `Unknown`.'),
    lastProbeTime: Time,
    lastTransitionTime: Time,
    reason: str('CamelCase reason for the last transition.'),
    message: str('Human-readable detail.'),
  },
  ['type', 'status'],
);

export const ContainerStateWaiting = struct(`${V1}.ContainerStateWaiting`, 'The container is not running yet.', {
  reason: str('Why it is waiting, e.g. `ContainerCreating` or `CrashLoopBackOff`.'),
  message: str('Detail about why it is waiting.'),
});
export const ContainerStateRunning = struct(`${V1}.ContainerStateRunning`, 'The container is running.', {
  startedAt: Time,
});
export const ContainerStateTerminated = struct(
  `${V1}.ContainerStateTerminated`,
  'The container ran and exited.',
  {
    exitCode: i32('Exit status of the last run.'),
    signal: i32('Signal that ended the last run.'),
    reason: str('Why it terminated, e.g. `Completed` or `Error`.'),
    message: str('Detail about the termination.'),
    startedAt: Time,
    finishedAt: Time,
    containerID: str('ID of the container, `<type>://<id>`.'),
  },
  ['exitCode'],
);
export const ContainerState = struct(`${V1}.ContainerState`, 'The state of a container; exactly one member is set.', {
  waiting: ContainerStateWaiting,
  running: ContainerStateRunning,
  terminated: ContainerStateTerminated,
});

export const ContainerStatus = struct(
  `${V1}.ContainerStatus`,
  'Observed state of one container.',
  {
    name: str('Name of the container.'),
    state: ContainerState,
    lastState: doc(ContainerState, 'The state of the previous run.'),
    ready: bool('Whether the readiness probe passes.'),
    restartCount: i32('How often the container was restarted.'),
    image: str('The image it runs.'),
    imageID: str('ID of the image.'),
    containerID: str('ID of the container, `<type>://<id>`.'),
    started: bool('Whether the startup probe passed.'),
    allocatedResources: resourceList('Resources allocated to the container.'),
    resources: ResourceRequirements,
    volumeMounts: list(
      looseStruct(`${V1}.VolumeMountStatus`, 'Status of a volume mount.'),
      'Status of the volume mounts.',
      mergeBy('mountPath'),
    ),
    user: looseStruct(`${V1}.ContainerUser`, 'Identity of the container process.'),
    allocatedResourcesStatus: list(
      looseStruct(`${V1}.ResourceStatus`, 'Health of an allocated resource.'),
      'Health of allocated resources.',
      {
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      },
    ),
    stopSignal: str('Signal used to stop the container.'),
  },
  ['name', 'ready', 'restartCount', 'image', 'imageID'],
);

const ipEntry = (kind: 'PodIP' | 'HostIP') =>
  struct(`${V1}.${kind}`, `One IP address of the ${kind === 'PodIP' ? 'pod' : 'host'}.`, { ip: str('The IP address.') }, ['ip']);

export const PodStatus = struct(`${V1}.PodStatus`, 'Observed state of a pod.', {
  observedGeneration: i64('The pod generation this status reflects.'),
  phase: oneOf(['Failed', 'Pending', 'Running', 'Succeeded', 'Unknown'], 'Where the pod is in its lifecycle.'),
  conditions: list(PodCondition, 'Current pod conditions.', mergeBy('type')),
  message: str('Human-readable detail about the pod state.'),
  reason: str('CamelCase reason for the pod state, e.g. `Evicted`.'),
  nominatedNodeName: str('Node the pod may run on after preemption.'),
  hostIP: str('IP of the node the pod runs on.'),
  hostIPs: list(ipEntry('HostIP'), 'IPs of the node, one per family.', {
    'x-kubernetes-patch-strategy': 'merge',
    'x-kubernetes-patch-merge-key': 'ip',
    ...atomic,
  }),
  podIP: str('Primary IP of the pod.'),
  podIPs: list(ipEntry('PodIP'), 'IPs of the pod, one per family; the first equals podIP.', mergeBy('ip')),
  startTime: Time,
  initContainerStatuses: list(ContainerStatus, 'Status of the init containers.', atomic),
  containerStatuses: list(ContainerStatus, 'Status of the app containers.', atomic),
  ephemeralContainerStatuses: list(ContainerStatus, 'Status of the ephemeral containers.', atomic),
  qosClass: oneOf(['BestEffort', 'Burstable', 'Guaranteed'], 'Quality of service class from the resource requirements.'),
  resize: str('Status of an in-place resize.'),
  resourceClaimStatuses: list(
    looseStruct(`${V1}.PodResourceClaimStatus`, 'Status of a resource claim.'),
    'Status of resource claims.',
    mergeBy('name'),
  ),
});

export const Pod = struct(`${V1}.Pod`, 'A group of containers sharing a network namespace (one IP) and volumes, scheduled onto a node.', {
  ...objectHeader,
  spec: doc(PodSpec, 'Desired behaviour of the pod.'),
  status: doc(PodStatus, 'Most recently observed state of the pod; read-only.'),
});
export type Pod = Static<typeof Pod>;
export const PodList = listOf(`${V1}.PodList`, 'Pod', Pod);

export const PodTemplateSpec = struct(`${V1}.PodTemplateSpec`, 'The pods a controller creates: metadata and spec.', {
  metadata: ObjectMeta,
  spec: doc(PodSpec, 'Desired behaviour of the pods.'),
});

export const Binding = struct(
  `${V1}.Binding`,
  'Binds a pod to a node (what the scheduler posts to pods/binding).',
  { ...objectHeader, target: doc(ObjectReference, 'The node to bind to.') },
  ['target'],
);

// ---------------------------------------------------------------------------------------------
// Service

export const ServicePort = struct(
  `${V1}.ServicePort`,
  'One port a Service exposes and where it sends the traffic.',
  {
    name: str('Name of the port, a DNS label; required when there are several ports. Used as the EndpointSlice port name.'),
    protocol: protocol('port'),
    appProtocol: str('Application protocol hint, e.g. `http` or `kubernetes.io/h2c`.'),
    port: i32('The port this Service listens on.'),
    targetPort: doc(IntOrString, 'Port number or named container port on the pods; same as `port` by default.'),
    nodePort: i32('Port on every node for NodePort and LoadBalancer Services; allocated from 30000-32767 when unset.'),
  },
  ['port'],
);

export const ServiceSpec = struct(`${V1}.ServiceSpec`, 'The desired behaviour of a Service.', {
  ports: list(ServicePort, 'The ports this Service exposes.', mergeBy('port', ['port', 'protocol'])),
  selector: stringMap('Pods with these labels are the endpoints. Without a selector, endpoints are managed by hand.', true),
  clusterIP: str('The virtual IP, allocated from the service CIDR when empty; `None` makes a headless Service.'),
  clusterIPs: stringList('The cluster IPs, at most one per family; the first equals clusterIP.'),
  type: oneOf(
    ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'],
    'How the Service is exposed: `ClusterIP` (default), `NodePort`, `LoadBalancer` or `ExternalName`.',
  ),
  externalIPs: stringList('Extra IPs the node proxies accept traffic for.'),
  sessionAffinity: oneOf(['ClientIP', 'None'], '`ClientIP` keeps each client on one endpoint; `None` by default.'),
  loadBalancerIP: str('Deprecated: requested load balancer IP.'),
  loadBalancerSourceRanges: stringList('Client CIDRs allowed through the load balancer.'),
  externalName: str('For ExternalName Services: the DNS name returned as a CNAME.'),
  externalTrafficPolicy: oneOf(
    ['Cluster', 'Local'],
    'For external traffic: `Cluster` spreads to all endpoints; `Local` keeps the client IP and uses node-local endpoints only.',
  ),
  healthCheckNodePort: i32('Node port answering health checks for `externalTrafficPolicy: Local`.'),
  publishNotReadyAddresses: bool('Publish endpoints (and DNS records) for pods that are not ready.'),
  sessionAffinityConfig: struct(`${V1}.SessionAffinityConfig`, 'Settings of session affinity.', {
    clientIP: struct(`${V1}.ClientIPConfig`, 'Settings of ClientIP affinity.', {
      timeoutSeconds: i32('How long a client sticks to an endpoint; 10800 (3 hours) by default.'),
    }),
  }),
  ipFamilies: stringList('IP families (`IPv4`, `IPv6`) of the Service, in order.'),
  ipFamilyPolicy: oneOf(['PreferDualStack', 'RequireDualStack', 'SingleStack'], 'How many IP families the Service gets.'),
  allocateLoadBalancerNodePorts: bool('Whether LoadBalancer Services get node ports; true by default.'),
  loadBalancerClass: str('The load balancer implementation to use; the default one when unset.'),
  internalTrafficPolicy: oneOf(
    ['Cluster', 'Local'],
    'For traffic from inside the cluster: `Cluster` (all endpoints) or `Local` (this node only).',
  ),
  trafficDistribution: str('Preference for routing, e.g. `PreferClose` for topologically close endpoints.'),
});
export type ServiceSpec = Static<typeof ServiceSpec>;

export const PortStatus = struct(
  `${V1}.PortStatus`,
  'Status of one load balancer port.',
  { port: i32('Port number.'), protocol: protocol('port'), error: str('CamelCase error, if the port failed.') },
  ['port', 'protocol'],
);

export const LoadBalancerIngress = struct(`${V1}.LoadBalancerIngress`, 'A load balancer entry point.', {
  ip: str('IP address of the load balancer.'),
  hostname: str('DNS name of the load balancer.'),
  ipMode: str('`VIP` (traffic arrives for the IP) or `Proxy` (traffic arrives for the node).'),
  ports: list(PortStatus, 'Status of the ports.', atomic),
});

export const LoadBalancerStatus = struct(`${V1}.LoadBalancerStatus`, 'Status of a load balancer.', {
  ingress: list(LoadBalancerIngress, 'Entry points of the load balancer.', atomic),
});

export const ServiceStatus = struct(`${V1}.ServiceStatus`, 'Observed state of a Service.', {
  loadBalancer: doc(LoadBalancerStatus, 'The load balancer, when there is one.'),
  conditions: list(Condition, 'Current Service conditions.', mergeBy('type')),
});

export const Service = struct(
  `${V1}.Service`,
  'A named set of pods behind one stable virtual IP, DNS name and ports, with load balancing.',
  {
    ...objectHeader,
    spec: doc(ServiceSpec, 'Desired behaviour of the Service.'),
    status: doc(ServiceStatus, 'Most recently observed state of the Service; read-only.'),
  },
);
export type Service = Static<typeof Service>;
export const ServiceList = listOf(`${V1}.ServiceList`, 'Service', Service);

// ---------------------------------------------------------------------------------------------
// Endpoints

export const EndpointAddress = struct(
  `${V1}.EndpointAddress`,
  'One endpoint IP.',
  {
    ip: str('IP of the endpoint.'),
    hostname: str('Hostname of the endpoint (for DNS).'),
    nodeName: str('Node hosting the endpoint.'),
    targetRef: doc(ObjectReference, 'The object (usually a Pod) behind the endpoint.'),
  },
  ['ip'],
  { 'x-kubernetes-map-type': 'atomic' },
);

export const EndpointPort = struct(
  `${V1}.EndpointPort`,
  'One endpoint port.',
  {
    name: str('Name of the port; matches the ServicePort name.'),
    port: i32('Port number.'),
    protocol: protocol('port'),
    appProtocol: str('Application protocol of the port.'),
  },
  ['port'],
  { 'x-kubernetes-map-type': 'atomic' },
);

export const EndpointSubset = struct(`${V1}.EndpointSubset`, 'A set of addresses that all serve the same ports.', {
  addresses: list(EndpointAddress, 'Ready addresses.', atomic),
  notReadyAddresses: list(EndpointAddress, 'Addresses not ready yet.', atomic),
  ports: list(EndpointPort, 'Ports served by these addresses.', atomic),
});

export const Endpoints = struct(`${V1}.Endpoints`, 'The addresses behind a Service (the legacy API; EndpointSlice supersedes it).', {
  ...objectHeader,
  subsets: list(EndpointSubset, 'Groups of addresses with their ports.', atomic),
});
export type Endpoints = Static<typeof Endpoints>;
export const EndpointsList = listOf(`${V1}.EndpointsList`, 'Endpoints', Endpoints);

// ---------------------------------------------------------------------------------------------
// Event (core/v1)

export const EventSource = struct(`${V1}.EventSource`, 'The component that reported an event.', {
  component: str('Component name.'),
  host: str('Node name.'),
});

export const EventSeries = struct(`${V1}.EventSeries`, 'A series of repeated events.', {
  count: i32('Occurrences so far.'),
  lastObservedTime: MicroTime,
});

export const Event = struct(
  `${V1}.Event`,
  'A report of something that happened in the cluster.',
  {
    ...objectHeader,
    involvedObject: doc(ObjectReference, 'The object the event is about.'),
    reason: str('Short CamelCase reason, e.g. `Scheduled`.'),
    message: str('Human-readable description.'),
    source: doc(EventSource, 'The component that reported the event.'),
    firstTimestamp: Time,
    lastTimestamp: Time,
    count: i32('How often the event occurred.'),
    type: str('`Normal` or `Warning`.'),
    eventTime: MicroTime,
    series: EventSeries,
    action: str('What was done or failed, e.g. `Binding`.'),
    related: doc(ObjectReference, 'A second object involved.'),
    reportingComponent: str('Controller that emitted the event, e.g. `kubelet`.'),
    reportingInstance: str('Instance of that controller, e.g. the node name.'),
  },
  ['metadata', 'involvedObject'],
);
export type Event = Static<typeof Event>;
export const EventList = listOf(`${V1}.EventList`, 'Event', Event);

// ---------------------------------------------------------------------------------------------
// Node

export const Taint = struct(
  `${V1}.Taint`,
  'Repels pods that do not tolerate it.',
  {
    key: str('Taint key.'),
    value: str('Taint value.'),
    effect: oneOf(['NoExecute', 'NoSchedule', 'PreferNoSchedule'], 'What happens to pods that do not tolerate the taint.'),
    timeAdded: Time,
  },
  ['key', 'effect'],
);

export const NodeSpec = struct(`${V1}.NodeSpec`, 'Desired configuration of a node.', {
  podCIDR: str('Pod IP range of the node.'),
  podCIDRs: stringList('Pod IP ranges, at most one per family; the first equals podCIDR.', {
    'x-kubernetes-patch-strategy': 'merge',
    ...set,
  }),
  providerID: str('ID of the node at the cloud provider.'),
  unschedulable: bool('Keeps new pods off the node (cordon).'),
  taints: list(Taint, 'Taints of the node.', atomic),
  configSource: looseStruct(`${V1}.NodeConfigSource`, 'Deprecated dynamic kubelet configuration.'),
  externalID: str('Deprecated.'),
});

export const NodeCondition = struct(
  `${V1}.NodeCondition`,
  'One aspect of node state, such as `Ready`.',
  {
    type: str('`Ready`, `MemoryPressure`, `DiskPressure`, `PIDPressure` or `NetworkUnavailable`.'),
    status: str('`True`, `False` or `Unknown`.'),
    lastHeartbeatTime: Time,
    lastTransitionTime: Time,
    reason: str('CamelCase reason for the last transition.'),
    message: str('Human-readable detail.'),
  },
  ['type', 'status'],
);

export const NodeAddress = struct(
  `${V1}.NodeAddress`,
  'An address of a node.',
  { type: str('`Hostname`, `InternalIP`, `ExternalIP`, `InternalDNS` or `ExternalDNS`.'), address: str('The address.') },
  ['type', 'address'],
);

export const NodeSystemInfo = struct(`${V1}.NodeSystemInfo`, 'Facts about the node system.', {
  machineID: str('Machine ID.'),
  systemUUID: str('System UUID.'),
  bootID: str('Boot ID.'),
  kernelVersion: str('Kernel version (`uname -r`).'),
  osImage: str('OS image, e.g. `Debian GNU/Linux 12`.'),
  containerRuntimeVersion: str('Container runtime, `<name>://<version>`.'),
  kubeletVersion: str('Kubelet version.'),
  kubeProxyVersion: str('Deprecated: kube-proxy version.'),
  operatingSystem: str('Operating system, e.g. `linux`.'),
  architecture: str('CPU architecture, e.g. `amd64`.'),
  swap: looseStruct(`${V1}.NodeSwapStatus`, 'Swap memory of the node.'),
});

export const NodeStatus = struct(`${V1}.NodeStatus`, 'Observed state of a node.', {
  capacity: resourceList('Total resources of the node.'),
  allocatable: resourceList('Resources available to pods.'),
  phase: str('Deprecated.'),
  conditions: list(NodeCondition, 'Current node conditions.', mergeBy('type')),
  addresses: list(NodeAddress, 'Addresses of the node.', mergeBy('type')),
  daemonEndpoints: struct(`${V1}.NodeDaemonEndpoints`, 'Ports of daemons on the node.', {
    kubeletEndpoint: struct(`${V1}.DaemonEndpoint`, 'A daemon port.', { Port: i32('Port number.') }, ['Port']),
  }),
  nodeInfo: NodeSystemInfo,
  images: list(looseStruct(`${V1}.ContainerImage`, 'A container image on the node.'), 'Images on the node.', atomic),
  volumesInUse: stringList('Volumes in use.'),
  volumesAttached: list(looseStruct(`${V1}.AttachedVolume`, 'An attached volume.'), 'Attached volumes.', atomic),
  config: looseStruct(`${V1}.NodeConfigStatus`, 'Deprecated dynamic configuration status.'),
  runtimeHandlers: list(looseStruct(`${V1}.NodeRuntimeHandler`, 'A runtime handler.'), 'Available runtime handlers.', atomic),
  features: looseStruct(`${V1}.NodeFeatures`, 'Features the node supports.'),
  declaredFeatures: stringList('Features declared by the node.'),
});

export const Node = struct(`${V1}.Node`, 'A machine (here: a network namespace) that runs pods.', {
  ...objectHeader,
  spec: doc(NodeSpec, 'Desired configuration of the node.'),
  status: doc(NodeStatus, 'Most recently observed state of the node.'),
});
export type Node = Static<typeof Node>;
export const NodeList = listOf(`${V1}.NodeList`, 'Node', Node);

// ---------------------------------------------------------------------------------------------
// Namespace, ConfigMap, Secret, ServiceAccount

export const NamespaceCondition = struct(
  `${V1}.NamespaceCondition`,
  'One aspect of namespace state.',
  {
    type: str('Condition type.'),
    status: str('`True`, `False` or `Unknown`.'),
    lastTransitionTime: Time,
    reason: str('CamelCase reason.'),
    message: str('Human-readable detail.'),
  },
  ['type', 'status'],
);

export const Namespace = struct(`${V1}.Namespace`, 'A scope for names; most objects live in a namespace.', {
  ...objectHeader,
  spec: struct(`${V1}.NamespaceSpec`, 'Desired state of a namespace.', {
    finalizers: stringList('Finalizers that must be cleared before the namespace is removed.'),
  }),
  status: struct(`${V1}.NamespaceStatus`, 'Observed state of a namespace.', {
    phase: oneOf(['Active', 'Terminating'], 'Lifecycle phase of the namespace.'),
    conditions: list(NamespaceCondition, 'Current namespace conditions.', mergeBy('type')),
  }),
});
export type Namespace = Static<typeof Namespace>;
export const NamespaceList = listOf(`${V1}.NamespaceList`, 'Namespace', Namespace);

export const ConfigMap = struct(`${V1}.ConfigMap`, 'Non-secret configuration data for pods.', {
  ...objectHeader,
  data: stringMap('UTF-8 configuration values.'),
  binaryData: mapOf(Bytes, 'Binary configuration values, base64 in JSON.'),
  immutable: bool('If true, the data cannot be changed.'),
});
export type ConfigMap = Static<typeof ConfigMap>;
export const ConfigMapList = listOf(`${V1}.ConfigMapList`, 'ConfigMap', ConfigMap);

export const Secret = struct(`${V1}.Secret`, 'Sensitive data such as passwords or keys.', {
  ...objectHeader,
  data: mapOf(Bytes, 'Secret values, base64 in JSON.'),
  stringData: stringMap('Write-only convenience: plain values merged into data on write.'),
  type: str('Type of the secret, e.g. `Opaque` (default) or `kubernetes.io/tls`.'),
  immutable: bool('If true, the data cannot be changed.'),
});
export type Secret = Static<typeof Secret>;
export const SecretList = listOf(`${V1}.SecretList`, 'Secret', Secret);

export const ServiceAccount = struct(`${V1}.ServiceAccount`, 'An identity for processes running in pods.', {
  ...objectHeader,
  secrets: list(ObjectReference, 'Secrets pods of this account may use.', mergeBy('name')),
  imagePullSecrets: list(LocalObjectReference, 'Secrets used to pull images for pods of this account.', atomic),
  automountServiceAccountToken: bool('Whether pods of this account get a token mounted.'),
});
export type ServiceAccount = Static<typeof ServiceAccount>;
export const ServiceAccountList = listOf(`${V1}.ServiceAccountList`, 'ServiceAccount', ServiceAccount);

/** Re-exported so that other kinds' modules share one definition. */
export { LabelSelector };
