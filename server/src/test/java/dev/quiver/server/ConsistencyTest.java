package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.client.OnlineRequest;
import dev.quiver.client.QuiverClient;
import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.offline.ParquetFiles;
import dev.quiver.offline.export.ConsistencyCheck;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.monitor.FeatureLog;
import dev.quiver.registry.rows.RowBatch;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.rows.ViewShape;
import dev.quiver.registry.semantics.JoinKeys;
import dev.quiver.registry.semantics.Micros;
import dev.quiver.registry.semantics.OfflineLayout;
import dev.quiver.registry.semantics.OrderKey;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.parquet.hadoop.ParquetReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Feature logging and {@code quiver verify} end to end on a real broker and real stores: over
 * 10,000 vectors served over gRPC are logged to Kafka, ingested into the feature-log store exactly
 * once, exported with {@code quiver export --logged}, and verified against the point-in-time engine
 * with no difference; then a fault hook overwrites the stored values of a few cards in the online
 * store, and verify reports exactly those cards, and nothing else, as mismatches.
 */
class ConsistencyTest {
  static final String REGISTRY =
      String.join(
          "\n",
          "entities:",
          "  card: {join_keys: {card_id: string}}",
          "sources:",
          "  txns:",
          "    kafka: {topic: txns}",
          "    event_timestamp: ts",
          "    schema: {card_id: string, amount: double, country: string, ts: timestamp}",
          "feature_views:",
          "  card:",
          "    entities: [card]",
          "    source: txns",
          "    ttl: 1h",
          "    features:",
          "      amount: {type: double, expr: amount}",
          "      country: {type: string, expr: country}",
          "    aggregations:",
          "      spend_1h: {function: sum, input: amount, window: 1h}",
          "feature_services:",
          "  model:",
          "    features: [card:amount, card:country, card:spend_1h]",
          "    logging: {sample_rate: 1.0}",
          "  sampled:",
          "    features: [card:amount]",
          "    logging: {sample_rate: 0.25}",
          "");

  static final int CARDS = 1_000;

  @TempDir Path dir;

