import { httpProbe } from './http';
import { onvifProbe } from './onvif';
import { rtspProbe } from './rtsp';
import { tcpProbe } from './tcp';
import type { Probe, ProbeKind } from './types';

export const probes: Readonly<Record<ProbeKind, Probe>> = { tcp: tcpProbe, rtsp: rtspProbe, onvif: onvifProbe, http: httpProbe };

export * from './types';
