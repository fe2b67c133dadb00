import { TRANSITIONS } from '@settle/domain';
import { EVENT_TYPES, type EventType, type Status } from '@settle/wire';
import { orderEvent } from './orders';
import { z } from './zod';

/**
 * The schema version of each event type. Bump one when its schema changes in a way an existing consumer could
 * not read (a field removed or renamed, a type or enum narrowed, a new required field): the compatibility check
 * in tests/contracts compares every schema against its published `docs/schemas/<type>.v<n>.json`.
 */
export const EVENT_SCHEMA_VERSIONS: Readonly<Record<EventType, number>> = {
  'order.created': 1,
  'order.accepted': 1,
  'order.escrow_locked': 1,
  'order.payment_sent': 1,
  'order.completed': 1,
  'order.cancelled': 1,
  'order.expired': 1,
  'order.disputed': 1,
  'order.dispute_resolved': 1,
  'order.cancel_requested': 1,
  'order.extension_requested': 1,
  'order.extension_granted': 1,
};

/** Where the published schemas are identified: `<base><type>.v<n>.json`, the same name as the file in docs/schemas. */
export const SCHEMA_BASE_URI = 'https://settle.dev/schemas/';

/** `order.completed.v1`: the name of an event type's current schema (and of its file in docs/schemas). */
export function schemaName(type: EventType): string {
  return `${type}.v${EVENT_SCHEMA_VERSIONS[type]}`;
}

/** The CloudEvents `ce_type` of an event type: `settle.order.completed.v1` (the payload's `type` stays `order.completed`). */
export function cloudEventType(type: EventType): string {
  return `settle.${schemaName(type)}`;
}

/** The CloudEvents `ce_dataschema` of an event type: its JSON Schema's `$id`. */
export function dataSchemaUri(type: EventType): string {
  return `${SCHEMA_BASE_URI}${schemaName(type)}.json`;
}

/** Whether `type` is one of the order event types. */
export function isEventType(type: string): type is EventType {
  return (EVENT_TYPES as readonly string[]).includes(type);
}

// The statuses an event type can leave an order in, and come from, read off the state machine's table.
function statusesOf(type: EventType): { to: [Status, ...Status[]]; from: Status[] } {
  if (type === 'order.created') return { to: ['open'], from: [] };
  const to = new Set<Status>();
  const from = new Set<Status>();
  for (const rule of TRANSITIONS) {
    if (rule.event !== type) continue;
    from.add(rule.from);
    for (const status of typeof rule.to === 'string' ? [rule.to] : Object.values(rule.to)) to.add(status);
  }
  const [first, ...rest] = [...to];
  if (first === undefined) throw new Error(`no transition emits ${type}`);
  return { to: [first, ...rest], from: [...from] };
}

function typedEvent<T extends EventType>(type: T) {
  const { to, from } = statusesOf(type);
  const previous = from.length === 0 ? z.null() : z.enum(from as [Status, ...Status[]]).nullable();
  return orderEvent
    .extend({ type: z.literal(type), status: z.enum(to), previousStatus: previous })
    .describe(`${type} (CloudEvents type ${cloudEventType(type)})`);
}

/** One zod schema per event type: the common event shape with its `type` fixed and its statuses narrowed. */
export const orderEventSchemas = Object.fromEntries(EVENT_TYPES.map((type) => [type, typedEvent(type)])) as {
  [T in EventType]: ReturnType<typeof typedEvent<T>>;
};

/** Any order event, discriminated on `type`. */
export const typedOrderEvent = z.discriminatedUnion('type', [
  orderEventSchemas['order.created'],
  orderEventSchemas['order.accepted'],
  orderEventSchemas['order.escrow_locked'],
  orderEventSchemas['order.payment_sent'],
  orderEventSchemas['order.completed'],
  orderEventSchemas['order.cancelled'],
  orderEventSchemas['order.expired'],
  orderEventSchemas['order.disputed'],
  orderEventSchemas['order.dispute_resolved'],
  orderEventSchemas['order.cancel_requested'],
  orderEventSchemas['order.extension_requested'],
  orderEventSchemas['order.extension_granted'],
]);
/** An order event as a consumer receives it, narrowed by its `type`. */
export type TypedOrderEvent = { [T in EventType]: z.infer<(typeof orderEventSchemas)[T]> }[EventType];

/**
 * The published JSON Schema (draft-07, the dialect AsyncAPI's default schema format and most validators speak) of
 * an event type's current version, generated from its zod schema.
 */
export function eventJsonSchema(type: EventType): Record<string, unknown> {
  const generated = z.toJSONSchema(orderEventSchemas[type], { target: 'draft-7', unrepresentable: 'any', io: 'output' }) as Record<
    string,
    unknown
  >;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: dataSchemaUri(type),
    title: schemaName(type),
    description: `The value of a ${cloudEventType(type)} message on the order events topic.`,
    ...rest,
  };
}

export { EVENT_TYPES };
export type { EventType };
