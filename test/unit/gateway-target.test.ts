/**
 * Where a profile's token may be sent for e-Factura: the API base kept in the gateway's settings
 * is a plain column (a team store's database admin can change it), so it must lie on the
 * profile's own server, whose secret proves it; anything else is PROFILE_ALTERED, nothing sent.
 */
import { describe, expect, it } from 'vitest';
import { SqliteGatewayStore } from '../../native-host/src/gateway/sqlite-store.js';
import { apiTarget } from '../../native-host/src/gateway/target.js';
import { Vault } from '../../native-host/src/vault/vault.js';
import { tempPaths } from '../helpers/temp.js';

const env = { ANAF_TOKEN_KEYSTORE: 'file' };

function setup(serverEnv: string) {
  const paths = tempPaths('gw-target');
  const vault = Vault.open({ paths, env });
  vault.saveProfile(
    { name: 'p', clientId: 'c', clientSecret: 'secret-1', redirectUri: 'https://erp.example.ro/cb', env: serverEnv, refreshWindowDays: 14 },
    'create',
  );
  return { vault, gateway: SqliteGatewayStore.open(paths) };
}

describe('the e-Factura API base of a profile', () => {
  it("follows prod/test, or lies on ANAF's API hosts for an ANAF profile", async () => {
    const { vault, gateway } = setup('prod');
    expect(await apiTarget(vault, gateway, 'p')).toBe('prod');
    await gateway.setApiBase('p', 'https://api.anaf.ro/test');
    expect(await apiTarget(vault, gateway, 'p')).toBe('https://api.anaf.ro/test');
    for (const evil of ['https://attacker.example/prod', 'http://api.anaf.ro/prod', 'https://api.anaf.ro.attacker.example/prod']) {
      await gateway.setApiBase('p', evil);
      await expect(apiTarget(vault, gateway, 'p')).rejects.toMatchObject({ code: 'PROFILE_ALTERED' });
    }
  });

  it('for a profile on another OAuth server (a stand-in), lies on that same origin', async () => {
    const { vault, gateway } = setup('https://127.0.0.1:8443');
    await expect(apiTarget(vault, gateway, 'p')).rejects.toMatchObject({ code: 'GATEWAY_API_NOT_SET' });
    await gateway.setApiBase('p', 'https://127.0.0.1:8443/test');
    expect(await apiTarget(vault, gateway, 'p')).toBe('https://127.0.0.1:8443/test');
    for (const evil of ['https://127.0.0.1:9443/test', 'https://attacker.example/test', 'prod']) {
      await gateway.setApiBase('p', evil);
      await expect(apiTarget(vault, gateway, 'p')).rejects.toMatchObject({ code: 'PROFILE_ALTERED' });
    }
  });
});
