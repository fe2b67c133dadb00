/**
 * CPU profiles of one window of a benchmark (node:inspector's Profiler), so a profile shows the phase measured and
 * not the connecting of 10,000 sockets before it. Open the .cpuprofile files in Chrome DevTools or speedscope.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import path from 'node:path';

/** Starts profiling this process; the returned function stops and writes `<dir>/<name>.cpuprofile`. */
export async function profileWindow(dir: string, name: string): Promise<() => Promise<string>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  // 200 µs between samples (Node's default is 1 ms): the windows are a few seconds long.
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    const file = path.join(dir, `${name}.cpuprofile`);
    await writeFile(file, JSON.stringify(profile));
    return file;
  };
}
