/**
 * One wine prefix for the suite, in a temp folder, saying Windows 10 (test/helpers/wine.ts),
 * removed at the end.
 */
import { makeWinePrefix, wineMissing } from '../helpers/wine.js';

export default function setup(): () => void {
  const missing = wineMissing();
  if (missing) throw new Error(missing);
  const wine = makeWinePrefix();
  process.env.ANAF_WINE_PREFIX = wine.prefix;
  return () => wine.dispose();
}
