/**
 * node:crypto, loaded on first use. Loading it costs about 5 ms, a twentieth of a `native status`
 * process, which reads only plain columns; the code that seals, opens or draws random bytes
 * asks for it here.
 */
import { createRequire } from 'node:module';

type NodeCrypto = typeof import('node:crypto');
let loaded: NodeCrypto | undefined;

export function nodeCrypto(): NodeCrypto {
  return (loaded ??= createRequire(import.meta.url)('node:crypto') as NodeCrypto);
}
