/** Each fault group reports one line: how much was tried, refused, crashed and lost. */
import fs from 'node:fs';
import path from 'node:path';

export interface FaultSummary {
  group: string;
  tried: number;
  refused: number;
  crashed: number;
  lost: number;
  note?: string;
}

export function reportFaults(s: FaultSummary): void {
  const line = `faults ${s.group}: tried ${s.tried}, refused ${s.refused}, crashed ${s.crashed}, lost ${s.lost}${s.note ? ` (${s.note})` : ''}`;
  process.stdout.write(`${line}\n`);
  const dir = path.resolve('.artifacts', 'faults');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${s.group}.json`), JSON.stringify({ ...s, line }, null, 2));
}
