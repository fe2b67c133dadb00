package dev.settle.bench;

import java.io.Reader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import javax.management.MBeanServer;
import javax.management.ObjectName;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.connect.source.SourceRecord;

import io.debezium.embedded.Connect;
import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;

/**
 * Debezium's embedded engine with a Kafka producer as its sink: bench:relay's Debezium baseline, started by
 * bench/relay/debezium.ts.
 *
 * Its one argument is a properties file (it holds the database password, so not on the command line). Keys
 * starting with {@code producer.} configure the KafkaProducer (prefix removed); every other key is a Debezium
 * engine, connector or transform property. The sink works as Debezium Server's Kafka sink does: send the whole
 * batch, wait for every ack, then mark each record processed and the batch finished, so an offset (and the slot's
 * confirmed LSN) never passes an event Kafka has not acknowledged.
 *
 * Prints {@link #STREAMING} on stdout once the connector streams from its replication slot; Debezium's and
 * Kafka's logs go to stderr (slf4j-simple). SIGTERM closes the engine (committing its offsets) and the producer;
 * an engine that fails exits 1.
 */
public final class DebeziumRelay {

    /** The line bench/relay/debezium.ts waits for. */
    static final String STREAMING = "debezium-relay: streaming";

    private static final String PRODUCER_PREFIX = "producer.";
    private static final Duration SEND_TIMEOUT = Duration.ofSeconds(30);

