/** The vault with many profiles: time to find what is due, measured on a real vault file. */
import { Vault } from '../../native-host/src/vault/vault.js';
import type { Paths } from '../../native-host/src/config/paths.js';

const DAY = 86_400_000;
/** Profiles point at a closed loopback port: nothing in the benchmark may reach a real server. */
const UNREACHABLE = 'https://127.0.0.1:9';

/** Not due for refresh: the benchmark times serving, not refreshing. */
export const notDue = (i: number) => 60 - (i % 60) > 20;

export function fillVault(paths: Paths, count: number): void {
  const vault = Vault.open({ paths, env: { ANAF_TOKEN_KEYSTORE: 'file' } });
  const now = Date.now();
  vault.batch(() => {
    for (let i = 0; i < count; i++) {
      const name = `firma-${String(i).padStart(5, '0')}`;
      vault.saveProfile(
        {
          name,
          clientId: `client-${i}`,
          clientSecret: `secret-${i}-xxxxxxxx`,
          redirectUri: 'https://erp.example.ro/cb',
          env: UNREACHABLE,
          refreshWindowDays: 14,
        },
        'create',
      );
      // Expiries spread over 60..1 days: about a quarter is due; profile 0 (the one timed) is not.
      vault.saveTokens(
        name,
        { accessToken: `access-${i}`, refreshToken: `refresh-${i}`, accessExpiresAt: now + (60 - (i % 60)) * DAY, refreshExpiresAt: now + 300 * DAY },
        { kind: 'authorization', certificate: { subject: 'CN=POPESCU ION' }, stateEchoed: true },
      );
    }
  });
  vault.close();
}

export function timeDue(paths: Paths, runs: number): { times: number[]; due: number } {
  const vault = Vault.open({ paths, env: { ANAF_TOKEN_KEYSTORE: 'file' } });
  const times: number[] = [];
  let due = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    due = vault.dueForRefresh().length;
    times.push(performance.now() - t0);
  }
  vault.close();
  return { times, due };
}
