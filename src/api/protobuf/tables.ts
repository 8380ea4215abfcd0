/**
 * Protobuf field numbers of the Kubernetes messages kubectl's typed clients send, learnt from
 * the upstream `generated.proto` files (k8s.io/api core/v1, apps/v1, networking/v1,
 * authentication/v1, authorization/v1 and apimachinery meta/v1). Only the numbers live here:
 * what each field holds (string, list, map, nested struct, IntOrString, …) comes from the
 * TypeBox schema of the same struct
 * (src/api/types), so the schemas stay the one source of truth for shape.
 *
 * Table syntax, one string per struct, keyed by the struct's OpenAPI component name:
 * - `name=3`: JSON property `name` is field 3;
 * - `replicas=1*`: a Go pointer (`*int32`, `*bool`, `*string`): present on the wire only when set,
 *   so a zero value is kept (`replicas: 0`, `optional: false`) instead of being omitted;
 * - `&ProbeHandler=1`: field 1 is an embedded Go struct inlined into the JSON object (`json:",inline"`);
 *   its own table (an `INLINE` entry) names its fields, which are properties of the outer struct.
 */

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const CORE = 'io.k8s.api.core.v1';
const APPS = 'io.k8s.api.apps.v1';
const NET = 'io.k8s.api.networking.v1';
const AUTHN = 'io.k8s.api.authentication.v1';
const AUTHZ = 'io.k8s.api.authorization.v1';

const containerFields =
  'name=1 image=2 command=3 args=4 workingDir=5 ports=6 envFrom=19 env=7 resources=8 resizePolicy=23 restartPolicy=24* ' +
  'volumeMounts=9 volumeDevices=21 livenessProbe=10 readinessProbe=11 startupProbe=22 lifecycle=12 terminationMessagePath=13 ' +
  'terminationMessagePolicy=20 imagePullPolicy=14 securityContext=15 stdin=16 stdinOnce=17 tty=18';

/** Embedded structs that Go inlines into their parent's JSON; they have no schema of their own. */
export const INLINE: Record<string, string> = {
  LocalObjectReference: 'name=1',
  ProbeHandler: 'exec=1 httpGet=2 tcpSocket=3 grpc=4',
  VolumeSource:
    'hostPath=1 emptyDir=2 secret=6 nfs=7 persistentVolumeClaim=10 downwardAPI=16 configMap=19 projected=26 csi=28 ephemeral=29 image=30',
  EphemeralContainerCommon: containerFields,
  IngressRuleValue: 'http=1',
};

