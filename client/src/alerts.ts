import { ref } from 'vue';

/** The outage cue: a short two-tone beep made with WebAudio (no audio file to ship), mutable. */
export const muted = ref(localStorage.getItem('vigil.muted') === '1');

export function setMuted(v: boolean): void {
  muted.value = v;
  localStorage.setItem('vigil.muted', v ? '1' : '0');
}

let ctx: AudioContext | null = null;
let lastBeep = 0;

export function beep(): void {
  if (muted.value) return;
  const now = Date.now();
  // a mass outage arrives over several batches: one cue, not a siren
  if (now - lastBeep < 3000) return;
  lastBeep = now;
  try {
    ctx ??= new AudioContext();
    const t = ctx.currentTime;
    for (const [i, f] of [880, 660].entries()) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = f;
      gain.gain.setValueAtTime(0.15, t + i * 0.18);
      gain.gain.exponentialRampToValueAtTime(0.001, t + i * 0.18 + 0.16);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t + i * 0.18);
      osc.stop(t + i * 0.18 + 0.17);
    }
  } catch {
    // no audio device (kiosk, headless): the visual cue still shows
  }
}
