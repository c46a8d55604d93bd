/**
 * Options: the profiles the host keeps. The form goes to the host through the background; the
 * client secret is read from the field once, sent, and the field cleared — it is never stored
 * by the extension. Saving also asks for host access to the callback origin (and a custom
 * OAuth server), which the redirect rule needs; Chrome only allows that request inside the click.
 */
import '../shared/zod-setup.js';
import '../shared/page.css';
import './options.css';
import type { Profile } from '#shared/schemas/profile.js';
import { ask, connectBackground } from '../shared/background-client.js';
import { flowOrigins, flowPermissions } from '../shared/callback-url.js';
import { toUiError } from '../shared/errors.js';
import { errorText, localizePage, showError, t, type MessageKey } from '../shared/i18n.js';
import { profileFormSchema, type ProfileForm } from '../shared/ui-protocol.js';
import { initCertificates } from './certificates.js';
import { initRequests, setRequestProfiles } from './requests.js';

// First: the host starts while this page draws, and stays for as long as it is open.
connectBackground();

const REMOVE_CONFIRM_MS = 4000;

const form = document.getElementById('profile-form') as HTMLFormElement;
const field = <T extends HTMLInputElement | HTMLSelectElement>(name: string) => form.elements.namedItem(name) as T;
const statusLine = document.getElementById('form-status') as HTMLParagraphElement;

let profiles: Profile[] = [];
let editing: string | undefined;
/** Origins already granted, learned while the user types, so the click does not need to await. */
const granted = new Set<string>();

const FIELD_LABEL: Record<string, MessageKey> = {
  name: 'fieldName',
  clientId: 'fieldClientId',
  clientSecret: 'fieldClientSecret',
  redirectUri: 'fieldRedirectUri',
  env: 'fieldEnvUrl',
  refreshWindowDays: 'fieldRefreshWindow',
};

function showStatus(text: string, kind: 'ok' | 'error' | ''): void {
  statusLine.textContent = text;
  statusLine.className = kind;
}

function envValue(): string {
  const env = field<HTMLSelectElement>('env').value;
  return env === 'custom' ? field<HTMLInputElement>('envUrl').value.trim() : env;
}

type ReadResult = { ok: true; form: ProfileForm; origins: string[] } | { ok: false; message: string };

function readForm(): ReadResult {
  const secret = field<HTMLInputElement>('clientSecret').value.trim();
  const days = field<HTMLInputElement>('refreshWindowDays').value.trim();
  const parsed = profileFormSchema.safeParse({
    name: field<HTMLInputElement>('name').value.trim(),
    clientId: field<HTMLInputElement>('clientId').value.trim(),
    ...(secret ? { clientSecret: secret } : {}),
    redirectUri: field<HTMLInputElement>('redirectUri').value.trim(),
    env: envValue(),
    ...(days ? { refreshWindowDays: Number(days) } : {}),
  });
  if (!parsed.success) {
    const key = String(parsed.error.issues[0]?.path[0] ?? 'name');
    return { ok: false, message: t('formInvalid', t(FIELD_LABEL[key] ?? 'fieldName')) };
  }
  if (!editing && parsed.data.clientSecret === undefined) return { ok: false, message: t('formInvalid', t('fieldClientSecret')) };
  return { ok: true, form: parsed.data, origins: flowOrigins(parsed.data.redirectUri, parsed.data.env) };
}

async function learnGranted(): Promise<void> {
  let origins: string[];
  try {
    origins = flowOrigins(field<HTMLInputElement>('redirectUri').value.trim(), envValue());
  } catch {
    return;
  }
  for (const o of origins) if (await chrome.permissions.contains({ origins: [o] })) granted.add(o);
}

function setEditing(p: Profile | undefined): void {
  editing = p?.name;
  form.reset();
  (document.getElementById('form-heading') as HTMLElement).textContent = t(p ? 'formHeadingEdit' : 'formHeadingNew', p?.name ?? '');
  (document.getElementById('secret-help') as HTMLElement).textContent = t(p ? 'fieldClientSecretHelpEdit' : 'fieldClientSecretHelp');
  (document.getElementById('cancel-edit') as HTMLButtonElement).hidden = !p;
  const name = field<HTMLInputElement>('name');
  name.readOnly = Boolean(p);
  if (p) {
    name.value = p.name;
    field<HTMLInputElement>('clientId').value = p.clientId;
    field<HTMLInputElement>('redirectUri').value = p.redirectUri;
    const custom = p.env !== 'prod' && p.env !== 'test';
    field<HTMLSelectElement>('env').value = custom ? 'custom' : p.env;
    field<HTMLInputElement>('envUrl').value = custom ? p.env : '';
    field<HTMLInputElement>('refreshWindowDays').value = String(p.refreshWindowDays);
  }
  syncEnvRow();
  void learnGranted();
}

