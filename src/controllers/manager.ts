/**
 * Starts the controllers of the local control plane (kube-controller-manager's role) on one
 * client, and stops them together.
 */
import type { Client } from '../client/types.js';
import { startEndpointsController } from './endpoints/index.js';
import { startEndpointSliceController } from './endpointslice/index.js';
import { startEndpointSliceMirroringController } from './endpointslicemirroring/index.js';
import { startGarbageCollector } from './garbagecollector/index.js';
import { startNamespaceController } from './namespace/index.js';

interface Running {
  stop(): void;
}

export interface ControllerManager {
  names: string[];
  stop(): void;
}

export function startControllers(client: Client): ControllerManager {
  const running: [string, Running][] = [
    ['endpointslice', startEndpointSliceController(client)],
    ['endpoints', startEndpointsController(client)],
    ['endpointslicemirroring', startEndpointSliceMirroringController(client)],
    ['garbagecollector', startGarbageCollector(client)],
    ['namespace', startNamespaceController(client)],
  ];
  return {
    names: running.map(([n]) => n),
    stop: () => {
      for (const [, c] of running) c.stop();
    },
  };
}
