import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { NotifierConfig } from '@settle/config';
import {
  addressAllowList,
  checkPublicHost,
  claimDueWebhookDeliveries,
  disableWebhookEndpoint,
  recordWebhookAttempt,
  type DueWebhookDelivery,
  type Pool,
  type ResolvedAddress,
  type WebhookOutcome,
} from '@settle/db';
import { traceparentOf } from '@settle/kafka';
import type { Logger, Tracing } from '@settle/observability';
import type { Producer } from 'kafkajs';
import { Webhook } from 'standardwebhooks';
import { backoffDelay } from '@settle/backoff';
import { publishDeadLetters } from './dead-letters';
import { describe, retriesExhausted, webhookFailure, type WebhookAnswer } from './errors';
import type { NotifierMetrics } from './metrics';

export interface WebhookDispatcher {
  /** Look for due deliveries now (called after new ones were committed). */
  wake(): void;
  stop(): Promise<void>;
}

class AttemptTimeoutError extends Error {
  override name = 'TimeoutError';
}

/**
 * POSTs `body` to `url` over a connection to `address`, the one address that was checked: the socket never asks
 * DNS again, so a name that re-resolves between the check and the connect (DNS rebinding) cannot redirect it.
 * The Host header and the TLS server name (SNI and certificate check) stay the URL's host. Redirects are not
 * followed. Resolves with the status code once the response has been read; rejects on timeout or network error.
 */
function postTo(url: URL, address: ResolvedAddress, headers: Record<string, string>, body: string, timeoutMs: number): Promise<number> {
  const lookup: LookupFunction = (_host, options, callback) => {
    if (options.all === true) callback(null, [address]);
    else callback(null, address.address, address.family);
  };
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    // One connection per attempt (no agent pool): a pooled socket would reach an address checked for another attempt.
    const request = transport.request(
      url,
      { method: 'POST', agent: false, lookup, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (response) => {
        response.resume();
        response.on('end', () => {
          clearTimeout(timer);
          resolve(response.statusCode ?? 0);
        });
        response.on('error', reject);
      },
    );
    const timer = setTimeout(() => request.destroy(new AttemptTimeoutError(`no answer within ${timeoutMs} ms`)), timeoutMs);
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end(body);
  });
}

/**
 * Sends due webhook deliveries, signed per Standard Webhooks (`webhook-id` = `msg_<delivery id>`, the same for
 * every attempt; `webhook-timestamp`; `webhook-signature` = v1 HMAC-SHA256), body `{type, timestamp, data}`.
 * Retries with exponential backoff; after the last attempt, or a final 4xx, the event goes to the dead-letter
 * topic. Every attempt is recorded. Each attempt resolves the endpoint's host once and connects to that address
 * only if it is public (or WEBHOOK_ALLOWED_HOSTS allows it); otherwise nothing is sent, the endpoint is disabled
 * with the reason and the event goes to the dead-letter topic.
 */
