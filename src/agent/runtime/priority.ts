/**
 * The agent's CPU share over its pods', which a kubelet gets from kube-reserved: the agent raises
 * its own scheduling priority and runs container commands (main processes, exec, probes) back at
 * the priority it was started with. When a hundred pods start at once, their processes' start-up
 * would otherwise take the CPU the agent needs for the sandboxes and status writes of the others.
 * Helpers the agent runs for itself (CNI plugins, `ip`, a container's mount set-up) keep its priority.
 */
import { getPriority, setPriority } from 'node:os';

/** How many nice levels the agent runs above its pods. */
export const AGENT_PRIORITY_BOOST = 5;

/** The nice increment container commands get (0: they run at the agent's own priority). */
let containerIncrement = 0;

/** The scheduling calls, injectable for tests. */
export interface PriorityOps {
  get(): number;
  set(priority: number): void;
}

const osPriority: PriorityOps = { get: () => getPriority(), set: (priority) => setPriority(priority) };

/**
 * Raises the calling process's priority by `boost` nice levels (it needs CAP_SYS_NICE, as the
 * agent of `svcnet up` has) and makes {@link atContainerPriority} lower container commands back.
 * Returns the boost applied: 0 when the process may not raise its priority.
 */
export function raiseAgentPriority(boost = AGENT_PRIORITY_BOOST, ops: PriorityOps = osPriority): number {
  const base = ops.get();
  const raised = Math.max(-20, base - boost);
  try {
    ops.set(raised);
  } catch {
    containerIncrement = 0;
    return 0;
  }
  containerIncrement = base - raised;
  return containerIncrement;
}

/** `argv` run at the priority containers get: `nice -n <boost> argv` when the agent raised its own. */
export function atContainerPriority(argv: readonly string[]): string[] {
  return containerIncrement > 0 ? ['nice', '-n', String(containerIncrement), ...argv] : [...argv];
}
