/** All API type schemas and their TypeScript types; see schema.ts for the conventions. */

export * from './apps.js';
export * from './authentication.js';
export * from './authorization.js';
export * from './coordination.js';
export * from './core.js';
export * from './discovery.js';
export * from './events.js';
export * from './meta.js';
export * from './networking.js';
export * from './schema.js';
