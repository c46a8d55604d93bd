/**
 * callback.html: where the session rule sends ANAF's redirect. It hands the query (code and
 * state, or ANAF's error) to the background, which accepts it only from the flow's own tab and
 * passes it to the host. On success the background closes this tab; otherwise the message stays.
 */
import '../shared/zod-setup.js';
import '../shared/page.css';
import './callback.css';
import { ask } from '../shared/background-client.js';
import { toUiError } from '../shared/errors.js';
import { errorText, localizePage, t } from '../shared/i18n.js';

localizePage();
const search = location.search;
// The code must not stay in the address bar or the tab's history once it has been read.
history.replaceState(null, '', location.pathname);

const message = document.getElementById('message') as HTMLParagraphElement;
ask({ kind: 'callback', search }).then(
  (status) => {
    message.className = 'ok';
    message.textContent = t('callbackDone', status.profile.name, String(status.accessDaysLeft ?? '?'));
  },
  (e: unknown) => {
    message.className = 'error';
    message.textContent = errorText(toUiError(e));
  },
);