    private DebeziumRelay() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: DebeziumRelay <properties file>");
        }
        Properties all = new Properties();
        try (Reader reader = Files.newBufferedReader(Path.of(args[0]), StandardCharsets.UTF_8)) {
            all.load(reader);
        }
        Properties engineProperties = new Properties();
        Properties producerProperties = new Properties();
        producerProperties.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        producerProperties.put(ProducerConfig.ACKS_CONFIG, "all");
        for (String key : all.stringPropertyNames()) {
            if (key.startsWith(PRODUCER_PREFIX)) {
                producerProperties.put(key.substring(PRODUCER_PREFIX.length()), all.getProperty(key));
            }
            else {
                engineProperties.put(key, all.getProperty(key));
            }
        }

        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerProperties, new ByteArraySerializer(), new ByteArraySerializer());
        AtomicBoolean stopping = new AtomicBoolean(false);
        CountDownLatch finished = new CountDownLatch(1);
        DebeziumEngine<ChangeEvent<SourceRecord, SourceRecord>> engine = DebeziumEngine.create(Connect.class)
                .using(engineProperties)
                .using((success, message, error) -> {
                    if (!success && !stopping.get()) {
                        // One line, last, for the launcher's error: Debezium has logged the stack trace above it.
                        System.err.println("debezium-relay: engine failed: " + message + (error == null ? "" : "; cause: " + rootCause(error)));
                    }
                    finished.countDown();
                })
                .notifying(new KafkaSink(producer))
                .build();

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopping.set(true);
            try {
                if (finished.getCount() > 0) {
                    engine.close();
                    finished.await(30, TimeUnit.SECONDS);
                }
            }
            catch (Exception e) {
                e.printStackTrace(System.err);
            }
            producer.close(Duration.ofSeconds(10));
        }, "debezium-relay-stop"));

        ExecutorService runner = Executors.newSingleThreadExecutor();
        runner.execute(engine);
        if (awaitStreaming(engineProperties, finished)) {
            System.out.println(STREAMING);
            System.out.flush();
        }
        finished.await();
        runner.shutdown();
        // The engine ended by itself (a failure, logged above): exit rather than linger on the producer's threads.
        // When SIGTERM stopped it, the shutdown hook is running and the JVM exits once it is done.
        if (!stopping.get()) {
            System.exit(1);
        }
    }

    /**
     * Waits until the connector streams from its slot: its streaming metrics say connected (set just before the
     * stream is opened) and Postgres shows the slot active. From then on every committed outbox row reaches the sink.
     * Returns false when the engine stopped first.
     */
    private static boolean awaitStreaming(Properties engine, CountDownLatch finished) throws Exception {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        // One connector per JVM here, so its streaming metrics are the only match.
        ObjectName streaming = new ObjectName("debezium.postgres:type=connector-metrics,context=streaming,*");
        while (!connected(server, streaming)) {
            if (finished.await(20, TimeUnit.MILLISECONDS)) {
                return false;
            }
        }
        String url = "jdbc:postgresql://" + engine.getProperty("database.hostname") + ":" + engine.getProperty("database.port") + "/"
                + engine.getProperty("database.dbname");
        try (Connection connection = DriverManager.getConnection(url, engine.getProperty("database.user"), engine.getProperty("database.password"));
                PreparedStatement active = connection.prepareStatement("SELECT active FROM pg_replication_slots WHERE slot_name = ?")) {
            active.setString(1, engine.getProperty("slot.name"));
            for (;;) {
                try (ResultSet row = active.executeQuery()) {
                    if (row.next() && row.getBoolean(1)) {
                        return true;
                    }
                }
                if (finished.await(20, TimeUnit.MILLISECONDS)) {
                    return false;
                }
            }
        }
    }

    private static String rootCause(Throwable error) {
        Throwable cause = error;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        return cause.toString();
    }

    private static boolean connected(MBeanServer server, ObjectName streaming) throws Exception {
        for (ObjectName name : server.queryNames(streaming, null)) {
            if (Boolean.TRUE.equals(server.getAttribute(name, "Connected"))) {
                return true;
            }
        }
        return false;
    }

    /** Sends a batch, waits for every ack, then commits it: Debezium Server's Kafka sink, with raw string values. */
    private static final class KafkaSink implements DebeziumEngine.ChangeConsumer<ChangeEvent<SourceRecord, SourceRecord>> {
        private final KafkaProducer<byte[], byte[]> producer;

        KafkaSink(KafkaProducer<byte[], byte[]> producer) {
            this.producer = producer;
        }

        @Override
        public void handleBatch(List<ChangeEvent<SourceRecord, SourceRecord>> records,
                                DebeziumEngine.RecordCommitter<ChangeEvent<SourceRecord, SourceRecord>> committer)
                throws InterruptedException {
            List<Future<RecordMetadata>> acks = new ArrayList<>(records.size());
            for (ChangeEvent<SourceRecord, SourceRecord> event : records) {
                SourceRecord record = event.value();
                RecordHeaders headers = cloudEventHeaders(record);
                acks.add(producer.send(new ProducerRecord<>(record.topic(), null, null, bytes(record.key()), bytes(record.value()), headers)));
            }
            for (int i = 0; i < records.size(); i++) {
                try {
                    acks.get(i).get(SEND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                }
                catch (ExecutionException | TimeoutException e) {
                    throw new IllegalStateException("Kafka did not acknowledge a record of topic " + records.get(i).value().topic(), e);
                }
                committer.markProcessed(records.get(i));
            }
            committer.markBatchFinished();
        }

        /**
         * The EventRouter's headers (`id`, `type`, `orderVersion`) plus the CloudEvents binary-mode headers our relay
         * writes from the same row (content-type, ce_specversion, ce_id, ce_type, ce_source, ce_subject, ce_time), so
         * both contenders put about the same bytes per record on the broker. `aggregatetype` and `createdAt` come in
         * as headers for this only and are not sent. Only our relay's `commitLsn` has no counterpart: the
         * EventRouter drops the source position.
         */
        private static RecordHeaders cloudEventHeaders(SourceRecord record) {
            RecordHeaders headers = new RecordHeaders();
            String id = null;
            String type = null;
            String aggregatetype = null;
            String createdAt = null;
            for (org.apache.kafka.connect.header.Header header : record.headers()) {
                switch (header.key()) {
                    case "aggregatetype" -> aggregatetype = String.valueOf(header.value());
                    case "createdAt" -> createdAt = String.valueOf(header.value());
                    default -> {
                        if (header.key().equals("id")) {
                            id = String.valueOf(header.value());
                        }
                        if (header.key().equals("type")) {
                            type = String.valueOf(header.value());
                        }
                        headers.add(header.key(), bytes(header.value()));
                    }
                }
            }
            headers.add("content-type", bytes("application/json"));
            headers.add("ce_specversion", bytes("1.0"));
            headers.add("ce_id", bytes(id));
            headers.add("ce_type", bytes(type));
            headers.add("ce_source", bytes("/settle/" + aggregatetype + "s"));
            headers.add("ce_subject", bytes(record.key()));
            headers.add("ce_time", bytes(createdAt));
            return headers;
        }

        /**
         * The EventRouter leaves key (aggregateid), value (the jsonb payload's text) and the id header as strings;
         * anything else (a Struct from a misconfigured transform) is refused rather than sent as its toString().
         */
        private static byte[] bytes(Object value) {
            if (value == null) {
                return null;
            }
            if (value instanceof byte[] raw) {
                return raw;
            }
            if (value instanceof String || value instanceof Number || value instanceof Boolean) {
                return value.toString().getBytes(StandardCharsets.UTF_8);
            }
            throw new IllegalStateException("cannot send a " + value.getClass().getName() + " as raw bytes: check the EventRouter settings");
        }
    }
}
