import { readFileSync } from 'node:fs';
import net from 'node:net';

const LOWEST_PORT = 10_000;
const handedOut = new Set<number>();

/**
 * The first port of the kernel's ephemeral range (Linux: /proc/sys/net/ipv4/ip_local_port_range; 32768 when it
 * cannot be read). Outgoing connections take their local port from that range.
 */
function ephemeralRangeStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const port = Number(low);
    return Number.isInteger(port) && port > LOWEST_PORT + 1_000 ? port : 32_768;
  } catch {
    return 32_768;
  }
}

function tryListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port on 127.0.0.1 that is free now, for a server another process will open shortly.
 *
 * It is picked below the kernel's ephemeral range: a port from that range (what `listen(0)` returns) can be taken,
 * before the server opens it, as the local port of any outgoing connection on the machine — a Postgres or Kafka
 * client in a parallel test file was enough to make a relay fail with EADDRINUSE. This process never hands out the
 * same port twice.
 */
export async function freePort(): Promise<number> {
  const span = ephemeralRangeStart() - LOWEST_PORT;
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = LOWEST_PORT + Math.floor(Math.random() * span);
    if (handedOut.has(port) || !(await tryListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`found no free TCP port on 127.0.0.1 between ${LOWEST_PORT} and ${LOWEST_PORT + span - 1} after 200 tries`);
}

/** True when something already accepts TCP connections on 127.0.0.1:`port`. */
export async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
