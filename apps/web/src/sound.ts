import newOrderUrl from './assets/new_order.wav';
import tradeCompleteUrl from './assets/trade_complete.wav';

/** The desk's sounds, by name. */
export const SOUNDS = { trade_complete: tradeCompleteUrl, new_order: newOrderUrl } as const;
export type SoundName = keyof typeof SOUNDS;

const elements = new Map<SoundName, HTMLAudioElement>();

/** Plays a sound once; a browser that blocks autoplay (no click yet) just stays silent. */
export function play(name: SoundName): void {
  let audio = elements.get(name);
  if (audio === undefined) {
    audio = new Audio(SOUNDS[name]);
    audio.dataset['sound'] = name;
    elements.set(name, audio);
  }
  audio.currentTime = 0;
  audio.play().catch(() => undefined);
}
