import { httpExchange, isAnswer } from './http';
import type { Probe, ProbeResult, ProbeTarget } from './types';

const ENVELOPE =
  '<?xml version="1.0" encoding="UTF-8"?>' +
  '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">' +
  '<s:Body xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><tds:GetSystemDateAndTime/></s:Body>' +
  '</s:Envelope>';

/**
 * ONVIF `GetSystemDateAndTime` (SOAP 1.2 over HTTP), which the ONVIF core spec requires devices to answer
 * without authentication (clients need the clock to build WS-Security digests). 200 with a
 * GetSystemDateAndTimeResponse is ok; 401 is auth_required; a SOAP Fault or anything else is a protocol
 * error naming what kind of answer came back (never its text).
 */
export const onvifProbe: Probe = {
  kind: 'onvif',
  async check(target: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult> {
    const answer = await httpExchange(
      target,
      {
        method: 'POST',
        path: target.path ?? '/onvif/device_service',
        headers: { 'content-type': 'application/soap+xml; charset=utf-8; action="http://www.onvif.org/ver10/device/wsdl/GetSystemDateAndTime"' },
        body: ENVELOPE,
      },
      signal,
    );
    if (!isAnswer(answer)) return answer;
    const base = { rttMs: answer.rttMs, status: answer.status };
    if (answer.status === 401) return { ...base, up: true, outcome: 'auth_required', detail: 'GetSystemDateAndTime needs credentials' };
    if (answer.status === 200 && answer.body.includes('GetSystemDateAndTimeResponse')) return { ...base, up: true, outcome: 'ok' };
    // the fault's text is the device's to write: it is named, never echoed (a probe returns no bytes of its target)
    const fault = /<(?:\w+:)?Fault[\s>]/.test(answer.body);
    return {
      ...base,
      up: false,
      outcome: 'protocol_error',
      detail: fault ? 'SOAP fault' : answer.status === 200 ? 'no GetSystemDateAndTimeResponse in answer' : `status ${answer.status}`,
    };
  },
};
