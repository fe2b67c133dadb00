import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request a WebhookReceiver got, with the status it answered. */
export interface ReceivedWebhook {
  headers: http.IncomingHttpHeaders;
  body: string;
  status: number;
}

export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>/hooks` */
  url: string;
  /** Every request so far, in arrival order. */
  received: ReceivedWebhook[];
  close(): Promise<void>;
}

/**
 * A webhook endpoint on 127.0.0.1 for a test: records each request and answers it with `answer(n)`, n counting
 * requests from 1 (read as each request ends, so a test can change its answer). @default every answer 204
 */
export async function startWebhookReceiver(answer: (request: number) => number = () => 204): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const status = answer(received.length + 1);
      received.push({ headers: request.headers, body, status });
      response.writeHead(status);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
