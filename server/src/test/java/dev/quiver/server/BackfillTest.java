package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.client.OnlineRequest;
import dev.quiver.client.OnlineResult;
import dev.quiver.client.QuiverClient;
import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.offline.ParquetFiles;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.Source;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.rows.ViewShape;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * quiver backfill loads history that never was in Kafka into the archive and every view of the
 * source, through the same logic as live events, once however often it is run.
 */
class BackfillTest {
  static final String REGISTRY =
      String.join(
          "\n",
          "entities:",
          "  card: {join_keys: {card_id: string}}",
          "sources:",
          "  txns:",
          "    kafka: {topic: history.txns}",
          "    event_timestamp: ts",
          "    schema: {card_id: string, amount: double, ts: timestamp}",
          "feature_views:",
          "  spend:",
          "    entities: [card]",
          "    source: txns",
          "    features:",
          "      amount: {type: double, expr: amount}",
          "    aggregations:",
          "      seen: {function: count, window: 30d}",
          "      total: {function: sum, input: amount, window: 30d}",
          "");

  static final int CARDS = 10;

  @TempDir Path dir;

  @Test
  void historyFromAFileFillsTheArchiveAndEveryViewOnce() throws Exception {
    Path repo = dir.resolve("repo");
    Instant now = Instant.now();
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        KafkaProducer<byte[], byte[]> producer = TestCluster.producer(kafka)) {
      TestCluster.apply(repo, "history", REGISTRY, false);
      QuiverServer.Options options =
          TestCluster.options(repo, kafka.bootstrapServers())
              .withOfflineCommitInterval(Duration.ofMillis(200));
      try (QuiverServer server = QuiverServer.start(options);
          QuiverClient client = TestCluster.client(server)) {
        List<String> live = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
          live.add(event("c" + (i % CARDS), now.minusSeconds(600 - i), 1.0));
        }
        List<Long> offsets = TestCluster.send(producer, "history.txns", live);
        TestCluster.awaitApplied(server, "txns", offsets.get(offsets.size() - 1) + 1);

        // A week of history, older than anything in Kafka, with an empty line.
        List<String> history = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
          history.add(event("c" + (i % CARDS), now.minus(Duration.ofDays(7)).plusSeconds(i), 0.5));
          if (i == 500) {
            history.add("");
          }
        }
        Path file = dir.resolve("history.jsonl");
        Files.write(file, history);

        DriftMonitorTest.Run run =
            DriftMonitorTest.quiver(
                "backfill", repo.toString(), "--source", "txns", "--file", file.toString());
        assertThat(run.code()).as(run.err()).isZero();
        assertThat(run.out()).contains("backfilled 1000 records").contains("spend@1");
        assertSeen(client, 1050, 550.0);

