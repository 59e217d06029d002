package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.kafka.EmbeddedKafka;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksIterator;

/**
 * {@code quiver serve} in a child process is killed with SIGKILL twice while events stream in, and
 * restarted; its online store must end byte for byte equal to that of a server that never stopped:
 * no row lost, none applied twice (aggregation tiles would count a repeated record twice).
 */
class CrashRecoveryTest {
  static final String REGISTRY =
      String.join(
          "\n",
          "entities:",
          "  card: {join_keys: {card_id: string}}",
          "sources:",
          "  txns:",
          "    kafka: {topic: txns}",
          "    event_timestamp: ts",
          "    schema: {card_id: string, amount: double, seq: int64, ts: int64}",
          "feature_views:",
          "  card:",
          "    entities: [card]",
          "    source: txns",
          "    features:",
          "      amount: {type: double, expr: amount}",
          "      seq: {type: int64, expr: seq}",
          "    aggregations:",
          "      n: {function: count, window: 30d, hop: 1d}",
          "      total: {function: sum, input: amount, window: 30d, hop: 1d}",
          "");
  static final int EVENTS = 60_000;
  static final int PARTITIONS = 3;

  @TempDir Path dir;

  @Test
  void killedAndRestartedServerEndsWithExactlyTheRowsOfAnUninterruptedOne() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        Admin admin =
            Admin.create(
                Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
      admin
          .createTopics(List.of(new NewTopic("txns", PARTITIONS, (short) 1)))
          .all()
          .get(30, TimeUnit.SECONDS);
      Path crashed = dir.resolve("crashed");
      TestCluster.apply(crashed, "crash", REGISTRY, false);

      AtomicLong produced = new AtomicLong();
      Thread producer = new Thread(() -> produce(kafka, produced), "test-producer");
      producer.start();

      int kills = 0;
      long[] killAt = {EVENTS / 5, EVENTS / 2};
      for (long threshold : killAt) {
        Process child = startServe(crashed, kafka, "run" + kills);
        awaitCommitted(admin, threshold, child, crashed, "run" + kills);
        child.destroyForcibly(); // SIGKILL
        assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        kills++;
      }
      Process last = startServe(crashed, kafka, "run" + kills);
      producer.join();
      assertThat(produced.get()).isEqualTo(EVENTS);
      Map<TopicPartition, Long> end = endOffsets(admin);
      // Consumer group offsets are only a lag gauge (and a killed run's may be ahead of where
      // the next run resumes): wait for the offline commit records, the last sink written.
      awaitOfflineCommitted(crashed, end, last, "run" + kills);
      last.destroy();
      assertThat(last.waitFor(60, TimeUnit.SECONDS)).isTrue();

      Path reference = dir.resolve("reference");
      TestCluster.apply(reference, "reference", REGISTRY, false);
      try (QuiverServer server = TestCluster.serve(reference, kafka)) {
        TestCluster.await(
            () -> {
              Map<?, Long> applied =
                  server.applied().getOrDefault("txns", Map.of()).entrySet().stream()
                      .collect(
                          java.util.stream.Collectors.toMap(
                              e -> e.getKey().partition(), Map.Entry::getValue));
              return end.entrySet().stream()
                  .allMatch(e -> applied.getOrDefault(e.getKey().partition(), 0L) >= e.getValue());
            },
            "the reference server to reach the end of the topic");
      }

      Map<String, Map<String, String>> got = contents(crashed.resolve("data/online"));
      Map<String, Map<String, String>> want = contents(reference.resolve("data/online"));
      assertThat(want.get("view/card@1")).hasSizeGreaterThan(100);
      assertThat(got.keySet()).isEqualTo(want.keySet());
      for (String cf : want.keySet()) {
        assertThat(got.get(cf))
            .as("column family %s after %d kills", cf, kills)
            .isEqualTo(want.get(cf));
      }

      // The offline files hold every record exactly once too, killed while files were open and
      // around commits (the child commits every second).
      List<String> crashedRows = offlineRows(crashed.resolve("data/offline/crash/card/v1"));
      List<String> referenceRows = offlineRows(reference.resolve("data/offline/reference/card/v1"));
      List<String> missing = new ArrayList<>(referenceRows);
      missing.removeAll(new java.util.HashSet<>(crashedRows));
      List<String> extra = new ArrayList<>(crashedRows);
      extra.removeAll(new java.util.HashSet<>(referenceRows));
      assertThat(referenceRows).hasSize(EVENTS);
      assertThat(crashedRows.size())
          .as(
              "offline rows after %d kills: %d missing (first: %s), %d not in the reference"
                  + " (first: %s); server logs:%n%s",
              kills,
              missing.size(),
              missing.stream().limit(5).toList(),
              extra.size(),
              extra.stream().limit(5).toList(),
              logSummary(kills))
          .isEqualTo(EVENTS);
      assertThat(crashedRows).doesNotHaveDuplicates().isEqualTo(referenceRows);
    }
  }

  private static void produce(EmbeddedKafka kafka, AtomicLong produced) {
    Random random = new Random(3);
    // Twenty days up to now, none ahead of the clock: rows held until the clock reaches them move
    // when a batch's clock passes them, which differs between runs by design.
    long base = Instant.now().toEpochMilli() - Duration.ofDays(20).toMillis();
    try (KafkaProducer<byte[], byte[]> producer = TestCluster.producer(kafka)) {
      long start = System.nanoTime();
      for (int i = 0; i < EVENTS; i++) {
        String card = "c" + random.nextInt(500);
        // Event times wander back and forth: many events arrive out of order.
        long ts = base + random.nextInt(20 * 86_400 - 60) * 1000L;
        String json =
            "{\"card_id\":\""
                + card
                + "\",\"amount\":"
                + random.nextInt(10_000) / 100.0
                + ",\"seq\":"
                + i
                + ",\"ts\":"
                + ts
                + "}";
        producer.send(
            new ProducerRecord<>(
                "txns",
                card.getBytes(StandardCharsets.UTF_8),
                json.getBytes(StandardCharsets.UTF_8)));
        produced.incrementAndGet();
        // About 10,000 events a second, so the server is killed while they stream in.
        long ahead = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) - i / 10;
        if (ahead < 0) {
          Thread.sleep(-ahead);
        }
      }
      producer.flush();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private Process startServe(Path repo, EmbeddedKafka kafka, String name) throws Exception {
    return TestCluster.serveProcess(
        repo,
        kafka.bootstrapServers(),
        dir.resolve(name + ".log"),
        "--host",
        "127.0.0.1",
        "--offline-commit-seconds",
        "1");
  }

  /** Waits until the server's consumer group has committed {@code records} offsets in all. */
  private void awaitCommitted(Admin admin, long records, Process child, Path repo, String name)
      throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    while (true) {
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin.listConsumerGroupOffsets("quiver.crash.txns").partitionsToOffsetAndMetadata().get();
      long sum = committed.values().stream().mapToLong(o -> o == null ? 0 : o.offset()).sum();
      if (sum >= records) {
        return;
      }
      if (!child.isAlive() || System.nanoTime() > deadline) {
        throw new AssertionError(
            "server "
                + name
                + " committed "
                + sum
                + " of "
                + records
                + "; log:\n"
                + Files.readString(dir.resolve(name + ".log")));
      }
      Thread.sleep(20);
    }
  }

  /** Waits until the newest offline commit record of the card view holds {@code end}. */
  private void awaitOfflineCommitted(
      Path repo, Map<TopicPartition, Long> end, Process child, String name) throws Exception {
    Path commits = repo.resolve("data/offline/crash/card/v1/_commits");
    long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
    Map<String, Long> want = new TreeMap<>();
    end.forEach((tp, offset) -> want.put(tp.topic() + "/" + tp.partition(), offset));
    Map<String, Long> got = Map.of();
    while (true) {
      if (Files.isDirectory(commits)) {
        try (var records = Files.list(commits)) {
          Path newest =
              records
                  .filter(p -> p.getFileName().toString().matches("[0-9]+\\.json"))
                  .max(java.util.Comparator.naturalOrder())
                  .orElse(null);
          if (newest != null) {
            Map<String, Long> positions = new TreeMap<>();
            new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(newest.toFile())
                .get("positions")
                .properties()
                .forEach(e -> positions.put(e.getKey(), e.getValue().asLong()));
            got = positions;
            if (positions.equals(want)) {
              return;
            }
          }
        }
      }
      if (!child.isAlive() || System.nanoTime() > deadline) {
        throw new AssertionError(
            "server "
                + name
                + " committed offline positions "
                + got
                + ", not "
                + want
                + "; log:\n"
                + Files.readString(dir.resolve(name + ".log")));
      }
      Thread.sleep(50);
    }
  }

  private static Map<TopicPartition, Long> endOffsets(Admin admin) throws Exception {
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    for (int p = 0; p < PARTITIONS; p++) {
      latest.put(new TopicPartition("txns", p), OffsetSpec.latest());
    }
    Map<TopicPartition, Long> out = new HashMap<>();
    admin.listOffsets(latest).all().get().forEach((tp, info) -> out.put(tp, info.offset()));
    return out;
  }

  /** Every offline row as "partition/offset key event values", sorted. */
  /** The warnings, errors and offline-store lines of every child server's log. */
  private String logSummary(int runs) throws Exception {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i <= runs; i++) {
      out.append("--- run").append(i).append('\n');
      for (String line : Files.readAllLines(dir.resolve("run" + i + ".log"))) {
        if (line.contains("WARN") || line.contains("ERROR") || line.contains("offline")) {
          out.append(line).append('\n');
        }
      }
    }
    return out.toString();
  }

  private static List<String> offlineRows(Path viewDir) throws Exception {
    List<String> out = new ArrayList<>();
    try (var rows =
        new dev.quiver.offline.pit.ParquetViewSource(
                viewDir, List.of("card_id"), List.of("amount", "seq"))
            .read()) {
      while (rows.hasNext()) {
        var r = rows.next();
        out.add(
            r.partition()
                + "/"
                + r.offset()
                + " "
                + r.key()
                + " "
                + r.eventMicros()
                + " "
                + java.util.Arrays.toString(r.values()));
      }
    }
    out.sort(null);
    return out;
  }

  /** Every column family's entries, keys and values as hex, read with plain RocksDB. */
  private static Map<String, Map<String, String>> contents(Path db) throws Exception {
    Map<String, Map<String, String>> out = new TreeMap<>();
    List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
    try (Options options = new Options()) {
      for (byte[] name : RocksDB.listColumnFamilies(options, db.toString())) {
        descriptors.add(new ColumnFamilyDescriptor(name));
      }
    }
    List<ColumnFamilyHandle> handles = new ArrayList<>();
    try (RocksDB rocks = RocksDB.openReadOnly(db.toString(), descriptors, handles)) {
      for (int i = 0; i < handles.size(); i++) {
        Map<String, String> entries = new TreeMap<>();
        try (RocksIterator it = rocks.newIterator(handles.get(i))) {
          for (it.seekToFirst(); it.isValid(); it.next()) {
            entries.put(hex(it.key()), hex(it.value()));
          }
        }
        out.put(new String(descriptors.get(i).getName(), StandardCharsets.UTF_8), entries);
      }
    } finally {
      handles.forEach(ColumnFamilyHandle::close);
    }
    return out;
  }

  private static String hex(byte[] b) {
    StringBuilder s = new StringBuilder(b.length * 2);
    for (byte x : b) {
      s.append(Character.forDigit((x >> 4) & 0xF, 16)).append(Character.forDigit(x & 0xF, 16));
    }
    return s.toString();
  }
}
