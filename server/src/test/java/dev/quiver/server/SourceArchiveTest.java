package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.client.OnlineRequest;
import dev.quiver.client.OnlineResult;
import dev.quiver.client.QuiverClient;
import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.offline.pit.ParquetViewSource;
import dev.quiver.registry.rows.SourceArchive;
import dev.quiver.registry.rows.SourcePartition;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every consumed record is archived to Parquet, and a view added after Kafka's retention deleted
 * the early records is still filled completely: from the archive, then from Kafka.
 */
class SourceArchiveTest {
  static final String V1 =
      String.join(
          "\n",
          "entities:",
          "  card: {join_keys: {card_id: string}}",
          "sources:",
          "  txns:",
          "    kafka: {topic: archived.txns}",
          "    event_timestamp: ts",
          "    schema: {card_id: string, amount: double, country: string, n: int32, ts: timestamp}",
          "feature_views:",
          "  spend:",
          "    entities: [card]",
          "    source: txns",
          "    features:",
          "      amount: {type: double, expr: amount}",
          "      country: {type: string, expr: country}",
          "      n: {type: int32, expr: n}",
          "    aggregations:",
          "      total_24h: {function: sum, input: amount, window: 24h}",
          "      seen_24h: {function: count, window: 24h}",
          "");

  /** The same view under another name, added later. */
  static final String V2 =
      V1
          + String.join(
              "\n",
              "  spend_late:",
              "    entities: [card]",
              "    source: txns",
              "    features:",
              "      amount: {type: double, expr: amount}",
              "      country: {type: string, expr: country}",
              "      n: {type: int32, expr: n}",
              "    aggregations:",
              "      total_24h: {function: sum, input: amount, window: 24h}",
              "      seen_24h: {function: count, window: 24h}",
              "");

  static final int CARDS = 20;

  @TempDir Path dir;

  @Test
  void aViewAddedAfterRetentionIsFilledFromTheArchive() throws Exception {
    Path repo = dir.resolve("repo");
    Instant start = Instant.now().minus(Duration.ofHours(2));
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        KafkaProducer<byte[], byte[]> producer = TestCluster.producer(kafka)) {
      TestCluster.apply(repo, "arch", V1, false);
      QuiverServer.Options options =
          TestCluster.options(repo, kafka.bootstrapServers())
              .withOfflineCommitInterval(Duration.ofMillis(200));
      try (QuiverServer server = QuiverServer.start(options);
          QuiverClient client = TestCluster.client(server)) {
        List<Long> early = TestCluster.send(producer, "archived.txns", events(start, 0, 300));
        long firstLate = early.get(early.size() - 1) + 1;
        TestCluster.awaitApplied(server, "txns", firstLate);
        SourcePartition p0 = new SourcePartition("archived.txns", 0);
        TestCluster.await(
            () -> archived(server).getOrDefault(p0, 0L) >= firstLate,
            "the archive to commit the early records");

        // What retention does: the early records are gone from the topic.
        try (Admin admin =
            Admin.create(
                Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
          admin
              .deleteRecords(
                  Map.of(
                      new TopicPartition("archived.txns", 0),
                      RecordsToDelete.beforeOffset(firstLate)))
              .all()
              .get();
        }
        assertThat(logStart(kafka, "archived.txns")).isEqualTo(firstLate);

        List<Long> late = TestCluster.send(producer, "archived.txns", events(start, 300, 60));
        long end = late.get(late.size() - 1) + 1;
        TestCluster.awaitApplied(server, "txns", end);

        TestCluster.apply(repo, "arch", V2, false);
        TestCluster.await(() -> server.servedRegistryVersion() == 2, "version 2 in effect");
        TestCluster.await(
            () -> lookup(client, "spend").equals(lookup(client, "spend_late")),
            "spend_late to reach spend: " + lookup(client, "spend_late"));
        // Online: the late view serves what the view that saw every record serves.
        List<String> expected = lookup(client, "spend");
        assertThat(expected).hasSize(CARDS).allMatch(s -> !s.contains("null"));
        assertThat(expected.get(0)).contains("seen=18"); // 360 events over 20 cards
        assertThat(lookup(client, "spend_late")).isEqualTo(expected);
      }

      // Offline: the same rows with the same order keys, each once.
      Path offline = repo.resolve("data/offline/arch");
      List<String> spend = offlineRows(offline.resolve("spend/v1"));
      List<String> spendLate = offlineRows(offline.resolve("spend_late/v1"));
      assertThat(spend).hasSize(360).doesNotHaveDuplicates();
      assertThat(spendLate).isEqualTo(spend);
      // The archive holds every record, as Parquet under _sources/<source>.
      assertThat(Files.isDirectory(offline.resolve("_sources/txns/v1"))).isTrue();
      assertThat(
              offlineRows(
                  offline.resolve("_sources/txns/v1"), List.of(), List.of("card_id", "amount")))
          .hasSize(360);
    }
  }

