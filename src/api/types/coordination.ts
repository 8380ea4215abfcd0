/** coordination.k8s.io/v1 Lease (leader election, node heartbeats). */
import { listOf, objectHeader } from './meta.js';
import { doc, i32, MicroTime, type Static, str, struct } from './schema.js';

const COORD = 'io.k8s.api.coordination.v1';

export const Lease = struct(`${COORD}.Lease`, 'A lease on a named lock, used for leader election and node heartbeats.', {
  ...objectHeader,
  spec: struct(`${COORD}.LeaseSpec`, 'State of the lease.', {
    holderIdentity: str('Identity of the current holder.'),
    leaseDurationSeconds: i32('Seconds candidates wait before taking the lease over.'),
    acquireTime: doc(MicroTime, 'When the current holder acquired the lease.'),
    renewTime: doc(MicroTime, 'When the holder last renewed the lease.'),
    leaseTransitions: i32('How often the lease changed holders.'),
    strategy: str('Strategy for picking a leader in coordinated election.'),
    preferredHolder: str('Holder the lease should move to.'),
  }),
});
export type Lease = Static<typeof Lease>;
export const LeaseList = listOf(`${COORD}.LeaseList`, 'Lease', Lease);
