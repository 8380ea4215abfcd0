/**
 * Controller expectations (kube's UIDTrackingControllerExpectations): after a sync creates or
 * deletes pods, the next syncs must not act again until the informer has seen those changes —
 * otherwise a burst of watch events would make the controller create (or delete) twice.
 */

/** Expectations older than this are ignored, so a lost watch event cannot wedge a controller. */
export const EXPECTATIONS_TTL_MS = 5 * 60 * 1000;

interface Expectation {
  adds: number;
  /** Keys of pods whose deletion we are waiting to observe. */
  deletes: Set<string>;
  at: number;
}

export class Expectations {
  private readonly byController = new Map<string, Expectation>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** True when the controller may act: nothing outstanding, never recorded, or expired. */
  satisfied(key: string): boolean {
    const e = this.byController.get(key);
    if (!e) return true;
    if (e.adds <= 0 && e.deletes.size === 0) return true;
    return this.clock() - e.at > EXPECTATIONS_TTL_MS;
  }

  expectCreations(key: string, n: number): void {
    this.byController.set(key, { adds: n, deletes: new Set(), at: this.clock() });
  }

  expectDeletions(key: string, podKeys: string[]): void {
    this.byController.set(key, { adds: 0, deletes: new Set(podKeys), at: this.clock() });
  }

  creationObserved(key: string): void {
    const e = this.byController.get(key);
    if (e) e.adds--;
  }

  deletionObserved(key: string, podKey: string): void {
    this.byController.get(key)?.deletes.delete(podKey);
  }

  forget(key: string): void {
    this.byController.delete(key);
  }
}