function syncEnvRow(): void {
  (document.getElementById('env-url-row') as HTMLElement).hidden = field<HTMLSelectElement>('env').value !== 'custom';
}

function cell(text: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

function renderList(): void {
  const body = document.getElementById('profiles') as HTMLTableSectionElement;
  (document.getElementById('profiles-table') as HTMLElement).hidden = profiles.length === 0;
  (document.getElementById('no-profiles') as HTMLElement).hidden = profiles.length > 0;
  body.replaceChildren(
    ...profiles.map((p) => {
      const tr = document.createElement('tr');
      tr.dataset.testid = `profile-row-${p.name}`;
      const edit = document.createElement('button');
      edit.type = 'button';
      edit.textContent = t('btnEdit');
      edit.dataset.testid = `edit-${p.name}`;
      edit.addEventListener('click', () => setEditing(p));
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'danger';
      remove.textContent = t('btnRemove');
      remove.dataset.testid = `remove-${p.name}`;
      let armedUntil = 0;
      remove.addEventListener('click', () => {
        if (armedUntil < Date.now()) {
          armedUntil = Date.now() + REMOVE_CONFIRM_MS;
          remove.textContent = t('btnRemoveConfirm');
          return;
        }
        remove.disabled = true;
        ask({ kind: 'profile.remove', profile: p.name }).then(
          async () => {
            showStatus(t('removedProfile', p.name), 'ok');
            if (editing === p.name) setEditing(undefined);
            await loadProfiles();
          },
          (e: unknown) => {
            remove.disabled = false;
            showStatus(errorText(toUiError(e)), 'error');
          },
        );
      });
      const actions = cell('');
      actions.className = 'row-actions';
      actions.append(edit, remove);
      tr.append(cell(p.name), cell(p.clientId), cell(p.redirectUri), cell(p.env), actions);
      return tr;
    }),
  );
}

async function loadProfiles(): Promise<void> {
  const banner = document.getElementById('host-error') as HTMLElement;
  try {
    profiles = (await ask({ kind: 'status' })).profiles.map((s) => s.profile);
    banner.hidden = true;
    setRequestProfiles(profiles.map((p) => p.name));
  } catch (e) {
    banner.hidden = false;
    showError(banner, toUiError(e));
  }
  renderList();
}

async function save(data: ProfileForm, permitted: Promise<boolean>, hosts: string[]): Promise<void> {
  const submit = form.querySelector<HTMLButtonElement>('button[type=submit]');
  if (submit) submit.disabled = true;
  try {
    await ask({ kind: 'profile.save', profile: data });
    setEditing(undefined);
    showStatus(t('savedProfile', data.name), 'ok');
    await loadProfiles();
  } catch (e) {
    showStatus(errorText(toUiError(e)), 'error');
    return;
  } finally {
    if (submit) submit.disabled = false;
  }
  // Saved either way; without the permission "Obtain token" asks for it again.
  if (!(await permitted.catch(() => false))) showStatus(t('savedWithoutPermission', data.name, hosts.join(', ')), 'error');
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const read = readForm();
  if (!read.ok) {
    showStatus(read.message, 'error');
    return;
  }
  // The secret leaves the page with this request only.
  field<HTMLInputElement>('clientSecret').value = '';
  const missing = read.origins.filter((o) => !granted.has(o));
  const permitted = missing.length ? chrome.permissions.request(flowPermissions(missing)) : Promise.resolve(true);
  showStatus(t('saving'), '');
  void save(
    read.form,
    permitted,
    missing.map((o) => new URL(o.replace('/*', '/')).host),
  );
});

field<HTMLSelectElement>('env').addEventListener('change', () => {
  syncEnvRow();
  void learnGranted();
});
for (const name of ['redirectUri', 'envUrl']) field<HTMLInputElement>(name).addEventListener('input', () => void learnGranted());
(document.getElementById('cancel-edit') as HTMLButtonElement).addEventListener('click', () => setEditing(undefined));

localizePage();
setEditing(undefined);
void loadProfiles();
initCertificates();
initRequests();
