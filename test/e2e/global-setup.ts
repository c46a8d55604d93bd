/**
 * Once per e2e run: check the system tools, build the native host and the test build of the
 * extension (test callback origins in host_permissions), and install the managed policy that
 * lets Chromium pick the client certificate by itself; remove the policy afterwards.
 */
import { buildAll, checkSystem } from './support/build.js';
import { removeAutoSelectPolicy, writeAutoSelectPolicy } from './support/policy.js';
import { wrongNode } from '../helpers/node-runtime.js';

export default function setup(): () => void {
  const wrong = wrongNode();
  if (wrong) throw new Error(wrong);
  checkSystem();
  buildAll();
  writeAutoSelectPolicy();
  return () => removeAutoSelectPolicy();
}
