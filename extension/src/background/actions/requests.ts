/**
 * Request links, the requester's side (docs/request-links.md): made, listed, cancelled and
 * imported by the host. A passphrase goes from the options page through this worker's memory
 * to the host only; an answer is cut out of the pasted text here, so the host gets the answer alone.
 */
import { AppError } from '#shared/errors.js';
import type { ResultOf } from '#shared/protocol/messages.js';
import { joinAnswer, splitAnswer } from '#shared/request/format.js';
import { HostError } from '../../shared/errors.js';
import type { RequestForm } from '../../shared/ui-protocol.js';
import { host } from '../native/host-port.js';
import { refetchQuietly } from './status.js';

export function createRequest(form: RequestForm): Promise<ResultOf<'request.create'>> {
  return host.request({
    type: 'request.create',
    profile: form.profile,
    validMs: form.validMs,
    ...(form.note === undefined ? {} : { note: form.note }),
    ...(form.passphrase === undefined ? {} : { passphrase: form.passphrase }),
  });
}

export function listRequests(): Promise<ResultOf<'request.list'>> {
  return host.request({ type: 'request.list' });
}

export function cancelRequest(requestId: string): Promise<ResultOf<'request.cancel'>> {
  return host.request({ type: 'request.cancel', requestId });
}

/** The answer alone, or REQUEST_TAMPERED (in both languages, like the host's refusals) when the text holds no whole answer. */
function answerIn(text: string): string {
  try {
    return joinAnswer(splitAnswer(text));
  } catch (e) {
    throw new HostError(AppError.from(e).toPayload());
  }
}

export async function importAnswer(text: string): Promise<ResultOf<'request.import'>> {
  const result = await host.request({ type: 'request.import', answer: answerIn(text) });
  // The profile has a new token: the popup and the badge learn of it from the status cache.
  await refetchQuietly();
  return result;
}
