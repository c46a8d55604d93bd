/**
 * Extension pages forbid eval (MV3 CSP); zod would otherwise probe `new Function` and every page
 * would log a CSP violation. Imported first by each entry point.
 */
import * as z from 'zod/mini';

z.config({ jitless: true });
