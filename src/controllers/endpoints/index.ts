/** The core/v1 Endpoints controller and its pure reconciler. */
export { type EndpointsControllerOptions, startEndpointsController } from './controller.js';
export { computeSubsets, desiredEndpoints, MAX_CAPACITY, repackSubsets, truncateSubsets } from './reconcile.js';
