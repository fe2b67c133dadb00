-- Up Migration
-- The notifier stores each event's payload as the order event it consumed (the Kafka message's value, validated,
-- written as it is: no serialization in the notifier) and the change's traceparent, which travels in a Kafka header,
-- beside it. The socket payload is the two together, plus the recipient's seq. Rows written before this migration
-- carry their traceparent inside the payload and NULL here.
ALTER TABLE notification_payloads ADD COLUMN traceparent text;

-- Down Migration
ALTER TABLE notification_payloads DROP COLUMN IF EXISTS traceparent;