export function startWebhookDispatcher(options: {
  config: NotifierConfig;
  pool: Pool;
  producer: Producer;
  topic: string;
  groupId: string;
  metrics: NotifierMetrics;
  logger: Logger;
  tracing: Tracing;
}): WebhookDispatcher {
  const { config, pool, producer, metrics, logger, tracing } = options;
  const backoff = {
    baseMs: config.WEBHOOK_RETRY_BASE_MS,
    factor: config.WEBHOOK_RETRY_FACTOR,
    capMs: config.WEBHOOK_RETRY_CAP_MS,
    jitter: 0.2,
  };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  const allow = addressAllowList(config.WEBHOOK_ALLOWED_HOSTS);

  async function send(delivery: DueWebhookDelivery, traceparent: string): Promise<WebhookAnswer> {
    const timestamp = new Date();
    const body = JSON.stringify({ type: delivery.eventType, timestamp: timestamp.toISOString(), data: delivery.payload });
    const id = `msg_${delivery.id}`;
    const signature = new Webhook(delivery.secret).sign(id, timestamp, body);
    // Resolved and checked on every attempt: a host that was public at registration may not be now.
    const destination = await checkPublicHost(new URL(delivery.url), allow);
    if (!destination.ok)
      return { statusCode: null, error: destination.reason, ...(destination.kind === 'refused' ? { refused: destination.reason } : {}) };
    try {
      const status = await postTo(
        new URL(delivery.url),
        destination.address,
        {
          'content-type': 'application/json',
          'user-agent': 'Settle-Webhooks/1',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
          'webhook-signature': signature,
          traceparent,
        },
        body,
        config.WEBHOOK_TIMEOUT_MS,
      );
      return { statusCode: status, error: status >= 200 && status < 300 ? null : `HTTP ${status}` };
    } catch (error) {
      const detail = describe(error);
      return {
        statusCode: null,
        error: detail.name === 'TimeoutError' ? `timed out after ${config.WEBHOOK_TIMEOUT_MS} ms` : `${detail.name}: ${detail.message}`,
      };
    }
  }

  async function attempt(delivery: DueWebhookDelivery): Promise<void> {
    const startedAt = new Date();
    // The receiver continues the change's trace: its traceparent names this attempt as the parent.
    const span = tracing.startSpan('webhook POST', {
      parent: traceparentOf(delivery.source.headers),
      kind: 'client',
      attributes: { 'settle.event_id': delivery.eventId, 'settle.webhook_endpoint_id': delivery.endpointId },
    });
    const answer = await send(delivery, span.traceparent);
    span.setAttributes({ 'http.response.status_code': answer.statusCode ?? 0 });
    span.end(answer.error === null ? undefined : new Error(answer.error));
    const durationMs = Date.now() - startedAt.getTime();
    const number = delivery.attempts + 1;
    let outcome: WebhookOutcome;
    // The decision reads only the failure's disposition, fixed by webhookFailure from the answer.
    const failure = webhookFailure(delivery.url, answer);
    if (failure === undefined) outcome = { kind: 'delivered' };
    else if (failure.disposition === 'retryable' && number < config.WEBHOOK_MAX_ATTEMPTS)
      outcome = { kind: 'retry', delayMs: backoffDelay(number, backoff) };
    else {
      const error = failure.disposition === 'retryable' ? retriesExhausted(delivery.url, number, answer) : failure;
      const detail = describe(error);
      // Published before the outcome is recorded: if Kafka is down the delivery stays pending and is tried again.
      try {
        await publishDeadLetters(producer, options.topic, [
          {
            key: delivery.source.key,
            value: delivery.source.value,
            // The source message's own headers, as a socket dead letter keeps them: a replay's count among them.
            headers: delivery.source.headers,
            info: {
              originalTopic: delivery.source.topic,
              originalPartition: delivery.source.partition,
              originalOffset: delivery.source.offset,
              originalTimestamp: delivery.source.timestamp,
              consumerGroup: options.groupId,
              exceptionClass: detail.name,
              exceptionMessage: detail.message,
              exceptionStacktrace: detail.stack,
              attempts: number,
              eventId: delivery.eventId,
              channel: 'webhook',
              webhookEndpointId: delivery.endpointId,
            },
          },
        ]);
        outcome = { kind: 'dead' };
        metrics.deadLetters.inc({ channel: 'webhook', reason: detail.name });
      } catch (publishError) {
        logger.error(
          { err: publishError, deliveryId: delivery.id, traceId: span.traceId },
          'could not publish the webhook dead letter; the delivery stays pending',
        );
        outcome = { kind: 'retry', delayMs: backoffDelay(number, backoff) };
      }
    }
    if (answer.refused !== undefined) {
      // Disabled before the attempt is recorded, so a merchant who reads the refused attempt also reads why.
      await disableWebhookEndpoint(pool, delivery.endpointId, answer.refused);
      logger.warn(
        { endpointId: delivery.endpointId, deliveryId: delivery.id, traceId: span.traceId, reason: answer.refused },
        'webhook endpoint disabled',
      );
    }
    metrics.webhookAttempts.inc({ outcome: outcome.kind });
    await recordWebhookAttempt(
      pool,
      { id: delivery.id, attempt: number },
      { startedAt, durationMs, statusCode: answer.statusCode, error: answer.error },
      outcome,
    );
    logger.info(
      {
        deliveryId: delivery.id,
        eventId: delivery.eventId,
        traceId: span.traceId,
        attempt: number,
        statusCode: answer.statusCode,
        outcome: outcome.kind,
      },
      'webhook attempt',
    );
  }

  async function tick(): Promise<void> {
    do {
      again = false;
      const due = await claimDueWebhookDeliveries(pool, 50, config.WEBHOOK_TIMEOUT_MS * 2 + 5_000);
      await Promise.all(due.map((delivery) => attempt(delivery)));
      if (due.length === 50) again = true;
    } while (again && !stopped);
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(run, delayMs);
  }

  function run(): void {
    timer = undefined;
    if (running !== undefined) {
      again = true;
      return;
    }
    running = tick()
      .catch((error: unknown) => logger.warn({ err: error }, 'webhook dispatch failed; trying again on the next tick'))
      .finally(() => {
        running = undefined;
        schedule(config.WEBHOOK_POLL_MS);
      });
  }

  schedule(0);
  return {
    wake: () => schedule(0),
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
  };
}
