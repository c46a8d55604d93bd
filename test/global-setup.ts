/** Integration tests run the built CLI, as users do: build the bundle once before any test file. */
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build-host.mjs'], { stdio: 'inherit' });
}
