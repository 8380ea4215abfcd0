/** The garbage collector: owner references, background, foreground and orphan deletion. */
export { type GarbageCollectorOptions, MONITORED, startGarbageCollector } from './controller.js';
