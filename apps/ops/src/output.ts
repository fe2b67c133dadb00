import type { DeadLetter, DeadLetterAuditEntry } from '@settle/db';
import { SingleBar } from 'cli-progress';

/** A dead letter as `--json` prints it (the value decoded as UTF-8, JSON-parsed when it is JSON). */
export function deadLetterJson(letter: DeadLetter & { audit?: DeadLetterAuditEntry[] }): Record<string, unknown> {
  const text = letter.value?.toString('utf8') ?? null;
  let value: unknown = text;
  try {
    value = text === null ? null : JSON.parse(text);
  } catch {
    // Not JSON (an InvalidJsonError letter): shown as text.
  }
  return {
    id: letter.id,
    status: letter.status,
    channel: letter.channel,
    exceptionClass: letter.exceptionClass,
    exceptionMessage: letter.exceptionMessage,
    attempts: letter.attempts,
    replayCount: letter.replayCount,
    eventId: letter.eventId,
    eventType: letter.eventType,
    orderId: letter.orderId,
    merchantIds: letter.merchantIds,
    webhookEndpointId: letter.webhookEndpointId,
    deadAt: letter.dltTimestamp.toISOString(),
    original: {
      topic: letter.originalTopic,
      partition: letter.originalPartition,
      offset: letter.originalOffset,
      timestamp: letter.originalTimestamp,
      consumerGroup: letter.consumerGroup,
    },
    dlt: { topic: letter.dltTopic, partition: letter.dltPartition, offset: letter.dltOffset },
    lastReplayedAt: letter.lastReplayedAt?.toISOString() ?? null,
    resolvedAt: letter.resolvedAt?.toISOString() ?? null,
    resolvedBy: letter.resolvedBy,
    resolutionNote: letter.resolutionNote,
    ...(letter.audit !== undefined
      ? { stacktrace: letter.exceptionStacktrace, key: letter.key, headers: letter.originalHeaders, value, audit: letter.audit }
      : {}),
  };
}

/** How a command shows a list: `json` for --json, else `empty` when there is nothing, else a table of `header` and a row per item. */
export interface ListView<T> {
  json: unknown;
  empty: string;
  header: string[];
  row: (item: T) => string[];
}

/** Prints `items` as `view` says (indented JSON with `asJson`); returns whether it printed a table. */
export function printList<T>(print: (text: string) => void, items: T[], asJson: boolean | undefined, view: ListView<T>): boolean {
  if (asJson === true) print(JSON.stringify(view.json, null, 2));
  else print(items.length === 0 ? view.empty : table(view.header, items.map(view.row)));
  return asJson !== true && items.length > 0;
}

/** A plain table: header row, then one row per item, columns padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export const shorten = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

export function deadLetterRow(letter: DeadLetter): string[] {
  return [
    String(letter.id),
    letter.status,
    letter.dltTimestamp.toISOString().replace(/\.\d+Z$/, 'Z'),
    letter.channel,
    letter.eventType ?? '-',
    letter.orderId ?? '-',
    letter.merchantIds.join(',') || '-',
    String(letter.replayCount),
    shorten(`${letter.exceptionClass}: ${letter.exceptionMessage}`, 70),
  ];
}

export const LIST_HEADER = ['ID', 'STATUS', 'DEAD AT', 'CHANNEL', 'TYPE', 'ORDER', 'MERCHANTS', 'REPLAYS', 'ERROR'];

export function deadLetterDetails(letter: DeadLetter & { audit: DeadLetterAuditEntry[] }): string {
  const json = deadLetterJson(letter);
  const lines = [
    `dead letter ${letter.id} (${letter.status})`,
    `  error        ${letter.exceptionClass}: ${letter.exceptionMessage}`,
    `  channel      ${letter.channel}${letter.webhookEndpointId !== null ? ` (endpoint ${letter.webhookEndpointId})` : ''}`,
    `  event        ${letter.eventType ?? '-'} ${letter.eventId ?? ''}`.trimEnd(),
    `  order        ${letter.orderId ?? '-'}   merchants ${letter.merchantIds.join(', ') || '-'}`,
    `  original     ${letter.originalTopic} [${letter.originalPartition ?? '?'}] @ ${letter.originalOffset ?? '?'} (group ${letter.consumerGroup ?? '?'})`,
    `  dead at      ${letter.dltTimestamp.toISOString()} after ${letter.attempts} attempt(s); replayed ${letter.replayCount} time(s)`,
  ];
  if (letter.resolvedAt !== null)
    lines.push(`  resolved     ${letter.resolvedAt.toISOString()} by ${letter.resolvedBy ?? '?'}: ${letter.resolutionNote ?? ''}`);
  lines.push(
    '  value',
    ...JSON.stringify(json['value'], null, 2)
      .split('\n')
      .map((line) => `    ${line}`),
  );
  if (letter.exceptionStacktrace !== null)
    lines.push(
      '  stacktrace',
      ...letter.exceptionStacktrace
        .split('\n')
        .slice(0, 12)
        .map((line) => `    ${line}`),
    );
  lines.push('  audit');
  if (letter.audit.length === 0) lines.push('    (none)');
  for (const entry of letter.audit)
    lines.push(`    ${entry.at.toISOString()}  ${entry.action.padEnd(8)} by ${entry.actor}: ${entry.reason}`);
  return lines.join('\n');
}

/** The progress bar of a long command, drawn on `stream` (stderr); none when `off` (with --json stdout holds one JSON document). */
export function progressBar(stream: NodeJS.WritableStream, format: string, off: boolean): SingleBar | undefined {
  return off ? undefined : new SingleBar({ stream, format, hideCursor: true, noTTYOutput: false });
}
