/**
 * The services registry's allocation: ClusterIPs and NodePorts taken in the same transaction as
 * the store write (allocated before, given back if the write fails, old values released only once
 * the write succeeded), and a repair loop that rebuilds the allocators from the stored Services at
 * start and periodically frees leaks — kube-apiserver's service REST and repair controllers.
 */

import { NodePortAllocator } from '../../allocator/node-port.js';
import { AllocatorRepair } from '../../allocator/repair.js';
import { nthAddress, ServiceIPAllocator } from '../../allocator/service-ip.js';
import { allocateService, dropTypeDependentFields, normalizeClusterIPs, patchAllocatedValues } from '../../allocator/transaction.js';
import type { KubeObject } from '../../api/meta.js';
import type { Service } from '../../api/types/index.js';
import type { Strategy } from './strategy.js';

const REPAIR_INTERVAL_MS = 3 * 60_000; // kube's repair loop runs every 3 minutes

export class ServiceAllocation {
  readonly serviceIPs: ServiceIPAllocator;
  readonly nodePorts: NodePortAllocator;
  private timer: NodeJS.Timeout | undefined;
  private repairer: AllocatorRepair | undefined;

  constructor(
    readonly serviceCIDR: string,
    nodePortRange: string,
  ) {
    this.serviceIPs = new ServiceIPAllocator(serviceCIDR);
    this.nodePorts = new NodePortAllocator(nodePortRange);
  }

  /** The n-th address of the service CIDR (1: the `kubernetes` Service, 10: cluster DNS). */
  reservedIP(n: number): string {
    return nthAddress(this.serviceCIDR, n);
  }

  strategy(): Strategy {
    return {
      prepareForUpdate: (obj, old) => {
        // Fields the client may omit on update keep their allocated values (kube's PatchAllocatedValues).
        normalizeClusterIPs(obj as Service, old as Service);
        patchAllocatedValues(obj as Service, old as Service);
        // A type change drops what only the old type used (nodePorts, healthCheckNodePort…), as kube's strategy does.
        dropTypeDependentFields(obj as Service, old as Service);
      },
      beforeWrite: (obj, old) => allocateService(this, obj as Service, old as Service | undefined),
      afterDelete: (obj: KubeObject) => allocateService(this, undefined, obj as Service).commit(),
    };
  }

  /** One repair pass over the stored Services (marks what they hold, frees leaks). */
  async repair(listServices: () => Promise<KubeObject[]>): Promise<void> {
    this.repairer ??= new AllocatorRepair({
      listServices: async () => (await listServices()) as Service[],
      serviceIPs: this.serviceIPs,
      nodePorts: this.nodePorts,
    });
    const report = await this.repairer.runOnce();
    for (const f of [...report.duplicates, ...report.outOfRange, ...report.leaksFreed]) {
      process.stderr.write(`service allocation repair: ${f.message}\n`);
    }
  }

  startRepairLoop(listServices: () => Promise<KubeObject[]>, intervalMs = REPAIR_INTERVAL_MS): void {
    this.timer = setInterval(() => {
      this.repair(listServices).catch((e) => process.stderr.write(`service allocation repair failed: ${e}\n`));
    }, intervalMs);
    this.timer.unref();
  }

  stopRepairLoop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
