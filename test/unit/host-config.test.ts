/** config.json is checked field by field (host-config.ts): defaults for what is missing, nothing else kept, a bad field named. */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXTENSION_ID } from '#shared/extension-id.js';
import { parseConfig, readConfig } from '../../native-host/src/config/host-config.js';
import { ensurePrivateDir } from '../../native-host/src/config/paths.js';
import { tempPaths } from '../helpers/temp.js';

const OTHER_ID = 'abcdefghijklmnopabcdefghijklmnop';

describe('host config', () => {
  it('fills in the defaults and keeps only its own fields', () => {
    expect(parseConfig({})).toEqual({ ok: true, config: { allowedExtensionIds: [EXTENSION_ID], pkcs11Modules: [] } });
    const full = { allowedExtensionIds: [OTHER_ID], pkcs11Modules: ['/usr/lib/x.so'], store: 'postgresql://db/anaf', extra: 1 };
    expect(parseConfig(full)).toEqual({
      ok: true,
      config: { allowedExtensionIds: [OTHER_ID], pkcs11Modules: ['/usr/lib/x.so'], store: 'postgresql://db/anaf' },
    });
  });

  it('names the field that is wrong', () => {
    expect(parseConfig([])).toEqual({ ok: false, issue: 'not a JSON object' });
    expect(parseConfig({ allowedExtensionIds: ['ABC'] })).toMatchObject({ ok: false, issue: expect.stringMatching(/^allowedExtensionIds:/) });
    expect(parseConfig({ allowedExtensionIds: OTHER_ID })).toMatchObject({ ok: false, issue: expect.stringMatching(/^allowedExtensionIds:/) });
    expect(parseConfig({ pkcs11Modules: [''] })).toMatchObject({ ok: false, issue: expect.stringMatching(/^pkcs11Modules:/) });
    expect(parseConfig({ pkcs11Modules: ['x'.repeat(1025)] })).toMatchObject({ ok: false, issue: expect.stringMatching(/^pkcs11Modules:/) });
    expect(parseConfig({ store: 'mysql://db' })).toMatchObject({ ok: false, issue: expect.stringMatching(/^store:/) });
    expect(parseConfig({ store: `postgres://${'x'.repeat(2048)}` })).toMatchObject({ ok: false, issue: expect.stringMatching(/^store:/) });
  });

  it('reads the file: none means the defaults; a bad one is refused with its name', () => {
    const paths = tempPaths('config');
    ensurePrivateDir(paths.dataDir);
    expect(readConfig(paths).allowedExtensionIds).toEqual([EXTENSION_ID]);
    fs.writeFileSync(paths.configFile, JSON.stringify({ pkcs11Modules: [7] }), { mode: 0o600 });
    expect(() => readConfig(paths)).toThrow(`${paths.configFile}: pkcs11Modules: a list of file paths`);
    fs.writeFileSync(paths.configFile, '{', { mode: 0o600 });
    expect(() => readConfig(paths)).toThrow('is not valid JSON');
  });
});
