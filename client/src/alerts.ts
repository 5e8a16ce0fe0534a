import { ref } from 'vue';

/** The outage cue: a short two-tone beep made with WebAudio (no audio file to ship), mutable. */
export const muted = ref(localStorage.getItem('vigil.muted') === '1');

export function setMuted(v: boolean): void {
  muted.value = v;
  localStorage.setItem('vigil.muted', v ? '1' : '0');
}

let ctx: AudioContext | null = null;
let lastBeep = 0;

/*
 * Browsers keep an AudioContext made without a user gesture suspended (autoplay policy), and creating one
 * costs tens of ms: make it on the operator's first click or key, never inside a storm of outages.
 */
function unlockAudio(): void {
  try {
    ctx ??= new AudioContext();
    void ctx.resume();
  } catch {
    // no audio device (kiosk, headless): the visual cue still shows
  }
}
window.addEventListener('pointerdown', unlockAudio, { once: true, capture: true });
window.addEventListener('keydown', unlockAudio, { once: true, capture: true });

/** What the cues did, for the end-to-end test's page hook (`window.__vigilCues`): played and muted, per cue. */
const cueCounts = { outage: 0, incident: 0, muted: 0 };

/** The outage cue (a point went DOWN on the board). */
export function beep(): void {
  if (muted.value) {
    cueCounts.muted++;
    return;
  }
  const now = Date.now();
  // a mass outage arrives over several batches: one cue, not a siren
  if (now - lastBeep < 3000 || !ctx) return;
  lastBeep = now;
  cueCounts.outage++;
  const audio = ctx;
  // out of the batch's task: a storm's frame is for the board
  setTimeout(() => play(audio, [880, 660]), 0);
}

let lastAlarm = 0;
/**
 * The new-incident cue: three rising tones, apart from the outage beep (a point going DOWN comes first, the
 * incident it opens a moment later, and must still be heard). Same mute switch; one cue per 3 s.
 */
export function alarm(): void {
  if (muted.value) {
    cueCounts.muted++;
    return;
  }
  const now = Date.now();
  if (now - lastAlarm < 3000 || !ctx) return;
  lastAlarm = now;
  cueCounts.incident++;
  const audio = ctx;
  setTimeout(() => play(audio, [660, 880, 1100]), 0);
}

declare global {
  interface Window {
    __vigilCues?: { counts: () => { outage: number; incident: number; muted: number }; audioState: () => string };
  }
}
window.__vigilCues = { counts: () => ({ ...cueCounts }), audioState: () => ctx?.state ?? 'none' };

function play(audio: AudioContext, tones: readonly number[]): void {
  try {
    const t = audio.currentTime;
    for (const [i, f] of tones.entries()) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = f;
      gain.gain.setValueAtTime(0.15, t + i * 0.18);
      gain.gain.exponentialRampToValueAtTime(0.001, t + i * 0.18 + 0.16);
      osc.connect(gain).connect(audio.destination);
      osc.start(t + i * 0.18);
      osc.stop(t + i * 0.18 + 0.17);
    }
  } catch {
    // no audio device (kiosk, headless): the visual cue still shows
  }
}