        // Again with the same file: confirmed, not loaded twice.
        DriftMonitorTest.Run again =
            DriftMonitorTest.quiver(
                "backfill", repo.toString(), "--source", "txns", "--file", file.toString());
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.out()).contains("backfilled 1000 records");
        assertSeen(client, 1050, 550.0);

        // A file with a bad record is refused whole, naming its line.
        Path bad = dir.resolve("bad.jsonl");
        Files.write(
            bad,
            List.of(
                event("c1", now.minus(Duration.ofDays(3)), 2.0),
                "{\"amount\": 1.0, \"ts\": \"" + now + "\"}"));
        DriftMonitorTest.Run refused =
            DriftMonitorTest.quiver(
                "backfill", repo.toString(), "--source", "txns", "--file", bad.toString());
        assertThat(refused.code()).isEqualTo(1);
        assertThat(refused.err())
            .contains("line 2: join key 'card_id' is missing")
            .contains("nothing was queued");
        assertSeen(client, 1050, 550.0);
      }
      // Offline: the view's rows and the archive hold every record once.
      Path offline = repo.resolve("data/offline/history");
      assertThat(
              SourceArchiveTest.offlineRows(
                  offline.resolve("spend/v1"), List.of("card_id"), List.of("amount")))
          .hasSize(1050)
          .doesNotHaveDuplicates();
      assertThat(
              SourceArchiveTest.offlineRows(
                  offline.resolve("_sources/txns/v1"), List.of(), List.of("card_id")))
          .hasSize(1050)
          .doesNotHaveDuplicates();
    }
  }

  @Test
  void parquetHistoryIsReadByColumnName() throws Exception {
    Path repo = dir.resolve("repo");
    Instant now = Instant.now();
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
      TestCluster.apply(repo, "history", REGISTRY, false);
      Path file = dir.resolve("history.parquet");
      Source source =
          dev.quiver.proto.v1.Source.newBuilder()
              .setName("history")
              .addSchema(field("ts", ScalarType.SCALAR_TYPE_TIMESTAMP))
              .addSchema(field("amount", ScalarType.SCALAR_TYPE_DOUBLE))
              .addSchema(field("card_id", ScalarType.SCALAR_TYPE_STRING))
              .build();
      ViewShape shape = dev.quiver.registry.rows.SourceArchive.shape(source);
      try (var w =
          ParquetFiles.rowWriter(
              file,
              dev.quiver.offline.ParquetSchemas.of(shape),
              List.of(
                  type(ScalarType.SCALAR_TYPE_TIMESTAMP),
                  type(ScalarType.SCALAR_TYPE_TIMESTAMP),
                  type(ScalarType.SCALAR_TYPE_INT32),
                  type(ScalarType.SCALAR_TYPE_INT64),
                  type(ScalarType.SCALAR_TYPE_TIMESTAMP),
                  type(ScalarType.SCALAR_TYPE_DOUBLE),
                  type(ScalarType.SCALAR_TYPE_STRING)),
              java.util.Map.of())) {
        for (int i = 0; i < 200; i++) {
          w.write(
              rowOf(
                  shape,
                  now.minus(Duration.ofDays(2)).plusSeconds(i),
                  i,
                  now.minus(Duration.ofDays(2)).plusSeconds(i),
                  2.0,
                  "c" + (i % CARDS)));
        }
      }
      try (QuiverServer server =
              QuiverServer.start(
                  TestCluster.options(repo, kafka.bootstrapServers())
                      .withOfflineCommitInterval(Duration.ofMillis(200)));
          QuiverClient client = TestCluster.client(server)) {
        DriftMonitorTest.Run run =
            DriftMonitorTest.quiver(
                "backfill", repo.toString(), "--source", "txns", "--file", file.toString());
        assertThat(run.code()).as(run.err()).isZero();
        assertSeen(client, 200, 400.0);
      }
    }
  }

  @Test
  void avroContainerHistoryIsReadByFieldName() throws Exception {
    Path repo = dir.resolve("repo");
    Instant now = Instant.now();
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
      TestCluster.apply(repo, "history", REGISTRY, false);
      org.apache.avro.Schema schema =
          new org.apache.avro.Schema.Parser()
              .parse(
                  "{\"type\":\"record\",\"name\":\"Txn\",\"fields\":["
                      + "{\"name\":\"card_id\",\"type\":\"string\"},"
                      + "{\"name\":\"amount\",\"type\":[\"null\",\"double\"],\"default\":null},"
                      + "{\"name\":\"ts\",\"type\":{\"type\":\"long\","
                      + "\"logicalType\":\"timestamp-micros\"}}]}");
      Path file = dir.resolve("history.avro");
      try (var w =
          new org.apache.avro.file.DataFileWriter<org.apache.avro.generic.GenericRecord>(
              new org.apache.avro.generic.GenericDatumWriter<>(schema))) {
        w.create(schema, file.toFile());
        for (int i = 0; i < 300; i++) {
          var r = new org.apache.avro.generic.GenericData.Record(schema);
          r.put("card_id", "c" + (i % CARDS));
          r.put("amount", i % 2 == 0 ? 3.0 : null);
          r.put(
              "ts",
              dev.quiver.registry.semantics.Micros.of(
                  now.minus(Duration.ofDays(1)).plusSeconds(i)));
          w.append(r);
        }
      }
      try (QuiverServer server =
              QuiverServer.start(
                  TestCluster.options(repo, kafka.bootstrapServers())
                      .withOfflineCommitInterval(Duration.ofMillis(200)));
          QuiverClient client = TestCluster.client(server)) {
        DriftMonitorTest.Run run =
            DriftMonitorTest.quiver(
                "backfill", repo.toString(), "--source", "txns", "--file", file.toString());
        assertThat(run.code()).as(run.err()).isZero();
        // Null amounts are skipped by the sum, counted by count.
        assertSeen(client, 300, 150 * 3.0);
      }
    }
  }

  private static ValueType type(ScalarType t) {
    return ValueType.newBuilder().setScalar(t).build();
  }

  private static dev.quiver.proto.v1.Field field(String name, ScalarType type) {
    return dev.quiver.proto.v1.Field.newBuilder()
        .setName(name)
        .setType(ValueType.newBuilder().setScalar(type))
        .build();
  }

  /** A row of the offline layout (event_ts, created_ts, partition, offset, then the fields). */
  private static Object[] rowOf(ViewShape shape, Instant event, long offset, Object... fields) {
    Object[] row = new Object[4 + fields.length];
    row[0] = event;
    row[1] = null;
    row[2] = 0;
    row[3] = offset;
    System.arraycopy(fields, 0, row, 4, fields.length);
    return row;
  }

  /** The cards' events counted and their amounts summed, over all cards. */
  private static void assertSeen(QuiverClient client, long events, double total)
      throws InterruptedException {
    List<String> cards = new ArrayList<>();
    for (int c = 0; c < CARDS; c++) {
      cards.add("c" + c);
    }
    TestCluster.await(
        () -> {
          OnlineResult r =
              client.getOnlineFeatures(
                  OnlineRequest.forFeatures("spend:seen", "spend:total").entity("card_id", cards));
          long seen = 0;
          double sum = 0;
          for (int i = 0; i < CARDS; i++) {
            seen += r.getLong("seen", i) == null ? 0 : r.getLong("seen", i);
            sum += r.getDouble("total", i) == null ? 0 : r.getDouble("total", i);
          }
          return seen == events && Math.abs(sum - total) < 1e-9;
        },
        events + " events summing to " + total);
  }

  static String event(String card, Instant ts, double amount) {
    return "{\"card_id\":\"" + card + "\",\"ts\":\"" + ts + "\",\"amount\":" + amount + "}";
  }
}
