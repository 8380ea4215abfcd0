/** The EndpointSlice mirroring controller and its pure reconciler. */
export { type EndpointSliceMirroringControllerOptions, startEndpointSliceMirroringController } from './controller.js';
export { DEFAULT_MAX_ENDPOINTS_PER_SUBSET, reconcileMirror } from './reconcile.js';
