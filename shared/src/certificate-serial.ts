/**
 * One spelling for a certificate serial, so that ANAF's token (`serial` "4a:1f:…", `sub`
 * "4a1f…"), the USB token and the browser's store can be compared: upper-case hex, no
 * separators, no leading zero bytes (the DER sign byte is not part of the number).
 */
export function normalizeSerialHex(s: string): string | undefined {
  const hex = s.replace(/[\s:.-]/g, '').toUpperCase();
  if (!/^[0-9A-F]{1,128}$/.test(hex)) return undefined;
  return hex.replace(/^(00)+(?=.)/, '');
}
