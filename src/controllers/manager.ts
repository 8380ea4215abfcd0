/**
 * Starts the controllers of the local control plane (kube-controller-manager's and the
 * scheduler's roles) on one client with shared informers, and stops them together.
 */
import type { Client } from '../client/types.js';
import { SharedInformers } from './controller.js';
import { startDeploymentController } from './deployment/controller.js';
import { startEndpointsController } from './endpoints/index.js';
import { startEndpointSliceController } from './endpointslice/index.js';
import { startEndpointSliceMirroringController } from './endpointslicemirroring/index.js';
import { startGarbageCollector } from './garbagecollector/index.js';
import { startNamespaceController } from './namespace/index.js';
import { startReplicaSetController } from './replicaset/controller.js';
import { startScheduler } from './scheduler/scheduler.js';
import { startSimulatedNodes } from './simnode/simnode.js';

interface Running {
  stop(): void | Promise<void>;
}

export interface ControllerManagerOptions {
  /** Simulated (kwok-like) nodes to register: pods on them run without processes. */
  simulatedNodes?: number;
}

export interface ControllerManager {
  names: string[];
  stop(): Promise<void>;
}

export function startControllers(client: Client, opts: ControllerManagerOptions = {}): ControllerManager {
  const informers = new SharedInformers(client);
  const running: [string, Running][] = [
    ['endpointslice-controller', startEndpointSliceController(client)],
    ['endpoints-controller', startEndpointsController(client)],
    ['endpointslicemirroring-controller', startEndpointSliceMirroringController(client)],
    ['garbage-collector', startGarbageCollector(client)],
    ['namespace-controller', startNamespaceController(client)],
    ['replicaset-controller', startReplicaSetController(client, { informers })],
    ['deployment-controller', startDeploymentController(client, { informers })],
    ['scheduler', startScheduler(client, { informers })],
  ];
  if (opts.simulatedNodes) {
    running.push([`simulated-nodes(${opts.simulatedNodes})`, startSimulatedNodes(client, { count: opts.simulatedNodes, informers })]);
  }
  return {
    names: running.map(([n]) => n),
    stop: async () => {
      await Promise.all(running.map(([, c]) => c.stop()));
      informers.factory.stop();
    },
  };
}
