/**
 * The load generator's HTTP/1.1 client: one keep-alive connection per concurrent caller, requests written
 * as one string, responses parsed only as far as the bench needs (status and Content-Length body).
 *
 * Why not undici (or node:http): the generator shares the 2 cores with the API and Postgres, and its CPU per
 * request comes straight off the API's throughput, while the baseline's client (pgbench, in C) costs
 * ~40 µs per transition. undici cost ~110 µs per request here; this client about a third of that.
 */
import net from 'node:net';

export interface Response {
  status: number;
  body: string;
}

const HEADER_END = Buffer.from('\r\n\r\n');

export class Connection {
  private readonly socket: net.Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private pending: { resolve: (response: Response) => void; reject: (error: Error) => void } | undefined;

  constructor(port: number) {
    this.socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => this.fail(new Error('the API closed the connection')));
  }

  /** One request at a time per connection (no pipelining): the next is sent after this one's response. */
  request(method: string, path: string, headers: string, body: string): Promise<Response> {
    if (this.pending !== undefined) throw new Error('one request at a time per connection');
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(`${method} ${path} HTTP/1.1\r\nhost: bench\r\n${headers}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
  }

  /** False once either side closed it (the API closes idle keep-alive connections after a few seconds). */
  get open(): boolean {
    return !this.socket.destroyed;
  }

  close(): void {
    this.socket.removeAllListeners('close');
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const end = this.buffered.indexOf(HEADER_END);
    if (end < 0) return;
    const head = this.buffered.toString('latin1', 0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
    if (length === undefined) return this.fail(new Error(`a response without Content-Length: ${head.split('\r\n')[0]}`));
    const total = end + HEADER_END.length + Number(length);
    if (this.buffered.length < total) return;
    const response = { status: Number(head.slice(9, 12)), body: this.buffered.toString('utf8', end + HEADER_END.length, total) };
    this.buffered = this.buffered.subarray(total);
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve(response);
  }

  private fail(error: Error): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
  }
}

/**
 * Keep-alive connections to one API port, one request at a time each: a request takes an idle connection (or
 * opens one) and gives it back. `headers` are extra header lines, each ending in CRLF.
 */
export class ConnectionPool {
  private readonly idle: Connection[] = [];
  private readonly opened: Connection[] = [];

  constructor(private readonly port: number) {}

  async request(method: string, path: string, token: string, body: unknown, headers = ''): Promise<Response> {
    let connection = this.idle.pop();
    while (connection !== undefined && !connection.open) connection = this.idle.pop();
    if (connection === undefined) {
      connection = new Connection(this.port);
      this.opened.push(connection);
    }
    const response = await connection.request(
      method,
      path,
      `authorization: Bearer ${token}\r\ncontent-type: application/json\r\n${headers}`,
      JSON.stringify(body),
    );
    this.idle.push(connection);
    return response;
  }

  /** Closes every connection it opened, idle or not. */
  close(): void {
    for (const connection of this.opened.splice(0)) connection.close();
    this.idle.length = 0;
  }
}
