package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.api.Assertions.withinPercentage;

import dev.quiver.client.OnlineRequest;
import dev.quiver.client.OnlineResult;
import dev.quiver.client.QuiverClient;
import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.registry.Types;
import dev.quiver.registry.monitor.Baseline;
import dev.quiver.registry.monitor.Drift;
import dev.quiver.registry.monitor.FeatureProfile;
import dev.quiver.server.cli.QuiverCommand;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Drift of served values from a training baseline, end to end: a real server answers 12,000 lookups
 * of each of two services over gRPC, one serving values drawn like the baseline's and one serving
 * shifted values; the {@code quiver_feature_drift} gauges on {@code /metrics} and {@code quiver
 * monitor drift} report PSI under 0.1 for the first and over 0.25 for the second, and every figure
 * agrees with the statistic computed exactly, in the test, on the same bins.
 */
class DriftMonitorTest {
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
          "    features:",
          "      amount: {type: double, expr: amount}",
          "      country: {type: string, expr: country}",
          "feature_services:",
          // No bound on rows per second: the test compares with every value it served.
          "  stable: {features: [card:amount, card:country], drift: {max_rows_per_second: 0}}",
          "  shifted:",
          "    features: [card:amount, card:country]",
          "    drift: {psi_warn: 0.1, psi_alert: 0.25, windows: [1h, 24h], max_rows_per_second: 0}",
          "");

  static final int SERVED = 12_000;
  static final String[] COUNTRIES = {"US", "FR", "DE", "GB"};

  @TempDir Path dir;

  @Test
  void servedValuesDriftAsAnExactComputationOnTheBaselinesBinsSays() throws Exception {
    Path repo = dir.resolve("repo");
    TestCluster.apply(repo, "drift", REGISTRY, false);
    Random random = new Random(7);
    // The training baseline: 5,000 values of each feature, profiled as an export profiles them.
    FeatureProfile amountBase = FeatureProfile.of(Types.of(ScalarType.SCALAR_TYPE_DOUBLE));
    FeatureProfile countryBase = FeatureProfile.of(Types.of(ScalarType.SCALAR_TYPE_STRING));
    for (int i = 0; i < 5_000; i++) {
      amountBase.add(100 + 10 * random.nextGaussian());
      countryBase.add(country(random, false));
    }
    Map<String, FeatureProfile> features = new LinkedHashMap<>();
    features.put("card__amount", amountBase);
    features.put("card__country", countryBase);
    Path dataDir = repo.resolve("data");
    for (String service : List.of("stable", "shifted")) {
      new Baseline(service, 5_000, Instant.EPOCH, Instant.EPOCH, features)
          .write(Baseline.path(dataDir, "drift", service, "training-1"));
    }

    String ts = Instant.now().minusSeconds(60).toString();
    List<String> events = new ArrayList<>();
    double[] stableAmounts = new double[SERVED];
    double[] shiftedAmounts = new double[SERVED];
    String[] stableCountries = new String[SERVED];
    String[] shiftedCountries = new String[SERVED];
    for (int i = 0; i < SERVED; i++) {
      stableAmounts[i] = 100 + 10 * random.nextGaussian();
      stableCountries[i] = country(random, false);
      events.add(event("s" + i, ts, stableAmounts[i], stableCountries[i]));
      shiftedAmounts[i] = 118 + 10 * random.nextGaussian();
      shiftedCountries[i] = country(random, true);
      events.add(event("x" + i, ts, shiftedAmounts[i], shiftedCountries[i]));
    }
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        KafkaProducer<byte[], byte[]> producer = TestCluster.producer(kafka);
        QuiverServer server =
            QuiverServer.start(
                TestCluster.options(repo, kafka.bootstrapServers())
                    .withMetricsPort(QuiverServer.ANY_FREE_PORT)
                    .withMonitorInterval(Duration.ofHours(1)));
        QuiverClient client = TestCluster.client(server)) {
      List<Long> offsets = TestCluster.send(producer, "txns", events);
      TestCluster.awaitApplied(server, "txns", offsets.get(offsets.size() - 1) + 1);
      lookUp(client, "stable", "s");
      lookUp(client, "shifted", "x");
      server.liveProfiles().refresh();

      Map<String, Double> m = MetricsTest.scrape(server);
      Drift.Bins amountBins = Drift.bins(amountBase);
      Drift.Bins countryBins = Drift.bins(countryBase);
      double[] e = Drift.shares(amountBase, amountBins);
      double[] ec = Drift.shares(countryBase, countryBins);
      for (String window : List.of("1h", "24h")) {
        double stablePsi = drift(m, "stable", "card__amount", "psi", window);
        double shiftedPsi = drift(m, "shifted", "card__amount", "psi", window);
        assertThat(stablePsi).isLessThan(0.1);
        assertThat(shiftedPsi).isGreaterThan(0.25);
        // Numbers: exact shares of the served values in the baseline's decile bins. The live
        // sketch's ranks are within KLL's error of them.
        assertThat(stablePsi)
            .isCloseTo(Drift.psi(e, exactShares(stableAmounts, amountBins)), within(0.01));
        // Far from the baseline, bins the baseline filled hold few served values (a share of
        // 0.1% or so), where KLL's rank error of about 0.8% moves the logarithm most: a PSI of
        // about 3 lands within 15% of the exact figure, far over the 0.25 that matters.
        assertThat(shiftedPsi)
            .isCloseTo(Drift.psi(e, exactShares(shiftedAmounts, amountBins)), withinPercentage(15));
        assertThat(drift(m, "shifted", "card__amount", "jensen_shannon", window))
            .isCloseTo(
                Drift.jensenShannon(e, exactShares(shiftedAmounts, amountBins)), within(0.01));
        assertThat(drift(m, "shifted", "card__amount", "kolmogorov_smirnov", window))
            .isCloseTo(exactKs(amountBase, shiftedAmounts), within(0.02));
        // Categories: few distinct values, so the item sketches count exactly.
        assertThat(drift(m, "stable", "card__country", "psi", window))
            .isCloseTo(Drift.psi(ec, exactShares(stableCountries, countryBins)), within(1e-9))
            .isLessThan(0.1);
        assertThat(drift(m, "shifted", "card__country", "psi", window))
            .isCloseTo(Drift.psi(ec, exactShares(shiftedCountries, countryBins)), within(1e-9))
            .isGreaterThan(0.25);
      }

      Run stable = quiver("monitor", "drift", "--repo", repo.toString(), "--service", "stable");
      assertThat(stable.code).as(stable.out + stable.err).isZero();
      assertThat(stable.out)
          .contains("card__amount")
          .contains("ok")
          .doesNotContainPattern("(?m)^card.* alert$");
      Run shifted = quiver("monitor", "drift", "--repo", repo.toString(), "--service", "shifted");
      assertThat(shifted.code).as(shifted.out + shifted.err).isEqualTo(1);
      assertThat(shifted.out).containsPattern("card__amount +1h .* alert");
    }
  }

  @Test
  void fewerValuesThanTheMinimumReportNothing() throws Exception {
    Path repo = dir.resolve("repo");
    TestCluster.apply(repo, "few", REGISTRY, false);
    FeatureProfile amount = FeatureProfile.of(Types.of(ScalarType.SCALAR_TYPE_DOUBLE));
    for (int i = 0; i < 5_000; i++) {
      amount.add((double) i);
    }
    new Baseline("stable", 5_000, Instant.EPOCH, Instant.EPOCH, Map.of("card__amount", amount))
        .write(Baseline.path(repo.resolve("data"), "few", "stable", "b"));
    String ts = Instant.now().minusSeconds(60).toString();
    List<String> events = new ArrayList<>();
    for (int i = 0; i < 999; i++) {
      events.add(event("s" + i, ts, 1e6 + i, "US"));
    }
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        KafkaProducer<byte[], byte[]> producer = TestCluster.producer(kafka);
        QuiverServer server =
            QuiverServer.start(
                TestCluster.options(repo, kafka.bootstrapServers())
                    .withMetricsPort(QuiverServer.ANY_FREE_PORT)
                    .withMonitorInterval(Duration.ofHours(1)));
        QuiverClient client = TestCluster.client(server)) {
      List<Long> offsets = TestCluster.send(producer, "txns", events);
      TestCluster.awaitApplied(server, "txns", offsets.get(offsets.size() - 1) + 1);
      for (int from = 0; from < 999; from += 50) {
        OnlineRequest r = OnlineRequest.forService("stable");
        String[] cards = new String[Math.min(50, 999 - from)];
        for (int i = 0; i < cards.length; i++) {
          cards[i] = "s" + (from + i);
        }
        client.getOnlineFeatures(r.entity("card_id", cards));
      }
      server.liveProfiles().refresh();
      // 999 served values, one short of the minimum: NaN, however far they are from the baseline.
      assertThat(drift(MetricsTest.scrape(server), "stable", "card__amount", "psi", "1h")).isNaN();
      Run run = quiver("monitor", "drift", "--repo", repo.toString(), "--service", "stable");
      assertThat(run.code).as(run.out + run.err).isZero();
      assertThat(run.out).contains("too few values (under 1000)");
    }
  }

  private static void lookUp(QuiverClient client, String service, String prefix) {
    for (int from = 0; from < SERVED; from += 50) {
      String[] cards = new String[50];
      for (int i = 0; i < 50; i++) {
        cards[i] = prefix + (from + i);
      }
      OnlineResult r =
          client.getOnlineFeatures(OnlineRequest.forService(service).entity("card_id", cards));
      assertThat(r.rowCount()).isEqualTo(50);
    }
  }

  private static String country(Random random, boolean shifted) {
    double u = random.nextDouble();
    if (shifted) {
      return u < 0.2 ? "US" : u < 0.4 ? "FR" : u < 0.6 ? "DE" : "GB";
    }
    return u < 0.55 ? "US" : u < 0.8 ? "FR" : u < 0.95 ? "DE" : "GB";
  }

  /** Shares of {@code values} in the numeric bins, nulls last (none here), counted exactly. */
  static double[] exactShares(double[] values, Drift.Bins bins) {
    double[] out = new double[bins.size()];
    for (double v : values) {
      int bin = 0;
      while (bin < bins.edges().length && v > bins.edges()[bin]) {
        bin++;
      }
      out[bin] += 1.0 / values.length;
    }
    return out;
  }

  static double[] exactShares(String[] values, Drift.Bins bins) {
    double[] out = new double[bins.size()];
    for (String v : values) {
      int at = bins.items().indexOf(v);
      out[at < 0 ? bins.items().size() : at] += 1.0 / values.length;
    }
    return out;
  }

  /** The KS distance between the baseline's distribution and the served values' exact CDF. */
  static double exactKs(FeatureProfile baseline, double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    double gap = 0;
    for (int i = 0; i < sorted.length; i++) {
      double b = baseCdf(baseline, sorted[i]);
      gap =
          Math.max(
              gap,
              Math.max(
                  Math.abs(b - (i + 1.0) / sorted.length),
                  Math.abs(b - (double) i / sorted.length)));
    }
    return gap;
  }

  private static double baseCdf(FeatureProfile baseline, double x) {
    Drift.Bins one = new Drift.Bins(new double[] {x}, null);
    return Drift.shares(baseline, one)[0];
  }

  private static double drift(
      Map<String, Double> m, String service, String feature, String statistic, String window) {
    String key =
        "quiver_feature_drift{feature=\""
            + feature
            + "\",service=\""
            + service
            + "\",statistic=\""
            + statistic
            + "\",window=\""
            + window
            + "\"}";
    assertThat(m).containsKey(key);
    return m.get(key);
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

  record Run(int code, String out, String err) {}

  static Run quiver(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = new CommandLine(new QuiverCommand());
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int code = cli.execute(args);
    return new Run(code, out.toString(), err.toString());
  }
}
