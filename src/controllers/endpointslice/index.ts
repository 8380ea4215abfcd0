/** The EndpointSlice controller and the pure reconciler it runs. */
export { type EndpointSliceControllerOptions, startEndpointSliceController } from './controller.js';
export { DEFAULT_MAX_ENDPOINTS_PER_SLICE, reconcileSlices } from './reconcile.js';
