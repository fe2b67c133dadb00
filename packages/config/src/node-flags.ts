/**
 * Node flags an app runs with, wherever it is started (npm start, Docker, benches, tests that spawn it).
 *
 * The API allocates many short-lived objects per request, and every mark-compact stalls the requests in
 * flight for 5-20 ms (bench/api's half-load p99):
 * - with V8's default 16 MB semi-space, at several hundred requests/s many objects live through two
 *   scavenges and get promoted, and a mark-compact follows every few seconds. A 64 MB young generation keeps
 *   them young;
 * - but V8 starts incremental marking as soon as the old generation's headroom is smaller than the young
 *   generation (a scavenge could promote all of it). Old space's first limit is sized for a small heap, so
 *   with 64 MB semi-spaces a mark-compact ran every ~1.3 s (--trace-incremental-marking: "Start (task)" at
 *   29 of 95 MB). A 256 MB initial old space gives the headroom: no mark-compact in a 6 s half-load phase.
 */
export const APP_NODE_FLAGS: Readonly<Record<string, readonly string[]>> = {
  api: ['--max-semi-space-size=64', '--initial-old-space-size=256'],
};