  @Test
  void loggedVectorsVerifyWithoutDifferenceAndCorruptedValuesAreReportedExactly() throws Exception {
    Path repo = dir.resolve("repo");
    RegistrySnapshot registry = TestCluster.apply(repo, "consistency", REGISTRY, false);
    Random random = new Random(11);
    Instant now = Instant.now();
    List<String> events = new ArrayList<>();
    Map<String, Instant> newest = new java.util.HashMap<>();
    Map<String, String> country = new java.util.HashMap<>();
    for (int i = 0; i < 3 * CARDS; i++) {
      // Some cards' newest event is over the TTL ago: OUTSIDE_MAX_AGE is served and logged too.
      Instant ts = now.minusSeconds(60 + random.nextInt(i % 10 == 0 ? 7_200 : 1_800));
      String card = "c" + (i % CARDS);
      String c = random.nextBoolean() ? "US" : "FR";
      events.add(event(card, ts.toString(), 10 + random.nextInt(10_000) / 100.0, c));
      if (newest.getOrDefault(card, Instant.MIN).isBefore(ts)) {
        newest.put(card, ts);
        country.put(card, c);
      }
    }
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        KafkaProducer<byte[], byte[]> producer = TestCluster.producer(kafka);
        QuiverServer server =
            QuiverServer.start(
                TestCluster.options(repo, kafka.bootstrapServers())
                    .withOfflineCommitInterval(Duration.ofHours(1))
                    .withMetricsPort(QuiverServer.ANY_FREE_PORT)
                    .withMonitorInterval(Duration.ofMillis(200)));
        QuiverClient client = TestCluster.client(server)) {
      List<Long> offsets = TestCluster.send(producer, "txns", events);
      TestCluster.awaitApplied(server, "txns", offsets.get(offsets.size() - 1) + 1);
      server.offlineStore().commitAll();
      TestCluster.await(
          () -> server.featureLogReady("model") && server.featureLogReady("sampled"),
          "the feature log topics");

      // 10,500 vectors of model (each card 10 times and some more, unknown cards too) and the
      // same requests of sampled.
      Instant first = Instant.now();
      int served = 0;
      for (int round = 0; round < 11; round++) {
        for (int from = 0; from < CARDS && served < 10_500; from += 50) {
          List<Object> cards = new ArrayList<>();
          for (int i = 0; i < 50; i++) {
            cards.add(round == 10 && i % 5 == 0 ? "unknown" + i : "c" + (from + i));
          }
          client.getOnlineFeatures(OnlineRequest.forService("model").entity("card_id", cards));
          client.getOnlineFeatures(OnlineRequest.forService("sampled").entity("card_id", cards));
          served += 50;
        }
      }
      Instant last = Instant.now();
      assertThat(served).isEqualTo(10_500);
      awaitLogged(server, "model", 10_500);
      server.featureLogStore().commitAll();

      Path exported = dir.resolve("logged.parquet");
      DriftMonitorTest.Run export =
          DriftMonitorTest.quiver(
              "export",
              "--repo",
              repo.toString(),
              "--logged",
              "model",
              "--start",
              first.minusSeconds(1).toString(),
              "--end",
              last.plusSeconds(1).toString(),
              "--out",
              exported.toString());
      assertThat(export.code()).as(export.out() + export.err()).isZero();
      assertThat(export.out()).contains("Exported 10500 rows");
      assertThat(readColumn(exported, 0).size()).isEqualTo(10_500);

      // The sampled service logged every vector of a quarter of the cards, each card all or none.
      List<String> sampledCards = sampledCards(server, repo, registry, first, last);
      Set<String> distinct = new TreeSet<>(sampledCards);
      for (String card : distinct) {
        assertThat(FeatureLog.sampled(List.of(card), 0.25)).isTrue();
      }
      long expectedCards =
          java.util.stream.IntStream.range(0, CARDS)
              .filter(i -> FeatureLog.sampled(List.of("c" + i), 0.25))
              .count();
      assertThat(distinct.stream().filter(c -> c.startsWith("c")).count()).isEqualTo(expectedCards);
      assertThat(expectedCards).isBetween(200L, 300L);
      for (String card : distinct) {
        if (card.startsWith("c")) {
          // Ten rounds of every card, and an eleventh of the first 500 but every fifth.
          int index = Integer.parseInt(card.substring(1));
          long times = 10 + (index < 500 && index % 5 != 0 ? 1 : 0);
          assertThat(sampledCards.stream().filter(card::equals).count()).as(card).isEqualTo(times);
        }
      }

      ConsistencyCheck.Report clean =
          verify(server, repo, first.minusSeconds(1), last.plusSeconds(1));
      assertThat(clean.vectors()).isEqualTo(10_500);
      for (ConsistencyCheck.FeatureReport f : clean.features()) {
        assertThat(f.mismatches()).as(f.feature).isZero();
        assertThat(f.explainedByLag).as(f.feature).isZero();
        assertThat(f.identical + f.bothNull).as(f.feature).isEqualTo(10_500);
      }
      assertThat(clean.features().get(0).bothNull).as("unknown and aged cards").isPositive();
      assertThat(clean.features().get(0).smape()).isZero();
      DriftMonitorTest.Run ok =
          DriftMonitorTest.quiver(
              "verify",
              "--repo",
              repo.toString(),
              "--service",
              "model",
              "--start",
              first.minusSeconds(1).toString(),
              "--end",
              last.plusSeconds(1).toString());
      assertThat(ok.code()).as(ok.out() + ok.err()).isZero();

      // The fault: the online store's rows of 7 cards are overwritten with other amounts, as a
      // store that corrupted values would serve them. The offline store keeps the true rows.
      Set<String> corrupted = Set.of("c3", "c77", "c100", "c421", "c500", "c808", "c999");
      corrupt(server, registry, corrupted, country);
      Instant second = Instant.now();
      for (int from = 0; from < CARDS; from += 50) {
        List<Object> cards = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
          cards.add("c" + (from + i));
        }
        client.getOnlineFeatures(OnlineRequest.forService("model").entity("card_id", cards));
      }
      Instant end = Instant.now().plusSeconds(1);
      awaitLogged(server, "model", 11_500);
      server.featureLogStore().commitAll();

