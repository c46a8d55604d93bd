/** An obtain flow keeps the native port open while it waits or completes (told every write by flow-store.ts). */
import type { Flows } from '../../shared/flow-state.js';
import { host } from './host-port.js';

let release: (() => void) | undefined;

export function holdWhileFlowsRun(flows: Flows): void {
  const running = Object.values(flows).some((f) => f.phase === 'waiting' || f.phase === 'completing');
  if (running && !release) release = host.hold('flows');
  else if (!running && release) {
    release();
    release = undefined;
  }
}
