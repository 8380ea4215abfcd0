/** The namespace controller: empties namespaces being deleted, then finalizes them. */
export { deletionConditions, FINALIZER_KUBERNETES, type NamespaceControllerOptions, startNamespaceController } from './controller.js';
