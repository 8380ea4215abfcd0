/**
 * LoadBalancer IPAM, the local cluster's stand-in for a cloud load balancer (as MetalLB or k3s's
 * servicelb): a Service of type LoadBalancer gets an external IP from the pool in
 * status.loadBalancer.ingress, so `kubectl get svc` shows it instead of `<pending>`, and the
 * proxies program it. Services with a loadBalancerClass belong to another implementation.
 */
import type { KubeObject } from '../../api/meta.js';
import { objectKey } from '../../api/meta.js';
import { type Client, R } from '../../client/types.js';
import { WorkQueue } from '../../client/workqueue.js';
import { type RunningController, runController, SharedInformers } from '../controller.js';
import { AddressPool, DEFAULT_LB_POOL } from './pool.js';

export interface LoadBalancerIPAMOptions {
  pool?: string;
  /** Share informers with other controllers; a private set is made (and stopped) otherwise. */
  informers?: SharedInformers;
  /** Makes an assigned address reachable (e.g. a host route via a node); called on assign and release. */
  announce?: { add(ip: string): Promise<void>; remove(ip: string): Promise<void> };
  onError?: (key: string, err: unknown) => void;
}

function ourIngress(svc: KubeObject, pool: AddressPool): string | undefined {
  const ip = svc.status?.loadBalancer?.ingress?.[0]?.ip as string | undefined;
  return ip && pool.contains(ip) ? ip : undefined;
}

function wantsAddress(svc: KubeObject | undefined): boolean {
  return !!svc && svc.spec?.type === 'LoadBalancer' && !svc.spec?.loadBalancerClass && !svc.metadata.deletionTimestamp;
}

export function startLoadBalancerIPAM(client: Client, opts: LoadBalancerIPAMOptions = {}): RunningController {
  const pool = new AddressPool(opts.pool ?? DEFAULT_LB_POOL);
  const informers = opts.informers ?? new SharedInformers(client);
  const services = informers.for(R.services);
  const queue = new WorkQueue();
  const announced = new Set<string>();

  services.addHandlers({
    add: (svc) => {
      // After a restart, keep the addresses Services already show.
      const ip = ourIngress(svc, pool);
      if (ip && wantsAddress(svc)) pool.adopt(objectKey(svc), ip);
      queue.add(objectKey(svc));
    },
    update: (_old, svc) => queue.add(objectKey(svc)),
    delete: (svc) => queue.add(objectKey(svc)),
  });

  async function sync(key: string): Promise<void> {
    const svc = services.get(key);
    if (!wantsAddress(svc)) {
      const ip = pool.addressOf(key);
      pool.release(key);
      if (ip && announced.delete(ip)) await opts.announce?.remove(ip);
      // A freed address may be what a pending Service is waiting for.
      if (ip)
        for (const other of services.list()) if (wantsAddress(other) && !pool.addressOf(objectKey(other))) queue.add(objectKey(other));
      // A Service that stopped being a LoadBalancer loses the address it showed.
      if (svc && ourIngress(svc, pool) === undefined && svc.status?.loadBalancer?.ingress?.length && svc.spec?.type !== 'LoadBalancer') {
        await client.update(R.services, { ...svc, status: { ...svc.status, loadBalancer: {} } }, { subresource: 'status' });
      }
      return;
    }
    const ip = pool.assign(key, svc!.spec?.loadBalancerIP || undefined);
    if (!ip) return; // pool exhausted or the requested address is taken: stays <pending>
    if (!announced.has(ip)) {
      await opts.announce?.add(ip);
      announced.add(ip);
    }
    const current = svc!.status?.loadBalancer?.ingress;
    if (current?.length === 1 && current[0].ip === ip) return;
    await client.update(
      R.services,
      { ...svc!, status: { ...svc!.status, loadBalancer: { ingress: [{ ip, ipMode: 'VIP' }] } } },
      { subresource: 'status' },
    );
  }

  return runController({
    name: 'lbipam-controller',
    queue,
    workers: 1,
    sync,
    // Addresses Services already show are adopted as the first list arrives, before any is assigned.
    waitFor: [services.synced],
    onError: opts.onError,
    ownInformers: opts.informers ? undefined : informers,
  });
}
