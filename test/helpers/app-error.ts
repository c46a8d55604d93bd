/** Awaits a promise that must fail with an AppError of this code. */
import { expect } from 'vitest';
import { AppError, type ErrorCode } from '#shared/errors.js';

export async function refusedWith(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e, `expected ${code}`).toBeInstanceOf(AppError);
  expect((e as AppError).code).toBe(code);
}
