/**
 * Allocator errors, worded exactly as kube-apiserver's ipallocator/portallocator errors, because
 * their text ends up verbatim in the 422/500 responses users see.
 */

export type AllocatorErrorReason = 'Full' | 'Allocated' | 'NotInRange' | 'Invalid';

export class AllocatorError extends Error {
  constructor(
    readonly reason: AllocatorErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'AllocatorError';
  }
}

export const errFull = (): AllocatorError => new AllocatorError('Full', 'range is full');

export const errIPAllocated = (): AllocatorError => new AllocatorError('Allocated', 'provided IP is already allocated');

export const errIPNotInRange = (validRange: string): AllocatorError =>
  new AllocatorError('NotInRange', `provided IP is not in the valid range. The range of valid IPs is ${validRange}`);

export const errPortAllocated = (): AllocatorError => new AllocatorError('Allocated', 'provided port is already allocated');

export const errPortNotInRange = (validPorts: string): AllocatorError =>
  new AllocatorError('NotInRange', `provided port is not in the valid range. The range of valid ports is ${validPorts}`);
