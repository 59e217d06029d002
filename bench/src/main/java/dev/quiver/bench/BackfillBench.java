package dev.quiver.bench;

import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.load.RepoLoader;
import dev.quiver.registry.plan.Plan;
import dev.quiver.registry.plan.Planner;
import dev.quiver.registry.rows.SourceArchive;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.store.DirectoryRegistryStore;
import dev.quiver.server.QuiverServer;
import dev.quiver.server.RepoSettings;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Backfill throughput from the source archive against live ingestion of the same records from
 * Kafka, and a raw {@link KafkaConsumer} reading them (the floor of any Kafka consumer), in one run
 * on one machine:
 *
 * <ol>
 *   <li>produces N JSON records (ten doubles and a key, over 100,000 entities) to a topic;
 *   <li>starts the server with one view: live ingestion decodes, archives and applies them to both
 *       stores; timed until every partition is applied;
 *   <li>reads the topic with a raw consumer (bytes, no decoding);
 *   <li>applies a second view with the same logic; it is filled from the archive (Parquet), through
 *       the same processing into both stores; timed until its online positions reach the end.
 * </ol>
 *
 * Usage: {@code BackfillBench [RECORDS] [PARTITIONS]} (default 1,000,000 and 3).
 */
public final class BackfillBench {
  private BackfillBench() {}

  static final String TOPIC = "bench.events";

  public static void main(String[] args) throws Exception {
    int records = args.length > 0 ? Integer.parseInt(args[0].replace("_", "")) : 1_000_000;
    int partitions = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    Path dir = Files.createTempDirectory("quiver-backfill-bench-");
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
      try (Admin admin =
          Admin.create(
              Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
        admin
            .createTopics(List.of(new NewTopic(TOPIC, partitions, (short) 1)))
            .all()
            .get(30, TimeUnit.SECONDS);
      }
      Map<TopicPartition, Long> end = produce(kafka.bootstrapServers(), records);
      Path repo = dir.resolve("repo");
      apply(repo, registry(false));

      long t0 = System.nanoTime();
      QuiverServer.Options options =
          QuiverServer.Options.defaults(RepoSettings.read(repo))
              .withBootstrap(kafka.bootstrapServers())
              .withGrpcPort(0)
              .withFlightPort(0)
              .withMetricsPort(0)
              .withRegistryPoll(Duration.ofMillis(100))
              .withOfflineCommitInterval(Duration.ofSeconds(5));
      try (QuiverServer server = QuiverServer.start(options)) {
        awaitOnline(server, new ViewId("live", 1), end);
        double liveSeconds = (System.nanoTime() - t0) / 1e9;
        // The archive must hold every record before the new view is applied.
        server.offlineStore().commitAll();
        awaitArchived(server, end);

        double rawSeconds = rawConsumer(kafka.bootstrapServers(), records);

        apply(repo, registry(true));
        long t1 = System.nanoTime();
        awaitOnline(server, new ViewId("late", 1), end);
        double backfillSeconds = (System.nanoTime() - t1) / 1e9;

        System.out.printf(
            "records %,d over %d partitions (2 sinks: RocksDB online, Parquet offline)%n",
            records, partitions);
        row("raw KafkaConsumer (bytes only)", records, rawSeconds, liveSeconds);
        row(
            "live ingestion from Kafka (decode, archive, 1 view)",
            records,
            liveSeconds,
            liveSeconds);
        row("backfill of a new view from the archive", records, backfillSeconds, liveSeconds);
      }
    } finally {
      dev.quiver.server.WorkDirs.delete(dir);
    }
  }

  private static void row(String what, int records, double seconds, double liveSeconds) {
    System.out.printf(
        "%-55s %8.2f s %,12.0f rows/s  %.2fx live ingestion%n",
        what, seconds, records / seconds, liveSeconds / seconds);
  }

  static String registry(boolean withLate) {
    StringBuilder b = new StringBuilder();
    b.append("entities:\n  user: {join_keys: {user_id: string}}\n");
    b.append("sources:\n  events:\n    kafka: {topic: ").append(TOPIC).append("}\n");
    b.append("    event_timestamp: ts\n    schema: {user_id: string, ts: int64");
    for (int f = 0; f < 10; f++) {
      b.append(", f").append(f).append(": double");
    }
    b.append("}\nfeature_views:\n");
    for (String view : withLate ? List.of("live", "late") : List.of("live")) {
      b.append("  ").append(view).append(":\n    entities: [user]\n    source: events\n");
      b.append("    features:\n");
      for (int f = 0; f < 10; f++) {
        b.append("      x").append(f).append(": {type: double, expr: f").append(f).append("}\n");
      }
      b.append("    aggregations:\n      n_1d: {function: count, window: 1d}\n");
    }
    return b.toString();
  }

