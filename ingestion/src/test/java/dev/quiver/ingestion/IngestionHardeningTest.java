package dev.quiver.ingestion;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.FeatureRepo;
import dev.quiver.registry.load.RepoLoader;
import dev.quiver.registry.logic.FeatureLogic;
import dev.quiver.registry.plan.Plan;
import dev.quiver.registry.plan.Planner;
import dev.quiver.registry.rows.RowBatch;
import dev.quiver.registry.rows.RowSink;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.store.DirectoryRegistryStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ingestion on a real broker when records, sinks and the broker misbehave: dead letters of any
 * size, dead letters that cannot be sent, values too large to store, and the health it reports.
 */
class IngestionHardeningTest {
  static final int BIG_TOPIC_BYTES = 4 << 20;

  @TempDir static Path dir;
  static EmbeddedKafka kafka;
  static KafkaProducer<byte[], byte[]> producer;

  @BeforeAll
  static void start() throws Exception {
    kafka = EmbeddedKafka.start(dir.resolve("kafka"));
    producer =
        new KafkaProducer<>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                kafka.bootstrapServers(),
                ProducerConfig.ACKS_CONFIG,
                "all",
                ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
                BIG_TOPIC_BYTES),
            new ByteArraySerializer(),
            new ByteArraySerializer());
  }

  @AfterAll
  static void stop() {
    producer.close();
    kafka.close();
  }

  /** A sink in memory that fails every write while {@link #failWith} is set. */
  static final class MemorySink implements RowSink {
    final List<ViewRow> rows = new ArrayList<>();
    final Map<ViewId, Map<SourcePartition, Long>> positions = new HashMap<>();
    volatile String failWith;
    final java.util.Set<Long> clocks = new java.util.HashSet<>();

    @Override
    public String name() {
      return "memory";
    }

    @Override
    public synchronized long position(ViewId view, SourcePartition partition) {
      return positions.getOrDefault(view, Map.of()).getOrDefault(partition, 0L);
    }

    @Override
    public synchronized void write(RowBatch batch) throws IOException {
      String fail = failWith;
      if (fail != null) {
        throw new IOException(fail);
      }
      rows.addAll(batch.rows());
      clocks.add(batch.clockMicros());
      batch
          .positions()
          .forEach((v, p) -> positions.computeIfAbsent(v, x -> new HashMap<>()).putAll(p));
    }

    @Override
    public void prepare(Collection<ViewId> views) {}

    synchronized List<ViewRow> rowsOf(String view) {
      return rows.stream().filter(r -> r.view().name().equals(view)).toList();
    }

    synchronized long positionOf(String view, String topic) {
      return position(new ViewId(view, 1), new SourcePartition(topic, 0));
    }
  }

  static RegistrySnapshot registry(Path repo, String yaml) throws Exception {
    Files.createDirectories(repo);
    Files.writeString(repo.resolve("quiver.yaml"), "project: hard\ndata_dir: data\n");
    Files.writeString(repo.resolve("features.yaml"), yaml);
    FeatureRepo loaded = RepoLoader.load(repo);
    DirectoryRegistryStore store = new DirectoryRegistryStore(repo.resolve("data/registry"));
    Plan plan = Planner.plan(RegistrySnapshot.getDefaultInstance(), loaded, false);
    assertThat(plan.canApply()).as("plan: %s", plan.refusals()).isTrue();
    return store.apply(0, plan.next());
  }

  static String source(String topic) {
    return String.join(
        "\n",
        "  " + topic + ":",
        "    kafka: {topic: " + topic + "}",
        "    event_timestamp: ts",
        "    schema: {card_id: string, amount: double, note: string, ts: int64}",
        "");
  }

  static String view(String name, String topic, String feature, String expr) {
    return String.join(
        "\n",
        "  " + name + ":",
        "    entities: [card]",
        "    source: " + topic,
        "    features:",
        "      "
            + feature
            + ": {type: "
            + (feature.equals("note") ? "string" : "double")
            + ", expr: "
            + expr
            + "}",
        "");
  }

  static String registryOf(String... topics) {
    StringBuilder b = new StringBuilder("entities:\n  card: {join_keys: {card_id: string}}\n");
    b.append("sources:\n");
    for (String t : topics) {
      b.append(source(t));
    }
    b.append("feature_views:\n");
    for (String t : topics) {
      b.append(view(t + "_amount", t, "amount", "amount"));
      b.append(view(t + "_note", t, "note", "note"));
    }
    return b.toString();
  }

  static IngestionConfig config(String group) {
    IngestionConfig d = IngestionConfig.defaults(kafka.bootstrapServers(), group);
    return new IngestionConfig(
            d.bootstrapServers(),
            d.groupPrefix(),
            100,
            Duration.ofMillis(50),
            Duration.ofMillis(200),
            "",
            Map.of())
        .withHealth(
            new IngestionConfig.Health(
                Duration.ofMillis(300), Duration.ofSeconds(3), Duration.ofMinutes(1)));
  }

  static void createTopic(String name, int maxMessageBytes) throws Exception {
    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
      admin
          .createTopics(
              List.of(
                  new NewTopic(name, Optional.of(1), Optional.empty())
                      .configs(Map.of("max.message.bytes", String.valueOf(maxMessageBytes)))))
          .all()
          .get(30, TimeUnit.SECONDS);
    }
  }

  static void setMaxMessageBytes(String topic, int bytes) throws Exception {
    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
      var resource =
          new org.apache.kafka.common.config.ConfigResource(
              org.apache.kafka.common.config.ConfigResource.Type.TOPIC, topic);
      admin
          .incrementalAlterConfigs(
              Map.of(
                  resource,
                  List.of(
                      new org.apache.kafka.clients.admin.AlterConfigOp(
                          new org.apache.kafka.clients.admin.ConfigEntry(
                              "max.message.bytes", String.valueOf(bytes)),
                          org.apache.kafka.clients.admin.AlterConfigOp.OpType.SET))))
          .all()
          .get(30, TimeUnit.SECONDS);
    }
  }

  static List<Long> send(String topic, List<byte[]> values) throws Exception {
    List<java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata>> sent =
        new ArrayList<>();
    for (byte[] v : values) {
      sent.add(producer.send(new ProducerRecord<>(topic, 0, null, v)));
    }
    producer.flush();
    List<Long> offsets = new ArrayList<>();
    for (var f : sent) {
      offsets.add(f.get(30, TimeUnit.SECONDS).offset());
    }
    return offsets;
  }

  static byte[] good(String card, double amount) {
    return ("{\"card_id\":\"" + card + "\",\"amount\":" + amount + ",\"ts\":1700000000000}")
        .getBytes(StandardCharsets.UTF_8);
  }

  static List<ConsumerRecord<byte[], byte[]>> readAll(String topic, int count) {
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer())) {
      TopicPartition tp = new TopicPartition(topic, 0);
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (out.size() < count && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
      }
      return out;
    }
  }

  static String header(ConsumerRecord<byte[], byte[]> r, String key) {
    var h = r.headers().lastHeader(key);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(20);
    }
  }

  static byte[] notJson(int size) {
    byte[] b = new byte[size];
    java.util.Arrays.fill(b, (byte) 'x');
    return b;
  }

  @Test
  void deadLettersLargerThanADefaultTopicTakesAreDeliveredWholeOrCutWithAHeader() throws Exception {
    createTopic("whole", BIG_TOPIC_BYTES);
    createTopic("cut", BIG_TOPIC_BYTES);
    // A dead-letter topic made beforehand with Kafka's default limit: the dead letter is cut.
    createTopic("cut.dlq", 1_048_588);
    RegistrySnapshot snapshot = registry(dir.resolve("big"), registryOf("whole", "cut"));
    MemorySink sink = new MemorySink();
    int size = 3 << 20;
    try (Ingestion ingestion =
        new Ingestion(config("big"), List.of(sink), new SimpleMeterRegistry())) {
      ingestion.apply(snapshot, FeatureLogic.compile(snapshot));
      for (String topic : List.of("whole", "cut")) {
        List<Long> offsets =
            send(topic, List.of(good("before", 1.0), notJson(size), good("after", 2.0)));
        await(
            () -> sink.positionOf(topic + "_amount", topic) == offsets.get(2) + 1,
            topic + " to be applied");
        List<ConsumerRecord<byte[], byte[]>> dead = readAll(topic + ".dlq", 1);
        assertThat(dead).hasSize(1);
        ConsumerRecord<byte[], byte[]> d = dead.get(0);
        assertThat(header(d, DeadLetters.REASON)).isEqualTo("not_json");
        assertThat(header(d, DeadLetters.OFFSET)).isEqualTo(String.valueOf(offsets.get(1)));
        if (topic.equals("whole")) {
          assertThat(d.value()).hasSize(size);
          assertThat(header(d, DeadLetters.VALUE_TRUNCATED)).isNull();
        } else {
          assertThat(header(d, DeadLetters.VALUE_TRUNCATED)).isEqualTo(String.valueOf(size));
          assertThat(d.value().length).isBetween(1_000_000, 1_048_588);
          assertThat(d.value()).containsOnly((byte) 'x');
        }
        assertThat(sink.rowsOf(topic + "_amount"))
            .extracting(r -> r.entityKey().get(0))
            .containsExactly("before", "after");
      }
    }
  }

  @Test
  void aDeadLetterThatCannotBeSentHoldsThePositionsUntilItIs() throws Exception {
    createTopic("held", BIG_TOPIC_BYTES);
    // Too small for any dead letter: the producer refuses every one.
    createTopic("held.dlq", 200);
    RegistrySnapshot snapshot = registry(dir.resolve("held"), registryOf("held"));
    MemorySink sink = new MemorySink();
    List<Long> offsets;
    try (Ingestion ingestion =
        new Ingestion(config("held"), List.of(sink), new SimpleMeterRegistry())) {
      ingestion.apply(snapshot, FeatureLogic.compile(snapshot));
      offsets =
          send(
              "held",
              List.of(good("h1", 1.0), "nope".getBytes(StandardCharsets.UTF_8), good("h2", 2.0)));
      await(
          () -> ingestion.health().get("held").failing(),
          "the source to fail: " + ingestion.health());
      SourceHealth h = ingestion.health().get("held");
      assertThat(h.reason()).contains("dead letter of offset " + offsets.get(1) + " not delivered");
      Thread.sleep(1000);
      assertThat(sink.positionOf("held_amount", "held")).isZero();
      assertThat(sink.rowsOf("held_amount")).isEmpty();
    }
    // With room on the topic, a restart delivers the dead letter and the records around it.
    setMaxMessageBytes("held.dlq", 1 << 20);
    try (Ingestion ingestion =
        new Ingestion(config("held"), List.of(sink), new SimpleMeterRegistry())) {
      ingestion.apply(snapshot, FeatureLogic.compile(snapshot));
      await(
          () -> sink.positionOf("held_amount", "held") == offsets.get(2) + 1,
          "the records to be applied");
      assertThat(sink.rowsOf("held_amount"))
          .extracting(r -> r.entityKey().get(0))
          .containsExactly("h1", "h2");
      List<ConsumerRecord<byte[], byte[]>> dead = readAll("held.dlq", 1);
      assertThat(dead).hasSize(1);
      assertThat(header(dead.get(0), DeadLetters.OFFSET)).isEqualTo(String.valueOf(offsets.get(1)));
      assertThat(new String(dead.get(0).value(), StandardCharsets.UTF_8)).isEqualTo("nope");
    }
  }

  @Test
  void aValueTooLargeDeadLettersItsViewWhileTheOtherViewKeepsItsRow() throws Exception {
    createTopic("sized", 1 << 20);
    RegistrySnapshot snapshot = registry(dir.resolve("sized"), registryOf("sized"));
    MemorySink sink = new MemorySink();
    IngestionConfig config = config("sized").withLimits(new IngestionConfig.Limits(1000, 1100));
    try (Ingestion ingestion = new Ingestion(config, List.of(sink), new SimpleMeterRegistry())) {
      ingestion.apply(snapshot, FeatureLogic.compile(snapshot));
      String note = "n".repeat(1001);
      List<Long> offsets =
          send(
              "sized",
              List.of(
                  ("{\"card_id\":\"big\",\"amount\":3.0,\"ts\":1700000000000,\"note\":\""
                          + note
                          + "\"}")
                      .getBytes(StandardCharsets.UTF_8),
                  ("{\"card_id\":\"fits\",\"amount\":4.0,\"ts\":1700000000000,\"note\":\""
                          + "m".repeat(1000)
                          + "\"}")
                      .getBytes(StandardCharsets.UTF_8),
                  good("after", 5.0)));
      await(
          () -> sink.positionOf("sized_note", "sized") == offsets.get(2) + 1,
          "the records to be applied");
      assertThat(sink.rowsOf("sized_amount"))
          .extracting(r -> r.entityKey().get(0))
          .containsExactly("big", "fits", "after");
      assertThat(sink.rowsOf("sized_note"))
          .extracting(r -> r.entityKey().get(0))
          .containsExactly("fits", "after");
      List<ConsumerRecord<byte[], byte[]>> dead = readAll("sized.dlq", 1);
      assertThat(dead).hasSize(1);
      assertThat(header(dead.get(0), DeadLetters.REASON)).isEqualTo("value_too_large");
      assertThat(header(dead.get(0), DeadLetters.VIEW)).isEqualTo("sized_note@1");
      assertThat(header(dead.get(0), DeadLetters.ERROR))
          .contains("feature 'note' is 1001 bytes, over the limit of 1000 bytes")
          .contains("--max-value-bytes");
    }
  }

  @Test
  void eventsTooFarAheadOfTheIngestingClockAreDeadLettersAndTheRestCarryTheClock()
      throws Exception {
    createTopic("future", 1 << 20);
    RegistrySnapshot snapshot = registry(dir.resolve("future"), registryOf("future"));
    MemorySink sink = new MemorySink();
    java.time.Instant now = java.time.Instant.parse("2026-06-01T12:00:00Z");
    IngestionConfig config =
        config("future")
            .withFuture(
                new IngestionConfig.Future(
                    java.time.Clock.fixed(now, java.time.ZoneOffset.UTC),
                    dev.quiver.registry.semantics.FutureEvents.allowing(Duration.ofMinutes(5))));
    try (Ingestion ingestion = new Ingestion(config, List.of(sink), new SimpleMeterRegistry())) {
      ingestion.apply(snapshot, FeatureLogic.compile(snapshot));
      List<Long> offsets =
          send(
              "future",
              List.of(
                  event("at_limit", now.plus(Duration.ofMinutes(5))),
                  event("past_limit", now.plus(Duration.ofMinutes(5)).plusMillis(1)),
                  event("a_year_ahead", now.plus(Duration.ofDays(365))),
                  event("now", now)));
      await(
          () -> sink.positionOf("future_note", "future") == offsets.get(3) + 1,
          "the records to be applied");
      assertThat(sink.rowsOf("future_amount"))
          .extracting(r -> r.entityKey().get(0))
          .containsExactly("at_limit", "now");
      List<ConsumerRecord<byte[], byte[]>> dead = readAll("future.dlq", 2);
      assertThat(dead).hasSize(2);
      assertThat(dead)
          .allSatisfy(d -> assertThat(header(d, DeadLetters.REASON)).isEqualTo("future_timestamp"));
      assertThat(header(dead.get(0), DeadLetters.ERROR))
          .contains("2026-06-01T12:05:00.001Z")
          .contains("ahead of the ingesting clock (2026-06-01T12:00:00Z)")
          .contains("--max-future");
      // Every batch tells the sinks the clock it was read by.
      assertThat(sink.clocks).containsOnly(dev.quiver.registry.semantics.Micros.of(now));
    }
  }

  static byte[] event(String card, java.time.Instant ts) {
    return ("{\"card_id\":\"" + card + "\",\"amount\":1.0,\"ts\":" + ts.toEpochMilli() + "}")
        .getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void healthIsFailingWhileTheSinkFailsAndHealthyOnceCaughtUp() throws Exception {
    createTopic("health", 1 << 20);
    RegistrySnapshot snapshot = registry(dir.resolve("health"), registryOf("health"));
    MemorySink sink = new MemorySink();
    try (Ingestion ingestion =
        new Ingestion(config("health"), List.of(sink), new SimpleMeterRegistry())) {
      ingestion.apply(snapshot, FeatureLogic.compile(snapshot));
      List<Long> offsets = send("health", List.of(good("a", 1.0), good("b", 2.0)));
      SourcePartition p0 = new SourcePartition("health", 0);
      await(
          () -> {
            SourceHealth h = ingestion.health().get("health");
            return !h.failing() && h.lag().getOrDefault(p0, -1L) == 0L;
          },
          "healthy and caught up: " + ingestion.health());

      sink.failWith = "disk full (injected)";
      List<Long> more = send("health", List.of(good("c", 3.0), good("d", 4.0), good("e", 5.0)));
      await(() -> ingestion.health().get("health").failing(), "failing: " + ingestion.health());
      SourceHealth failing = ingestion.health().get("health");
      assertThat(failing.reason()).contains("disk full (injected)");
      await(
          () -> ingestion.health().get("health").lag().getOrDefault(p0, 0L) == 3L,
          "the lag to show the held records: " + ingestion.health());

      sink.failWith = null;
      await(
          () -> {
            SourceHealth h = ingestion.health().get("health");
            return !h.failing() && h.lag().getOrDefault(p0, -1L) == 0L;
          },
          "recovered: " + ingestion.health());
      assertThat(sink.positionOf("health_amount", "health")).isEqualTo(more.get(2) + 1);
      assertThat(sink.rowsOf("health_amount")).hasSize(5);
      assertThat(offsets).hasSize(2);
    }
  }

  @Test
  void healthIsFailingWhenTheBrokerIsGone() throws Exception {
    EmbeddedKafka own = EmbeddedKafka.start(dir.resolve("own-kafka"));
    try {
      RegistrySnapshot snapshot = registry(dir.resolve("gone"), registryOf("gone"));
      MemorySink sink = new MemorySink();
      IngestionConfig d = config("gone");
      IngestionConfig config =
          new IngestionConfig(
                  own.bootstrapServers(),
                  d.groupPrefix(),
                  100,
                  Duration.ofMillis(50),
                  Duration.ofMillis(200),
                  "",
                  Map.of())
              .withHealth(d.health());
      try (Ingestion ingestion = new Ingestion(config, List.of(sink), new SimpleMeterRegistry());
          KafkaProducer<byte[], byte[]> p =
              new KafkaProducer<>(
                  Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, own.bootstrapServers()),
                  new ByteArraySerializer(),
                  new ByteArraySerializer())) {
        ingestion.apply(snapshot, FeatureLogic.compile(snapshot));
        p.send(new ProducerRecord<>("gone", 0, null, good("g", 1.0))).get(30, TimeUnit.SECONDS);
        await(
            () -> {
              SourceHealth h = ingestion.health().get("gone");
              return !h.failing()
                  && h.measuredAt() != null
                  && h.totalLag() == 0
                  && !h.lag().isEmpty();
            },
            "healthy: " + ingestion.health());
        own.close();
        await(
            () -> ingestion.health().get("gone").failing(),
            "failing without a broker: " + ingestion.health());
        assertThat(ingestion.health().get("gone").reason()).contains("no answer from Kafka for");
      }
    } finally {
      own.close();
    }
  }
}
