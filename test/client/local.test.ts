/** The client conformance suite in-process: LocalClient through the API server's own handler. */
import { startTestApiServer } from '../helpers/apiserver.js';
import { clientConformance } from './conformance.js';

clientConformance('in-process LocalClient (memory store)', async () => {
  const api = await startTestApiServer();
  const store = api.registry.store;
  return {
    client: api.client,
    compact: async () => store.compact(await store.currentRevision()),
    close: () => api.close(),
  };
});
