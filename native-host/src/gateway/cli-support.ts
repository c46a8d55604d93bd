/** What the gateway's CLI commands share: the gateway for one run, the profile to act for. */
import fs from 'node:fs';
import { AppError } from '#shared/errors.js';
import type { App } from '../app.js';
import { withApp } from '../cli/context.js';
import { openGatewayStore } from './open.js';
import { Gateway } from './service.js';
import { checkApiBase } from './target.js';

export async function withGateway<T>(fn: (g: Gateway, app: App) => Promise<T>): Promise<T> {
  return withApp(async (app) => {
    const store = await openGatewayStore(app);
    const g = new Gateway({ app, store });
    try {
      return await fn(g, app);
    } finally {
      await g.close();
      await store.close();
    }
  });
}

/** The named profile, or the only one there is. */
export async function profileFor(app: App, name: string | undefined): Promise<string> {
  if (name !== undefined) return name;
  const page = await app.store.profilePage(undefined, 2);
  if (page.length === 1) return page[0]!.profile.name;
  throw new AppError('BAD_REQUEST', page.length === 0 ? 'no profile: add one first' : 'several profiles: say which with --profile');
}

export async function setProfileApi(app: App, profile: string, base: string | undefined): Promise<void> {
  await app.store.getProfile(profile);
  const store = await openGatewayStore(app);
  try {
    await store.setApiBase(profile, base === undefined ? undefined : checkApiBase(base));
  } finally {
    await store.close();
  }
}

export function readDocument(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new AppError('BAD_REQUEST', `${file}: ${(e as NodeJS.ErrnoException).code ?? 'cannot be read'}`);
  }
}
