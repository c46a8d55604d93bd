/**
 * The gateway's store, chosen as the token store is (store/open-store.ts): its own SQLite file
 * beside the local vault, or its own tables in the team store's PostgreSQL database.
 */
import type { App } from '../app.js';
import type { GatewayStore } from './store.js';

export async function openGatewayStore(app: App): Promise<GatewayStore> {
  const where = app.location();
  if (where.engine === 'sqlite') {
    const { SqliteGatewayStore } = await import('./sqlite-store.js');
    return SqliteGatewayStore.open(app.paths);
  }
  const { PgGatewayStore } = await import('./pg-store.js');
  return PgGatewayStore.connect(where.url, app.now());
}
