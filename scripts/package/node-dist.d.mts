// Types of node-dist.mjs, for the tests that run the pinned Node (test/helpers/wine.ts).
export type NodeTarget = 'win-x64' | 'linux-x64' | 'darwin-arm64' | 'darwin-x64';
export declare const NODE_VERSION: string;
export declare const AUTHENTICODE: { signerSubject: string; root: string; rootSha1: string };
/** The checked Node binary for a target, fetched into `cacheDir` when it is not there yet. */
export declare function nodeBinary(target: NodeTarget, cacheDir: string): string;
