/** The local vault answers the Store's behaviour suite as the team store does (test/integration/team-store.test.ts). */
import { Vault } from '../../native-host/src/vault/vault.js';
import { storeContract } from '../helpers/store-contract.js';
import { tempPaths } from '../helpers/temp.js';

storeContract('sqlite', async (clock) => Vault.open({ paths: tempPaths('contract'), now: clock.now, env: { ...process.env, ANAF_TOKEN_KEYSTORE: 'file' } }));
