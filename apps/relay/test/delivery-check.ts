import type { Consumed } from './helpers';

export interface DeliveryReport {
  /** Messages in Kafka that repeat an id already there. */
  duplicates: number;
  /** Runs of re-sent messages (one per restart that re-sent anything). */
  replays: number;
  /** Longest re-sent run. */
  longestReplay: number;
  /** Problems found; empty when delivery is as promised. */
  violations: string[];
}

/**
 * Checks at-least-once delivery the way the relay promises it. Per partition, the log must be a concatenation of
 * runs, each a contiguous slice of the partition's commit-ordered stream (its first occurrences): within a run
 * nothing is skipped, and a run that re-sends starts no earlier than the previous re-send started (the slot's
 * confirmed position only moves forward). So every duplicate is a re-send of a tail the crashed relay had not
 * had acknowledged yet, replayed in order.
 */
export function checkDelivery(messages: Consumed[]): DeliveryReport {
  const report: DeliveryReport = { duplicates: 0, replays: 0, longestReplay: 0, violations: [] };
  const partitions = new Map<string, Consumed[]>();
  for (const message of messages) {
    const key = `${message.topic}/${message.partition}`;
    const list = partitions.get(key) ?? [];
    list.push(message);
    partitions.set(key, list);
  }
  for (const [partition, list] of partitions) {
    list.sort((a, b) => (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1));
    const index = new Map<string, number>();
    for (const message of list) if (!index.has(message.id)) index.set(message.id, index.size);
    let previous = -1;
    let maxSeen = -1;
    let lastReplayStart = -1;
    let duplicateRun = 0;
    for (const message of list) {
      const position = index.get(message.id) ?? -1;
      if (position > previous + 1) {
        report.violations.push(`${partition}: offset ${message.offset} skips from stream position ${previous} to ${position}`);
      } else if (position <= previous) {
        // A restart re-sending from the slot's confirmed position, which never moves backwards.
        if (position < lastReplayStart) {
          report.violations.push(
            `${partition}: offset ${message.offset} re-sends from ${position}, before an earlier re-send from ${lastReplayStart}`,
          );
        }
        lastReplayStart = position;
        report.replays += 1;
      }
      duplicateRun = position <= maxSeen ? duplicateRun + 1 : 0;
      report.longestReplay = Math.max(report.longestReplay, duplicateRun);
      maxSeen = Math.max(maxSeen, position);
      previous = position;
    }
    report.duplicates += list.length - index.size;
  }
  return report;
}