      ConsistencyCheck.Report bad = verify(server, repo, second, end);
      assertThat(bad.vectors()).isEqualTo(CARDS);
      ConsistencyCheck.FeatureReport amount = bad.features().get(0);
      assertThat(amount.feature).isEqualTo("card__amount");
      assertThat(amount.mismatches()).isEqualTo(corrupted.size());
      assertThat(
              amount.worst.stream().map(e -> (String) e.key().get(0)).collect(Collectors.toSet()))
          .isEqualTo(corrupted);
      assertThat(amount.smape()).isPositive();
      // The fault keeps each card's country but makes its row fresh: where the true row is past
      // the TTL, country is served while the training set holds a null.
      Set<String> aged =
          corrupted.stream()
              .filter(c -> newest.get(c).isBefore(second.minus(Duration.ofHours(1))))
              .collect(Collectors.toSet());
      ConsistencyCheck.FeatureReport countries = bad.features().get(1);
      assertThat(countries.mismatches()).as(countries.worst.toString()).isEqualTo(aged.size());
      assertThat(countries.servedOnly).isEqualTo(aged.size());
      assertThat(
              countries.worst.stream()
                  .map(e -> (String) e.key().get(0))
                  .collect(Collectors.toSet()))
          .isEqualTo(aged);
      assertThat(bad.features().get(2).mismatches()).as("the window sums are unchanged").isZero();
      DriftMonitorTest.Run fails =
          DriftMonitorTest.quiver(
              "verify",
              "--repo",
              repo.toString(),
              "--service",
              "model",
              "--start",
              second.toString(),
              "--end",
              end.toString(),
              "--examples",
              "10");
      assertThat(fails.code()).as(fails.out() + fails.err()).isEqualTo(1);
      for (String card : corrupted) {
        assertThat(fails.out()).contains("key [" + card + "]");
      }
      // The latest verify is what the server publishes for the consistency alert.
      String ratio =
          "quiver_consistency_mismatch_ratio{feature=\"card__amount\",service=\"model\"}";
      TestCluster.await(
          () -> MetricsTest.scrape(server).getOrDefault(ratio, -1.0) == 7.0 / CARDS,
          ratio + " = 0.007");
      Map<String, Double> m = MetricsTest.scrape(server);
      assertThat(m.get("quiver_feature_log_records_total{service=\"model\"}")).isEqualTo(11_500.0);
      assertThat(
              m.get(
                  "quiver_consistency_mismatch_ratio{feature=\"card__country\",service=\"model\"}"))
          .isEqualTo((double) aged.size() / CARDS);
      assertThat(m.keySet()).noneMatch(k -> k.startsWith("quiver_feature_log_dropped_total"));
    }
  }

  /**
   * A store that had not yet applied a card's newest event served its older value: verify counts
   * that apart, as lag, while the same value served by a store that had applied the newer event is
   * a mismatch. The two vectors are written to the log topic as the server writes them.
   */
  @Test
  void aValueTheStoresLagExplainsIsReportedApartFromAMismatch() throws Exception {
    Path repo = dir.resolve("repo");
    RegistrySnapshot registry = TestCluster.apply(repo, "lagging", REGISTRY, false);
    Instant now = Instant.now();
    Instant t1 = now.minusSeconds(1_200);
    Instant t2 = now.minusSeconds(600);
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        KafkaProducer<byte[], byte[]> producer = TestCluster.producer(kafka);
        QuiverServer server =
            QuiverServer.start(
                TestCluster.options(repo, kafka.bootstrapServers())
                    .withOfflineCommitInterval(Duration.ofHours(1)))) {
      List<Long> offsets =
          TestCluster.send(
              producer,
              "txns",
              List.of(
                  event("c1", t1.toString(), 10.0, "US"), event("c1", t2.toString(), 20.0, "US")));
      TestCluster.awaitApplied(server, "txns", offsets.get(1) + 1);
      server.offlineStore().commitAll();
      FeatureLog.Layout layout = FeatureLog.layouts(registry).get(0);
      Instant request = Instant.now();
      // The value of t1 served, by a store whose newest applied event was t1 (lag), then by one
      // that had applied t2 (a mismatch).
      List<String> records =
          List.of(
              loggedVector(layout, request, t1, t1, 10.0),
              loggedVector(layout, request, t1, t2, 10.0));
      TestCluster.send(producer, FeatureLog.topic("lagging", "model"), records);
      awaitLogged(server, "model", 2);
      server.featureLogStore().commitAll();

      ConsistencyCheck.Report report =
          verify(server, repo, "lagging", request.minusSeconds(1), request.plusSeconds(1));
      ConsistencyCheck.FeatureReport amount = report.features().get(0);
      assertThat(report.vectors()).isEqualTo(2);
      assertThat(amount.explainedByLag).isEqualTo(1);
      assertThat(amount.different).isEqualTo(1);
      assertThat(amount.mismatches()).isEqualTo(1);
      assertThat(amount.worst).hasSize(1);
      assertThat(amount.worst.get(0).served()).isEqualTo("10.0");
      assertThat(amount.worst.get(0).offline()).isEqualTo("20.0");
      // Country is the same in both events: identical however far the store lagged.
      assertThat(report.features().get(1).identical).isEqualTo(2);
    }
  }

  /** A feature-log record of service model as the server writes it: amount, country, spend_1h. */
  private static String loggedVector(
      FeatureLog.Layout layout, Instant request, Instant event, Instant applied, double amount) {
    dev.quiver.proto.v1.LoggedVector v =
        dev.quiver.proto.v1.LoggedVector.newBuilder()
            .addValues(dev.quiver.proto.v1.Value.newBuilder().setDoubleValue(amount))
            .addValues(dev.quiver.proto.v1.Value.newBuilder().setStringValue("US"))
            .addValues(dev.quiver.proto.v1.Value.newBuilder().setDoubleValue(amount))
            .addStatuses(dev.quiver.proto.v1.FeatureStatus.PRESENT)
            .addStatuses(dev.quiver.proto.v1.FeatureStatus.PRESENT)
            .addStatuses(dev.quiver.proto.v1.FeatureStatus.PRESENT)
            .addEventTimestamps(Micros.timestamp(Micros.of(event)))
            .addEventTimestamps(Micros.timestamp(Micros.of(event)))
            .addEventTimestamps(Micros.timestamp(Micros.of(event)))
            .addAppliedTimestamps(Micros.timestamp(Micros.of(applied)))
            .build();
    return "{\"card_id\":\"c1\",\""
        + FeatureLog.REQUEST_TIME
        + "\":\""
        + request
        + "\",\""
        + FeatureLog.LAYOUT
        + "\":"
        + layout.version()
        + ",\""
        + FeatureLog.REGISTRY_VERSION
        + "\":1,\""
        + FeatureLog.VECTOR
        + "\":\""
        + java.util.Base64.getEncoder().encodeToString(v.toByteArray())
        + "\"}";
  }

  private static ConsistencyCheck.Report verify(
      QuiverServer server, Path repo, Instant start, Instant end) throws Exception {
    return verify(server, repo, "consistency", start, end);
  }

  private static ConsistencyCheck.Report verify(
      QuiverServer server, Path repo, String project, Instant start, Instant end) throws Exception {
    RegistrySnapshot registry =
        new dev.quiver.registry.store.DirectoryRegistryStore(repo.resolve("data/registry"))
            .latest()
            .orElseThrow();
    return ConsistencyCheck.run(
        registry,
        OfflineLayout.projectRoot(repo.resolve("data"), project),
        OfflineLayout.featureLogRoot(repo.resolve("data"), project),
        "model",
        start,
        end,
        repo.resolve("verify-work-" + System.nanoTime()),
        10);
  }

  private static void awaitLogged(QuiverServer server, String service, long records)
      throws InterruptedException {
    server.flushFeatureLog();
    String source = FeatureLog.viewName(service);
    TestCluster.await(
        () ->
            server.featureLogApplied().getOrDefault(source, Map.of()).values().stream()
                    .mapToLong(Long::longValue)
                    .sum()
                >= records,
        records
            + " logged vectors of "
            + service
            + " in the feature-log store; applied: "
            + server.featureLogApplied());
  }

  /** The cards of every vector logged for service sampled. */
  private static List<String> sampledCards(
      QuiverServer server, Path repo, RegistrySnapshot registry, Instant first, Instant last)
      throws Exception {
    // Every request of model went to sampled too: 10,500 rows, a quarter of the cards logged.
    server.flushFeatureLog();
    Thread.sleep(200);
    Path out = repo.resolve("sampled.parquet");
    long logged =
        java.util.stream.IntStream.range(0, CARDS)
                .filter(i -> FeatureLog.sampled(List.of("c" + i), 0.25))
                .count()
            * 10;
    // Unknown cards of the last round are sampled by the same hash.
    Set<String> unknown = new HashSet<>();
    for (int i = 0; i < 50; i += 5) {
      if (FeatureLog.sampled(List.of("unknown" + i), 0.25)) {
        unknown.add("unknown" + i);
      }
    }
    long lastRound =
        java.util.stream.IntStream.range(0, 500)
            .filter(i -> i % 5 != 0 && FeatureLog.sampled(List.of("c" + i), 0.25))
            .count();
    awaitLogged(server, "sampled", logged + lastRound + unknown.size() * 10L);
    server.featureLogStore().commitAll();
    DriftMonitorTest.Run run =
        DriftMonitorTest.quiver(
            "export",
            "--repo",
            repo.toString(),
            "--logged",
            "sampled",
            "--start",
            first.minusSeconds(1).toString(),
            "--end",
            last.plusSeconds(1).toString(),
            "--out",
            out.toString());
    assertThat(run.code()).as(run.out() + run.err()).isZero();
    List<String> cards = new ArrayList<>();
    readColumn(out, 0).forEach(c -> cards.add((String) c));
    return cards;
  }

  private static List<Object> readColumn(Path parquet, int column) throws Exception {
    List<Object> out = new ArrayList<>();
    try (ParquetReader<Object[]> r = ParquetFiles.reader(parquet, null)) {
      for (Object[] row = r.read(); row != null; row = r.read()) {
        out.add(row[column]);
      }
    }
    return out;
  }

  /** Writes rows straight into the online store: a later event with ten times the amount. */
  private static void corrupt(
      QuiverServer server,
      RegistrySnapshot registry,
      Set<String> cards,
      Map<String, String> country)
      throws Exception {
    FeatureView view = registry.getFeatureViews(0);
    ViewShape shape = ViewShape.of(view, JoinKeys.of(registry, view));
    long at = Micros.of(Instant.now().minusSeconds(5));
    List<ViewRow> rows = new ArrayList<>();
    for (String card : cards) {
      rows.add(
          new ViewRow(
              shape,
              List.of(card),
              new OrderKey(at, OrderKey.NO_CREATED_TIME, 0, Long.MAX_VALUE / 2),
              new Object[] {1e6 + card.length(), country.get(card)},
              new Object[] {null}));
    }
    server.onlineStore().write(new RowBatch(rows, Map.of()));
  }

  private static String event(String card, String ts, double amount, String country) {
    return "{\"card_id\":\""
        + card
        + "\",\"ts\":\""
        + ts
        + "\",\"amount\":"
        + amount
        + ",\"country\":\""
        + country
        + "\"}";
  }
}
