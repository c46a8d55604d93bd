// node.exe's Authenticode signature, checked with Debian's osslsigncode before we touch the file:
// the signer must be the OpenJS Foundation, chained to Microsoft's code-signing root (pinned in
// pins/, since Debian's CA list does not carry Microsoft's roots), the signed digest must match
// the file. Revocation lists are not fetched (CI reaches only npm and apt) and the signing
// certificate is checked at the signature's timestamp (Azure Trusted Signing certificates live
// three days). Then the signature is removed: injecting the blob would break it anyway, and a
// broken signature is worse than none (SmartScreen).
import crypto from 'node:crypto';
import fs from 'node:fs';
import { AUTHENTICODE } from './node-dist.mjs';
import { run } from './run.mjs';

export function verifyNodeSignature(exe) {
  const rootSha1 = new crypto.X509Certificate(fs.readFileSync(AUTHENTICODE.root)).fingerprint.replace(/:/g, '');
  if (rootSha1 !== AUTHENTICODE.rootSha1) throw new Error(`${AUTHENTICODE.root}: fingerprint ${rootSha1} is not the pinned ${AUTHENTICODE.rootSha1}`);
  const r = run('osslsigncode', ['verify', '-CAfile', AUTHENTICODE.root, '-TSA-CAfile', AUTHENTICODE.root, '-ignore-crl', '-in', exe], { allowFail: true });
  const out = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0 || !/^Signature verification: ok$/m.test(out)) throw new Error(`${exe}: Authenticode signature not verified\n${out.slice(-1500)}`);
  // The first "Signer #0" block is the primary signature's signer.
  const signer = /Signer's certificate:\s*-+\s*Signer #0:\s*Subject: (.*)/.exec(out)?.[1]?.trim();
  if (signer !== AUTHENTICODE.signerSubject) throw new Error(`${exe}: signed by "${signer}", not "${AUTHENTICODE.signerSubject}"`);
  const digests = /Current message digest\s*:\s*([0-9A-F]+)\s*\nCalculated message digest\s*:\s*([0-9A-F]+)/.exec(out);
  if (!digests || digests[1] !== digests[2]) throw new Error(`${exe}: signed digest does not match the file`);
  return signer;
}

export function removeSignature(input, output) {
  fs.rmSync(output, { force: true });
  run('osslsigncode', ['remove-signature', '-in', input, '-out', output]);
}
