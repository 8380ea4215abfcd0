/**
 * Test fixture: the real API server handler over an in-memory store, with an in-process client.
 * Controllers' integration tests use it; the HTTPS front is covered by the e2e tests.
 */
import { ApiHandler } from '../../src/apiserver/handler.js';
import { Registry } from '../../src/apiserver/registry/index.js';
import { LocalClient } from '../../src/client/local.js';
import { MemoryStore } from '../../src/storage/memory.js';

export interface TestApiServer {
  client: LocalClient;
  handler: ApiHandler;
  registry: Registry;
  close(): Promise<void>;
}

export async function startTestApiServer(opts: { serviceCIDR?: string; nodePortRange?: string } = {}): Promise<TestApiServer> {
  const store = new MemoryStore();
  const registry = new Registry(store, {
    serviceCIDR: opts.serviceCIDR ?? '10.96.0.0/12',
    nodePortRange: opts.nodePortRange ?? '30000-32767',
  });
  await registry.start();
  const handler = new ApiHandler(registry, { serverAddress: '127.0.0.1:6443' });
  const client = new LocalClient(handler);
  await registry.bootstrap(client);
  return {
    client,
    handler,
    registry,
    close: async () => {
      registry.stop();
      await store.close();
    },
  };
}
