/**
 * Per-resource behaviour plugged into the generic REST storage, as kube-apiserver's registry
 * strategies: what happens before a create or update, how it is validated, and side effects
 * that must be undone when the store write fails (allocation).
 */
import type { FieldError } from '../../api/errors.js';
import type { KubeObject } from '../../api/meta.js';

/** A reversible side effect tied to one store write (e.g. a ClusterIP allocation). */
export interface WriteTransaction {
  commit(): void;
  revert(): void;
}

export interface StrategyContext {
  namespace?: string;
  /** Subresource being written ('status', 'scale'…), if any. */
  subresource?: string;
  dryRun: boolean;
  user?: string;
}

export interface Strategy {
  /** Resets fields the caller may not set on create (e.g. status), fills server-owned ones. */
  prepareForCreate?(obj: KubeObject, ctx: StrategyContext): void;
  /** Carries over what an update of this (sub)resource may not change. */
  prepareForUpdate?(obj: KubeObject, old: KubeObject, ctx: StrategyContext): void;
  /** Extra validation beyond the kind's own (e.g. cross-object checks). */
  validate?(obj: KubeObject, old: KubeObject | undefined, ctx: StrategyContext): FieldError[];
  /**
   * Side effects that belong to the write (allocation). Runs after validation; the returned
   * transaction is committed when the store write succeeds and reverted when it fails.
   * Throwing here fails the request (e.g. a StatusError 422 for "provided IP is already allocated").
   */
  beforeWrite?(
    obj: KubeObject,
    old: KubeObject | undefined,
    ctx: StrategyContext,
  ): Promise<WriteTransaction | undefined> | WriteTransaction | undefined;
  /** Releases what a deleted object held (e.g. its ClusterIP), after the delete is stored. */
  afterDelete?(obj: KubeObject): void;
  /**
   * Graceful deletion: returns the grace period to wait (the object gets deletionTimestamp and
   * stays), or 0 to delete now. Pods use it: the node agent stops the containers and then deletes.
   */
  gracePeriod?(obj: KubeObject, requested: number | undefined): number;
  /**
   * Finalizers kept outside metadata.finalizers that also hold deletion back (a Namespace's
   * spec.finalizers, removed by the namespace controller once the namespace is empty).
   */
  blockingFinalizers?(obj: KubeObject): string[];
  /** Adjusts an object being marked for deletion (a Namespace turns Terminating). */
  onDeleteMarked?(obj: KubeObject): void;
  /** True when a spec change should bump metadata.generation (resources with a spec). */
  tracksGeneration?: boolean;
}
