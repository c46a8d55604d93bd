/**
 * The gateway inside serve: its store (beside the token store), its worker (sending, polling,
 * reconciling whatever is due, from any process), its routes, and the optional webhook
 * (ANAF_TOKEN_GATEWAY_WEBHOOK, an http address on loopback).
 */
import type { App } from '../app.js';
import { openGatewayStore } from '../gateway/open.js';
import { Gateway } from '../gateway/service.js';
import type { Grant } from '../gateway/tokens.js';
import { webhook } from '../gateway/webhook.js';
import { GatewayRoutes } from './gateway-routes.js';

export async function startGateway(app: App, grant: Grant, env: NodeJS.ProcessEnv = process.env): Promise<{ routes: GatewayRoutes; close(): Promise<void> }> {
  const hook = env.ANAF_TOKEN_GATEWAY_WEBHOOK ? webhook(env.ANAF_TOKEN_GATEWAY_WEBHOOK, app.log) : undefined;
  const store = await openGatewayStore(app);
  const gateway = new Gateway({ app, store, grant, ...(hook ? { onChange: hook } : {}) });
  gateway.worker.start();
  return {
    routes: new GatewayRoutes(gateway, app.store, app.now),
    async close() {
      await gateway.close();
      await store.close();
    },
  };
}
