/** apps/v1 Deployment and ReplicaSet, and autoscaling/v1 Scale (their scale subresource). */
import { PodTemplateSpec } from './core.js';
import { LabelSelector, listOf, objectHeader } from './meta.js';
import { bool, doc, IntOrString, i32, list, mergeBy, oneOf, type Static, str, struct, Time } from './schema.js';

const APPS = 'io.k8s.api.apps.v1';

const workloadCondition = (kind: 'Deployment' | 'ReplicaSet') =>
  struct(
    `${APPS}.${kind}Condition`,
    `One aspect of ${kind} state, such as \`${kind === 'Deployment' ? 'Available' : 'ReplicaFailure'}\`.`,
    {
      type: str('Condition type.'),
      status: str('`True`, `False` or `Unknown`.'),
      ...(kind === 'Deployment' ? { lastUpdateTime: Time } : {}),
      lastTransitionTime: Time,
      reason: str('CamelCase reason for the last transition.'),
      message: str('Human-readable detail.'),
    },
    ['type', 'status'],
  );

export const DeploymentStrategy = struct(`${APPS}.DeploymentStrategy`, 'How a Deployment replaces old pods with new ones.', {
  type: oneOf(['Recreate', 'RollingUpdate'], '`RollingUpdate` (default) or `Recreate`.'),
  rollingUpdate: struct(`${APPS}.RollingUpdateDeployment`, 'Pace of a rolling update.', {
    maxUnavailable: doc(IntOrString, 'Pods (or percent of desired) that may be unavailable during the update; 25% by default.'),
    maxSurge: doc(IntOrString, 'Pods (or percent of desired) that may exist above the desired count; 25% by default.'),
  }),
});

export const DeploymentSpec = struct(
  `${APPS}.DeploymentSpec`,
  'Desired state of a Deployment.',
  {
    replicas: i32('Desired number of pods; 1 by default.'),
    selector: doc(LabelSelector, "Selects the pods this Deployment manages; must match the template's labels."),
    template: doc(PodTemplateSpec, 'The pods to create.'),
    strategy: DeploymentStrategy,
    minReadySeconds: i32('Seconds a new pod must be ready before it counts as available.'),
    revisionHistoryLimit: i32('Old ReplicaSets to keep for rollback; 10 by default.'),
    paused: bool('Pauses rollouts.'),
    progressDeadlineSeconds: i32('Seconds before a stalled rollout is reported as failed; 600 by default.'),
  },
  ['selector', 'template'],
);

export const DeploymentStatus = struct(`${APPS}.DeploymentStatus`, 'Observed state of a Deployment.', {
  observedGeneration: i32('The generation this status reflects.'),
  replicas: i32('Pods targeted by this Deployment.'),
  updatedReplicas: i32('Pods with the current template.'),
  readyReplicas: i32('Ready pods.'),
  availableReplicas: i32('Pods ready for at least minReadySeconds.'),
  unavailableReplicas: i32('Pods still needed for full availability.'),
  terminatingReplicas: i32('Pods being terminated.'),
  conditions: list(workloadCondition('Deployment'), 'Current Deployment conditions.', mergeBy('type')),
  collisionCount: i32('Count of template hash collisions.'),
});

export const Deployment = struct(`${APPS}.Deployment`, 'Declarative updates for pods through ReplicaSets.', {
  ...objectHeader,
  spec: doc(DeploymentSpec, 'Desired state of the Deployment.'),
  status: doc(DeploymentStatus, 'Most recently observed state of the Deployment.'),
});
export type Deployment = Static<typeof Deployment>;
export const DeploymentList = listOf(`${APPS}.DeploymentList`, 'Deployment', Deployment);

export const ReplicaSetSpec = struct(
  `${APPS}.ReplicaSetSpec`,
  'Desired state of a ReplicaSet.',
  {
    replicas: i32('Desired number of pods; 1 by default.'),
    minReadySeconds: i32('Seconds a new pod must be ready before it counts as available.'),
    selector: doc(LabelSelector, "Selects the pods this ReplicaSet manages; must match the template's labels."),
    template: doc(PodTemplateSpec, 'The pods to create.'),
  },
  ['selector'],
);

export const ReplicaSetStatus = struct(
  `${APPS}.ReplicaSetStatus`,
  'Observed state of a ReplicaSet.',
  {
    replicas: i32('Current number of pods.'),
    fullyLabeledReplicas: i32("Pods whose labels match the template's."),
    readyReplicas: i32('Ready pods.'),
    availableReplicas: i32('Pods ready for at least minReadySeconds.'),
    terminatingReplicas: i32('Pods being terminated.'),
    observedGeneration: i32('The generation this status reflects.'),
    conditions: list(workloadCondition('ReplicaSet'), 'Current ReplicaSet conditions.', mergeBy('type')),
  },
  ['replicas'],
);

export const ReplicaSet = struct(`${APPS}.ReplicaSet`, 'Keeps a given number of identical pods running.', {
  ...objectHeader,
  spec: doc(ReplicaSetSpec, 'Desired state of the ReplicaSet.'),
  status: doc(ReplicaSetStatus, 'Most recently observed state of the ReplicaSet.'),
});
export type ReplicaSet = Static<typeof ReplicaSet>;
export const ReplicaSetList = listOf(`${APPS}.ReplicaSetList`, 'ReplicaSet', ReplicaSet);

const AUTOSCALING = 'io.k8s.api.autoscaling.v1';

export const Scale = struct(`${AUTOSCALING}.Scale`, 'The scale subresource: desired and current replica counts.', {
  ...objectHeader,
  spec: struct(`${AUTOSCALING}.ScaleSpec`, 'Desired scale.', { replicas: i32('Desired number of replicas.') }),
  status: struct(
    `${AUTOSCALING}.ScaleStatus`,
    'Current scale.',
    { replicas: i32('Actual number of replicas.'), selector: str('Label selector of the pods, in string form.') },
    ['replicas'],
  ),
});
export type Scale = Static<typeof Scale>;