/** Field numbers of each struct, by OpenAPI component name. */
export const FIELDS: Record<string, string> = {
  // apimachinery meta/v1
  [`${META}.ObjectMeta`]:
    'name=1 generateName=2 namespace=3 selfLink=4 uid=5 resourceVersion=6 generation=7 creationTimestamp=8 deletionTimestamp=9 ' +
    'deletionGracePeriodSeconds=10* labels=11 annotations=12 ownerReferences=13 finalizers=14 managedFields=17',
  [`${META}.OwnerReference`]: 'kind=1 name=3 uid=4 apiVersion=5 controller=6* blockOwnerDeletion=7*',
  [`${META}.ManagedFieldsEntry`]: 'manager=1 operation=2 apiVersion=3 time=4 fieldsType=6 fieldsV1=7 subresource=8',
  [`${META}.LabelSelector`]: 'matchLabels=1 matchExpressions=2',
  [`${META}.LabelSelectorRequirement`]: 'key=1 operator=2 values=3',
  [`${META}.FieldSelectorRequirement`]: 'key=1 operator=2 values=3',
  [`${META}.Condition`]: 'type=1 status=2 observedGeneration=3 lastTransitionTime=4 reason=5 message=6',
  [`${META}.Preconditions`]: 'uid=1* resourceVersion=2*',
  [`${META}.DeleteOptions`]:
    'gracePeriodSeconds=1* preconditions=2 orphanDependents=3* propagationPolicy=4* dryRun=5 ignoreStoreReadErrorWithClusterBreakingPotential=6*',

  // core/v1: references and selectors
  [`${CORE}.ObjectReference`]: 'kind=1 namespace=2 name=3 uid=4 apiVersion=5 resourceVersion=6 fieldPath=7',
  [`${CORE}.LocalObjectReference`]: 'name=1',
  [`${CORE}.TypedLocalObjectReference`]: 'apiGroup=1* kind=2 name=3',
  [`${CORE}.ObjectFieldSelector`]: 'apiVersion=1 fieldPath=2',
  [`${CORE}.ResourceFieldSelector`]: 'containerName=1 resource=2 divisor=3',
  [`${CORE}.ConfigMapKeySelector`]: '&LocalObjectReference=1 key=2 optional=3*',
  [`${CORE}.SecretKeySelector`]: '&LocalObjectReference=1 key=2 optional=3*',

  // core/v1: containers
  [`${CORE}.ContainerPort`]: 'name=1 hostPort=2 containerPort=3 protocol=4 hostIP=5',
  [`${CORE}.EnvVarSource`]: 'fieldRef=1 resourceFieldRef=2 configMapKeyRef=3 secretKeyRef=4',
  [`${CORE}.EnvVar`]: 'name=1 value=2 valueFrom=3',
  [`${CORE}.ConfigMapEnvSource`]: '&LocalObjectReference=1 optional=2*',
  [`${CORE}.SecretEnvSource`]: '&LocalObjectReference=1 optional=2*',
  [`${CORE}.EnvFromSource`]: 'prefix=1 configMapRef=2 secretRef=3',
  [`${CORE}.VolumeMount`]: 'name=1 readOnly=2 recursiveReadOnly=7* mountPath=3 subPath=4 mountPropagation=5* subPathExpr=6',
  [`${CORE}.VolumeDevice`]: 'name=1 devicePath=2',
  [`${CORE}.ResourceRequirements`]: 'limits=1 requests=2 claims=3',
  [`${CORE}.ResourceClaim`]: 'name=1 request=2',
  [`${CORE}.ExecAction`]: 'command=1',
  [`${CORE}.HTTPHeader`]: 'name=1 value=2',
  [`${CORE}.HTTPGetAction`]: 'path=1 port=2 host=3 scheme=4 httpHeaders=5',
  [`${CORE}.TCPSocketAction`]: 'port=1 host=2',
  [`${CORE}.GRPCAction`]: 'port=1 service=2*',
  [`${CORE}.SleepAction`]: 'seconds=1',
  [`${CORE}.Probe`]:
    '&ProbeHandler=1 initialDelaySeconds=2 timeoutSeconds=3 periodSeconds=4 successThreshold=5 failureThreshold=6 terminationGracePeriodSeconds=7*',
  [`${CORE}.LifecycleHandler`]: 'exec=1 httpGet=2 tcpSocket=3 sleep=4',
  [`${CORE}.Lifecycle`]: 'postStart=1 preStop=2 stopSignal=3*',
  [`${CORE}.ContainerResizePolicy`]: 'resourceName=1 restartPolicy=2',
  [`${CORE}.Container`]: containerFields,
  [`${CORE}.EphemeralContainer`]: '&EphemeralContainerCommon=1 targetContainerName=2',

  // core/v1: volumes
  [`${CORE}.KeyToPath`]: 'key=1 path=2 mode=3*',
  [`${CORE}.ConfigMapVolumeSource`]: '&LocalObjectReference=1 items=2 defaultMode=3* optional=4*',
  [`${CORE}.SecretVolumeSource`]: 'secretName=1 items=2 defaultMode=3* optional=4*',
  [`${CORE}.DownwardAPIVolumeFile`]: 'path=1 fieldRef=2 resourceFieldRef=3 mode=4*',
  [`${CORE}.DownwardAPIVolumeSource`]: 'items=1 defaultMode=2*',
  [`${CORE}.ConfigMapProjection`]: '&LocalObjectReference=1 items=2 optional=4*',
  [`${CORE}.SecretProjection`]: '&LocalObjectReference=1 items=2 optional=4*',
  [`${CORE}.DownwardAPIProjection`]: 'items=1',
  [`${CORE}.ServiceAccountTokenProjection`]: 'audience=1 expirationSeconds=2* path=3',
  [`${CORE}.VolumeProjection`]: 'secret=1 downwardAPI=2 configMap=3 serviceAccountToken=4 clusterTrustBundle=5 podCertificate=6',
  [`${CORE}.EmptyDirVolumeSource`]: 'medium=1 sizeLimit=2',
  [`${CORE}.HostPathVolumeSource`]: 'path=1 type=2*',
  [`${CORE}.ProjectedVolumeSource`]: 'sources=1 defaultMode=2*',
  [`${CORE}.PersistentVolumeClaimVolumeSource`]: 'claimName=1 readOnly=2',
  [`${CORE}.NFSVolumeSource`]: 'server=1 path=2 readOnly=3',
  [`${CORE}.Volume`]: 'name=1 &VolumeSource=2',

  // core/v1: pods
  [`${CORE}.Toleration`]: 'key=1 operator=2 value=3 effect=4 tolerationSeconds=5*',
  [`${CORE}.HostAlias`]: 'ip=1 hostnames=2',
  [`${CORE}.PodDNSConfig`]: 'nameservers=1 searches=2 options=3',
  [`${CORE}.PodDNSConfigOption`]: 'name=1 value=2*',
  [`${CORE}.PodReadinessGate`]: 'conditionType=1',
  [`${CORE}.PodOS`]: 'name=1',
  [`${CORE}.PodSchedulingGate`]: 'name=1',
  [`${CORE}.PodSpec`]:
    'volumes=1 initContainers=20 containers=2 ephemeralContainers=34 restartPolicy=3 terminationGracePeriodSeconds=4* ' +
    'activeDeadlineSeconds=5* dnsPolicy=6 nodeSelector=7 serviceAccountName=8 serviceAccount=9 automountServiceAccountToken=21* ' +
    'nodeName=10 hostNetwork=11 hostPID=12 hostIPC=13 shareProcessNamespace=27* securityContext=14 imagePullSecrets=15 ' +
    'hostname=16 subdomain=17 affinity=18 schedulerName=19 tolerations=22 hostAliases=23 priorityClassName=24 priority=25* ' +
    'dnsConfig=26 readinessGates=28 runtimeClassName=29* enableServiceLinks=30* preemptionPolicy=31* overhead=32 ' +
    'topologySpreadConstraints=33 setHostnameAsFQDN=35* os=36 hostUsers=37* schedulingGates=38 resourceClaims=39 resources=40',
  [`${CORE}.PodTemplateSpec`]: 'metadata=1 spec=2',

  // core/v1: Service
  [`${CORE}.ServicePort`]: 'name=1 protocol=2 appProtocol=6* port=3 targetPort=4 nodePort=5',
  [`${CORE}.ServiceSpec`]:
    'ports=1 selector=2 clusterIP=3 clusterIPs=18 type=4 externalIPs=5 sessionAffinity=7 loadBalancerIP=8 ' +
    'loadBalancerSourceRanges=9 externalName=10 externalTrafficPolicy=11 healthCheckNodePort=12 publishNotReadyAddresses=13 ' +
    'sessionAffinityConfig=14 ipFamilies=19 ipFamilyPolicy=17* allocateLoadBalancerNodePorts=20* loadBalancerClass=21* ' +
    'internalTrafficPolicy=22* trafficDistribution=23*',
  [`${CORE}.SessionAffinityConfig`]: 'clientIP=1',
  [`${CORE}.ClientIPConfig`]: 'timeoutSeconds=1*',
  [`${CORE}.PortStatus`]: 'port=1 protocol=2 error=3*',
  [`${CORE}.LoadBalancerIngress`]: 'ip=1 hostname=2 ipMode=3* ports=4',
  [`${CORE}.LoadBalancerStatus`]: 'ingress=1',
  [`${CORE}.ServiceStatus`]: 'loadBalancer=1 conditions=2',
  [`${CORE}.Service`]: 'metadata=1 spec=2 status=3',

  // core/v1: Namespace, ConfigMap, Secret, ServiceAccount
  [`${CORE}.NamespaceSpec`]: 'finalizers=1',
  [`${CORE}.NamespaceCondition`]: 'type=1 status=2 lastTransitionTime=4 reason=5 message=6',
  [`${CORE}.NamespaceStatus`]: 'phase=1 conditions=2',
  [`${CORE}.Namespace`]: 'metadata=1 spec=2 status=3',
  [`${CORE}.ConfigMap`]: 'metadata=1 immutable=4* data=2 binaryData=3',
  [`${CORE}.Secret`]: 'metadata=1 immutable=5* data=2 stringData=4 type=3',
  [`${CORE}.ServiceAccount`]: 'metadata=1 secrets=2 imagePullSecrets=3 automountServiceAccountToken=4*',

  // apps/v1
  [`${APPS}.RollingUpdateDeployment`]: 'maxUnavailable=1 maxSurge=2',
  [`${APPS}.DeploymentStrategy`]: 'type=1 rollingUpdate=2',
  [`${APPS}.DeploymentSpec`]:
    'replicas=1* selector=2 template=3 strategy=4 minReadySeconds=5 revisionHistoryLimit=6* paused=7 progressDeadlineSeconds=9*',
  [`${APPS}.DeploymentCondition`]: 'type=1 status=2 lastUpdateTime=6 lastTransitionTime=7 reason=4 message=5',
  [`${APPS}.DeploymentStatus`]:
    'observedGeneration=1 replicas=2 updatedReplicas=3 readyReplicas=7 availableReplicas=4 unavailableReplicas=5 ' +
    'terminatingReplicas=9* conditions=6 collisionCount=8*',
  [`${APPS}.Deployment`]: 'metadata=1 spec=2 status=3',
  [`${APPS}.ReplicaSetSpec`]: 'replicas=1* minReadySeconds=4 selector=2 template=3',
  [`${APPS}.ReplicaSetCondition`]: 'type=1 status=2 lastTransitionTime=3 reason=4 message=5',
  [`${APPS}.ReplicaSetStatus`]:
    'replicas=1 fullyLabeledReplicas=2 readyReplicas=4 availableReplicas=5 terminatingReplicas=7* observedGeneration=3 conditions=6',
  [`${APPS}.ReplicaSet`]: 'metadata=1 spec=2 status=3',

  // networking/v1
  [`${NET}.ServiceBackendPort`]: 'name=1 number=2',
  [`${NET}.IngressServiceBackend`]: 'name=1 port=2',
  [`${NET}.IngressBackend`]: 'resource=3 service=4',
  [`${NET}.HTTPIngressPath`]: 'path=1 pathType=3* backend=2',
  [`${NET}.HTTPIngressRuleValue`]: 'paths=1',
  [`${NET}.IngressRule`]: 'host=1 &IngressRuleValue=2',
  [`${NET}.IngressTLS`]: 'hosts=1 secretName=2',
  [`${NET}.IngressPortStatus`]: 'port=1 protocol=2 error=3*',
  [`${NET}.IngressLoadBalancerIngress`]: 'ip=1 hostname=2 ports=4',
  [`${NET}.IngressLoadBalancerStatus`]: 'ingress=1',
  [`${NET}.IngressSpec`]: 'ingressClassName=4* defaultBackend=1 tls=2 rules=3',
  [`${NET}.IngressStatus`]: 'loadBalancer=1',
  [`${NET}.Ingress`]: 'metadata=1 spec=2 status=3',
  [`${NET}.IngressClassParametersReference`]: 'apiGroup=1* kind=2 name=3 scope=4* namespace=5*',
  [`${NET}.IngressClassSpec`]: 'controller=1 parameters=2',
  [`${NET}.IngressClass`]: 'metadata=1 spec=2',

  // authentication/v1 (`kubectl auth whoami`)
  [`${AUTHN}.UserInfo`]: 'username=1 uid=2 groups=3 extra=4',
  [`${AUTHN}.SelfSubjectReviewStatus`]: 'userInfo=1',
  [`${AUTHN}.SelfSubjectReview`]: 'metadata=1 status=2',
  // (`kubectl create token`)
  [`${AUTHN}.BoundObjectReference`]: 'kind=1 apiVersion=2 name=3 uid=4',
  [`${AUTHN}.TokenRequestSpec`]: 'audiences=1 boundObjectRef=3 expirationSeconds=4*',
  [`${AUTHN}.TokenRequestStatus`]: 'token=1 expirationTimestamp=2',
  [`${AUTHN}.TokenRequest`]: 'metadata=1 spec=2 status=3',
  [`${AUTHN}.TokenReviewSpec`]: 'token=1 audiences=2',
  [`${AUTHN}.TokenReviewStatus`]: 'authenticated=1 user=2 error=3 audiences=4',
  [`${AUTHN}.TokenReview`]: 'metadata=1 spec=2 status=3',

  // authorization/v1 (`kubectl auth can-i`)
  [`${AUTHZ}.FieldSelectorAttributes`]: 'rawSelector=1 requirements=2',
  [`${AUTHZ}.LabelSelectorAttributes`]: 'rawSelector=1 requirements=2',
  [`${AUTHZ}.ResourceAttributes`]: 'namespace=1 verb=2 group=3 version=4 resource=5 subresource=6 name=7 fieldSelector=8 labelSelector=9',
  [`${AUTHZ}.NonResourceAttributes`]: 'path=1 verb=2',
  [`${AUTHZ}.SubjectAccessReviewStatus`]: 'allowed=1 denied=4 reason=2 evaluationError=3',
  [`${AUTHZ}.SelfSubjectAccessReviewSpec`]: 'resourceAttributes=1 nonResourceAttributes=2',
  [`${AUTHZ}.SelfSubjectAccessReview`]: 'metadata=1 spec=2 status=3',
  [`${AUTHZ}.SubjectAccessReviewSpec`]: 'resourceAttributes=1 nonResourceAttributes=2 user=3 groups=4 extra=5 uid=6',
  [`${AUTHZ}.SubjectAccessReview`]: 'metadata=1 spec=2 status=3',
  [`${AUTHZ}.LocalSubjectAccessReview`]: 'metadata=1 spec=2 status=3',
  [`${AUTHZ}.SelfSubjectRulesReviewSpec`]: 'namespace=1',
  [`${AUTHZ}.ResourceRule`]: 'verbs=1 apiGroups=2 resources=3 resourceNames=4',
  [`${AUTHZ}.NonResourceRule`]: 'verbs=1 nonResourceURLs=2',
  [`${AUTHZ}.SubjectRulesReviewStatus`]: 'resourceRules=1 nonResourceRules=2 incomplete=3 evaluationError=4',
  [`${AUTHZ}.SelfSubjectRulesReview`]: 'metadata=1 spec=2 status=3',
};

/** One field of a parsed table: a JSON property, or an inlined embedded struct. */
export type FieldEntry = { property: string; pointer: boolean } | { inline: string };

/** A table parsed into field number → entry. */
export type FieldTable = ReadonlyMap<number, FieldEntry>;

/** Parses the compact `name=N` syntax above. Throws on a malformed or duplicate entry. */
export function parseTable(spec: string): FieldTable {
  const table = new Map<number, FieldEntry>();
  for (const item of spec.split(/\s+/).filter(Boolean)) {
    const m = /^(&?)(\w+)=(\d+)(\*?)$/.exec(item);
    if (!m) throw new Error(`bad protobuf table entry ${JSON.stringify(item)}`);
    const [, inline, name, num, pointer] = m;
    const number = Number(num);
    if (table.has(number)) throw new Error(`field ${number} listed twice in ${JSON.stringify(spec)}`);
    table.set(number, inline ? { inline: name } : { property: name, pointer: pointer === '*' });
  }
  return table;
}