  static Map<SourcePartition, Long> archived(QuiverServer server) {
    try {
      return server.offlineStore().committed(SourceArchive.id("txns"));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** {@code count} events from {@code first} on, a minute apart, over {@link #CARDS} cards. */
  static List<String> events(Instant start, int first, int count) {
    List<String> lines = new ArrayList<>();
    for (int i = first; i < first + count; i++) {
      lines.add(
          "{\"card_id\":\"c"
              + (i % CARDS)
              + "\",\"ts\":\""
              + start.plusSeconds(15L * i)
              + "\",\"amount\":"
              + (i * 0.25 + 0.1)
              + ",\"country\":\""
              + (i % 3 == 0 ? "NL" : "US")
              + "\",\"n\":"
              + i
              + "}");
    }
    return lines;
  }

  /** Every card's values of a view, as text. */
  static List<String> lookup(QuiverClient client, String view) {
    OnlineRequest request =
        OnlineRequest.forFeatures(
            view + ":amount",
            view + ":country",
            view + ":n",
            view + ":total_24h",
            view + ":seen_24h");
    List<String> cards = new ArrayList<>();
    for (int c = 0; c < CARDS; c++) {
      cards.add("c" + c);
    }
    request = request.entity("card_id", cards);
    OnlineResult r = client.getOnlineFeatures(request);
    List<String> out = new ArrayList<>();
    for (int c = 0; c < CARDS; c++) {
      out.add(
          "c"
              + c
              + " amount="
              + value(r, "amount", c)
              + " country="
              + value(r, "country", c)
              + " n="
              + value(r, "n", c)
              + " total="
              + value(r, "total_24h", c)
              + " seen="
              + value(r, "seen_24h", c));
    }
    return out;
  }

  private static Object value(OnlineResult r, String feature, int row) {
    return r.status(feature, row) == dev.quiver.proto.v1.FeatureStatus.PRESENT
        ? r.get(feature, row)
        : null;
  }

  static List<String> offlineRows(Path viewDir) throws Exception {
    return offlineRows(viewDir, List.of("card_id"), List.of("amount", "country", "n"));
  }

  static List<String> offlineRows(Path viewDir, List<String> keys, List<String> features)
      throws Exception {
    TreeSet<String> sorted = new TreeSet<>();
    List<String> all = new ArrayList<>();
    try (var rows = new ParquetViewSource(viewDir, keys, features).read()) {
      while (rows.hasNext()) {
        var r = rows.next();
        String row =
            String.format("%d/%08d %s", r.partition(), r.offset(), Arrays.toString(r.values()));
        all.add(row);
        sorted.add(row);
      }
    }
    List<String> out = new ArrayList<>(sorted);
    // Duplicates show as a longer list than the set.
    for (int i = sorted.size(); i < all.size(); i++) {
      out.add("duplicate");
    }
    return out;
  }

  static long logStart(EmbeddedKafka kafka, String topic) {
    try (KafkaConsumer<byte[], byte[]> c =
        new KafkaConsumer<>(
            Map.of("bootstrap.servers", kafka.bootstrapServers()),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer())) {
      TopicPartition tp = new TopicPartition(topic, 0);
      return c.beginningOffsets(List.of(tp)).get(tp);
    }
  }
}
