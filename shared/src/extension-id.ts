/**
 * The extension's public key (manifest `key`) fixes its ID, so the native host manifest's
 * allowed_origins stays stable for unpacked installs. The private key is never committed.
 */
export const EXTENSION_PUBLIC_KEY =
  'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtcNtg2U+T1Z0+35wSXCnWs5OW/ZoaIUc5LcqVF8t1Ndjym4xDhw0RivYpTe7pZ47ISfMpYglwYr9vkMF76BtWiUbElyppe5xr60hdKD6MplQUoRhu3EptPfNz7/MYVcLvWpnWc204JZWnhf9ABa4L5HpKLp88KLKdeFSvd9royqv3pnzxGMxuIk4Kjef6pOVbHmfBttJA0amAECvALQWgVfTwYqEnyqqtNJlo/P4MEe5S+tTS609e3scVtXEfVXZ/epi37E7aRyO8Lg9MnvFz0krUIpqwzXRymHpB/ZLifsk2ScLygpA4/CklSO96ewCPRWhR/IBb5Z9yoZasdLrkQIDAQAB';
/** First 32 hex digits of sha256(DER public key), 0-9a-f mapped to a-p (checked by a test). */
export const EXTENSION_ID = 'igbjmhbmmlfhbpngcanfobibgjmcfpnn';