  static void apply(Path repo, String registry) throws Exception {
    Files.createDirectories(repo);
    Files.writeString(repo.resolve("quiver.yaml"), "project: bench\ndata_dir: data\n");
    Files.writeString(repo.resolve("features.yaml"), registry);
    var loaded = RepoLoader.load(repo);
    DirectoryRegistryStore store = new DirectoryRegistryStore(repo.resolve("data/registry"));
    RegistrySnapshot applied = store.latest().orElse(RegistrySnapshot.getDefaultInstance());
    Plan plan = Planner.plan(applied, loaded, false);
    if (!plan.canApply()) {
      throw new IllegalStateException("plan refused: " + plan.refusals());
    }
    store.apply(applied.getVersion(), plan.next());
  }

  static Map<TopicPartition, Long> produce(String bootstrap, int records) throws Exception {
    long base = System.currentTimeMillis() - Duration.ofHours(12).toMillis();
    try (KafkaProducer<byte[], byte[]> p =
        new KafkaProducer<>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrap,
                ProducerConfig.LINGER_MS_CONFIG,
                20,
                ProducerConfig.BATCH_SIZE_CONFIG,
                256 * 1024),
            new ByteArraySerializer(),
            new ByteArraySerializer())) {
      StringBuilder json = new StringBuilder(256);
      for (int i = 0; i < records; i++) {
        String user = "u" + (i % 100_000);
        json.setLength(0);
        json.append("{\"user_id\":\"").append(user).append("\",\"ts\":").append(base + i);
        for (int f = 0; f < 10; f++) {
          json.append(",\"f").append(f).append("\":").append((i * 31 + f) % 1000 / 8.0);
        }
        json.append('}');
        p.send(
            new ProducerRecord<>(
                TOPIC,
                user.getBytes(StandardCharsets.UTF_8),
                json.toString().getBytes(StandardCharsets.UTF_8)));
      }
      p.flush();
    }
    try (KafkaConsumer<byte[], byte[]> c = consumer(bootstrap)) {
      List<TopicPartition> tps = new ArrayList<>();
      c.partitionsFor(TOPIC).forEach(i -> tps.add(new TopicPartition(TOPIC, i.partition())));
      return new HashMap<>(c.endOffsets(tps));
    }
  }

  static KafkaConsumer<byte[], byte[]> consumer(String bootstrap) {
    return new KafkaConsumer<>(
        Map.of(
            "bootstrap.servers",
            bootstrap,
            "auto.offset.reset",
            "earliest",
            "enable.auto.commit",
            false,
            "max.poll.records",
            5000),
        new ByteArrayDeserializer(),
        new ByteArrayDeserializer());
  }

  static double rawConsumer(String bootstrap, int records) {
    long t = System.nanoTime();
    long n = 0;
    long bytes = 0;
    try (KafkaConsumer<byte[], byte[]> c = consumer(bootstrap)) {
      List<TopicPartition> tps = new ArrayList<>();
      c.partitionsFor(TOPIC).forEach(i -> tps.add(new TopicPartition(TOPIC, i.partition())));
      c.assign(tps);
      c.seekToBeginning(tps);
      while (n < records) {
        ConsumerRecords<byte[], byte[]> batch = c.poll(Duration.ofMillis(500));
        for (var r : batch) {
          bytes += r.value().length;
          n++;
        }
      }
    }
    if (bytes == 0) {
      throw new IllegalStateException("nothing read");
    }
    return (System.nanoTime() - t) / 1e9;
  }

  static void awaitOnline(QuiverServer server, ViewId view, Map<TopicPartition, Long> end)
      throws Exception {
    long deadline = System.nanoTime() + Duration.ofMinutes(30).toNanos();
    while (true) {
      boolean all = true;
      for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
        SourcePartition sp = new SourcePartition(e.getKey().topic(), e.getKey().partition());
        if (server.onlineStore().position(view, sp) < e.getValue()) {
          all = false;
          break;
        }
      }
      if (all) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(view + " did not reach the end");
      }
      Thread.sleep(20);
    }
  }

  static void awaitArchived(QuiverServer server, Map<TopicPartition, Long> end) throws Exception {
    long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
    while (true) {
      Map<SourcePartition, Long> archived =
          server.offlineStore().committed(SourceArchive.id("events"));
      boolean all = true;
      for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
        SourcePartition sp = new SourcePartition(e.getKey().topic(), e.getKey().partition());
        all &= archived.getOrDefault(sp, 0L) >= e.getValue();
      }
      if (all) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the archive did not reach the end: " + archived);
      }
      Thread.sleep(50);
    }
  }
}
