/**
 * Starts the controllers of the local control plane (kube-controller-manager's and the
 * scheduler's roles) on one client with shared informers, and stops them together.
 */
import type { Client } from '../client/types.js';
import { type RunningController, SharedInformers } from './controller.js';
import { startDeploymentController } from './deployment/controller.js';
import { startEndpointsController } from './endpoints/index.js';
import { startEndpointSliceController } from './endpointslice/index.js';
import { startEndpointSliceMirroringController } from './endpointslicemirroring/index.js';
import { startGarbageCollector } from './garbagecollector/index.js';
import { type LoadBalancerIPAMOptions, startLoadBalancerIPAM } from './lbipam/controller.js';
import { startNamespaceController } from './namespace/index.js';
import { startReplicaSetController } from './replicaset/controller.js';
import { startRootCACertPublisher } from './rootcacertpublisher/controller.js';
import { startScheduler } from './scheduler/scheduler.js';
import { startServiceAccountController } from './serviceaccount/controller.js';
import { startSimulatedNodes } from './simnode/simnode.js';

export interface ControllerManagerOptions {
  /** Simulated (kwok-like) nodes to register: pods on them run without processes. */
  simulatedNodes?: number;
  /** LoadBalancer address pool, FIRST-LAST (default 172.18.255.200-172.18.255.250). */
  loadBalancerPool?: string;
  /** Makes an assigned LoadBalancer address reachable (a host route via a node). */
  announceLoadBalancerIP?: LoadBalancerIPAMOptions['announce'];
  /** The cluster CA (PEM), published in every namespace as the ConfigMap kube-root-ca.crt. */
  rootCAPem?: string;
}

export interface ControllerManager {
  names: string[];
  stop(): Promise<void>;
}

/** Starts every controller on one set of informers: one list+watch per resource for all of them. */
export function startControllers(client: Client, opts: ControllerManagerOptions = {}): ControllerManager {
  const informers = new SharedInformers(client);
  const shared = { informers };
  const running: [string, RunningController][] = [
    ['endpointslice-controller', startEndpointSliceController(client, shared)],
    ['endpoints-controller', startEndpointsController(client, shared)],
    ['endpointslicemirroring-controller', startEndpointSliceMirroringController(client, shared)],
    ['garbage-collector', startGarbageCollector(client, shared)],
    ['namespace-controller', startNamespaceController(client, shared)],
    ['replicaset-controller', startReplicaSetController(client, shared)],
    ['deployment-controller', startDeploymentController(client, shared)],
    ['scheduler', startScheduler(client, shared)],
    ['loadbalancer-ipam', startLoadBalancerIPAM(client, { ...shared, pool: opts.loadBalancerPool, announce: opts.announceLoadBalancerIP })],
    ['serviceaccount-controller', startServiceAccountController(client, shared)],
  ];
  if (opts.rootCAPem)
    running.push(['root-ca-certificate-publisher', startRootCACertPublisher(client, { ...shared, caPem: opts.rootCAPem })]);
  if (opts.simulatedNodes) {
    running.push([`simulated-nodes(${opts.simulatedNodes})`, startSimulatedNodes(client, { count: opts.simulatedNodes, informers })]);
  }
  return {
    names: running.map(([n]) => n),
    stop: async () => {
      await Promise.all(running.map(([, c]) => c.stop()));
      informers.stop();
    },
  };
}
