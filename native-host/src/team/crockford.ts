/**
 * Crockford's base32, for what people read aloud or type: digits and capital letters without
 * I, L, O and U, so that 0/O and 1/I/L cannot be confused and no word slips in by chance. Typed
 * input is forgiving (case, spaces, dashes, O for 0, I or L for 1); what is shown is canonical.
 */

export const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const BASE = CROCKFORD.length;

/** The first `chars` × 5 bits of `bytes`, as Crockford characters. */
export function toCrockford(bytes: Buffer, chars: number): string {
  if (chars * 5 > bytes.length * 8) throw new Error('not enough bytes for that many characters');
  let out = '';
  for (let i = 0; i < chars; i++) {
    let v = 0;
    for (let b = 0; b < 5; b++) {
      const bit = i * 5 + b;
      v = (v << 1) | ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1);
    }
    out += CROCKFORD[v];
  }
  return out;
}

/**
 * Canonical characters of what someone typed: upper case, spaces and dashes dropped, O read as
 * 0, I and L as 1. Undefined when a character is outside the alphabet (U included).
 */
export function normalizeCrockford(input: string): string | undefined {
  const s = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return [...s].every((c) => CROCKFORD.includes(c)) ? s : undefined;
}

/** Luhn mod N: sum of the digits, every second one doubled (folded back below N), from the right. */
function luhnSum(s: string, doubleFirst: boolean): number {
  let sum = 0;
  let double = doubleFirst;
  for (let i = s.length - 1; i >= 0; i--) {
    let v = CROCKFORD.indexOf(s[i]!) * (double ? 2 : 1);
    v = Math.floor(v / BASE) + (v % BASE);
    sum += v;
    double = !double;
  }
  return sum % BASE;
}

/**
 * The Luhn mod 32 check character of `s` (canonical): it catches every single mistyped
 * character and nearly every swap of two neighbours, so a typo is refused before it costs anything.
 */
export function luhnCheckChar(s: string): string {
  return CROCKFORD[(BASE - luhnSum(s, true)) % BASE]!;
}

/** `s` ends with the right check character. */
export function luhnValid(s: string): boolean {
  return s.length >= 2 && luhnSum(s, false) === 0;
}

/** `ABCDEFGHJKM` → `ABCD-EFGH-JKM`: groups of four to read aloud. */
export function groupsOfFour(s: string): string {
  return s.match(/.{1,4}/g)?.join('-') ?? '';
}
