/**
 * Writes the desk's two sounds (src/assets/*.wav): 16-bit mono PCM at 16 kHz, a few hundred milliseconds of sine
 * tones with short fades, so they are generated here rather than downloaded. `npm run sounds -w @settle/web`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const RATE = 16_000;
const here = path.dirname(fileURLToPath(import.meta.url));

/** Tones as [frequency Hz, seconds]; each fades in and out over 8 ms so it does not click. */
function render(tones: Array<[number, number]>, volume: number): Int16Array {
  const total = tones.reduce((sum, [, seconds]) => sum + Math.round(seconds * RATE), 0);
  const samples = new Int16Array(total);
  let offset = 0;
  for (const [frequency, seconds] of tones) {
    const length = Math.round(seconds * RATE);
    const fade = Math.round(0.008 * RATE);
    for (let i = 0; i < length; i += 1) {
      const envelope = Math.min(1, i / fade, (length - i) / fade);
      samples[offset + i] = Math.round(Math.sin((2 * Math.PI * frequency * i) / RATE) * envelope * volume * 32_767);
    }
    offset += length;
  }
  return samples;
}

function wav(samples: Int16Array): Buffer {
  const data = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(RATE, 24);
  header.writeUInt32LE(RATE * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

const sounds: Record<string, Buffer> = {
  // A rising major arpeggio: the trade settled.
  'trade_complete.wav': wav(
    render(
      [
        [659.25, 0.09],
        [830.61, 0.09],
        [987.77, 0.18],
      ],
      0.35,
    ),
  ),
  // One soft blip: a new order on the book.
  'new_order.wav': wav(
    render(
      [
        [880, 0.07],
        [0, 0.03],
        [880, 0.07],
      ],
      0.25,
    ),
  ),
};
for (const [name, bytes] of Object.entries(sounds)) {
  fs.writeFileSync(path.join(here, '../src/assets', name), bytes);
  process.stdout.write(`src/assets/${name}: ${bytes.length} bytes\n`);
}
