package dev.quiver.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.quiver.client.QuiverClient;
import dev.quiver.registry.monitor.Baseline;
import dev.quiver.registry.store.DirectoryRegistryStore;
import dev.quiver.server.PrometheusProcess;
import dev.quiver.server.QuiverServer;
import dev.quiver.server.RepoSettings;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The drift walkthrough of the quickstart ({@code quiver quickstart --shift},
 * docs/walkthrough-drift .md) end to end on a copy of examples/payments: a real broker, the
 * training-set export that records the baseline, shifted transactions, lookups through the Java
 * client, {@code quiver monitor drift} failing its gate on the same data directory afterwards, and
 * a real Prometheus evaluating the rules {@code quiver alerts} writes against a server that serves
 * the shifted values.
 */
class DriftWalkthroughTest {
  static final Path PROMETHEUS = Path.of("/usr/bin/prometheus");
  static final String FEATURE = "card_activity__last_amount";

  @TempDir Path dir;

  @Test
  void theShiftedQuickstartFailsTheDriftGateAndFiresTheDriftAlert() throws Exception {
    Path repo = CliTest.copyPayments(dir);
    CliTest.Result quickstart =
        CliTest.run(
            "quickstart",
            "--repo",
            repo.toString(),
            "--events",
            "3000",
            "--port",
            "0",
            "--shift",
            "--exit");
    assertThat(quickstart.exit()).as("%s%nstderr: %s", quickstart.out(), quickstart.err()).isZero();

    // The export recorded the baseline where the quickstart says, over 1,000 entity rows.
    Path dataDir = RepoSettings.read(repo).dataDir();
    Path baseline = Baseline.path(dataDir, "payments", "fraud_model_v1", "quickstart");
    assertThat(quickstart.out())
        .contains("as baseline quickstart of service fraud_model_v1")
        .contains("Baseline: " + baseline)
        .contains("Produced 3000 transactions with amounts multiplied by 3.0")
        .contains("(1000 entity rows)")
        .containsPattern(FEATURE + " +1h .* alert")
        .contains("It exits 1");
    assertThat(baseline).isRegularFile();
    assertThat(Files.isRegularFile(dataDir.resolve("quickstart/entities.csv"))).isTrue();
    Baseline recorded = Baseline.read(baseline);
    assertThat(recorded.rows()).isEqualTo(1000);
    assertThat(recorded.features()).containsKey(FEATURE);

    // After the quickstart has exited, the gate reads the profiles it left and fails.
    CliTest.Result gate =
        CliTest.run("monitor", "drift", "--repo", repo.toString(), "--service", "fraud_model_v1");
    assertThat(gate.exit()).as("%s%nstderr: %s", gate.out(), gate.err()).isEqualTo(1);
    // Served: the walkthrough's 1,000 entity rows and the 5 of the quickstart's first lookup.
    assertThat(gate.out())
        .contains("Service fraud_model_v1: baseline quickstart (1000 rows)")
        .containsPattern(FEATURE + " +1h +1000 +1005 .* alert")
        .containsPattern(FEATURE + " +24h +1000 +1005 .* alert");

    // Prometheus: the rules as quiver alerts writes them.
    assumeTrue(Files.isExecutable(PROMETHEUS), PROMETHEUS + " is not installed");
    Path rules = dir.resolve("rules.yml");
    CliTest.Result alerts = CliTest.run("alerts", repo.toString(), "--out", rules.toString());
    assertThat(alerts.exit()).as("stderr: %s", alerts.err()).isZero();
    // The rule holds for 15 minutes; this copy holds it for 0 s so it fires within the test.
    Matcher hold =
        Pattern.compile("(- alert: QuiverFeatureDrift\n(?:(?! +- alert:).*\n)*? +for: )900s\n")
            .matcher(Files.readString(rules));
    assertThat(hold.find()).as("QuiverFeatureDrift held for 900s in %s", rules).isTrue();
    Files.writeString(rules, hold.replaceFirst("$10s\n"));

    // A server on the same repo and data directory serves the shifted values the quickstart
    // ingested; its windows start empty, so nothing drifts until the walkthrough's lookups.
    try (QuiverServer server =
            QuiverServer.start(
                QuiverServer.Options.defaults(RepoSettings.read(repo))
                    .withEmbeddedKafka(true)
                    .withGrpcPort(0)
                    .withFlightPort(0)
                    .withMetricsPort(QuiverServer.ANY_FREE_PORT)
                    .withMonitorInterval(Duration.ofHours(1)));
        PrometheusProcess prometheus =
            PrometheusProcess.start(
                Files.createDirectories(dir.resolve("prometheus")), server.metricsPort(), rules)) {
      URI api = prometheus.api();
      await(
          () -> PrometheusProcess.value(api, "quiver_registry_version") >= 1,
          Duration.ofSeconds(30),
          "Prometheus to scrape the server");
      server.liveProfiles().refresh();
      Thread.sleep(3_000);
      assertThat(driftAlert(api)).as("before any lookup").isNull();

      try (QuiverClient client =
          QuiverClient.builder()
              .target("localhost:" + server.grpcPort())
              .defaultDeadline(Duration.ofSeconds(5))
              .build()) {
        int rounds =
            QuickstartCommand.rounds(
                new DirectoryRegistryStore(RepoSettings.read(repo).registryDir())
                    .latest().orElseThrow().getFeatureServicesList().stream()
                        .filter(s -> s.getName().equals("fraud_model_v1"))
                        .findFirst()
                        .orElseThrow());
        assertThat(QuickstartCommand.lookUpEveryCard(client, rounds)).isEqualTo(1000);
      }
      server.liveProfiles().refresh();
      await(
          () -> {
            JsonNode a = driftAlert(api);
            return a != null && a.path("state").asText().equals("firing");
          },
          Duration.ofSeconds(60),
          "QuiverFeatureDrift to fire for " + FEATURE);
      JsonNode fired = driftAlert(api);
      assertThat(fired.path("labels").path("service").asText()).isEqualTo("fraud_model_v1");
      assertThat(fired.path("labels").path("feature").asText()).isEqualTo(FEATURE);
      assertThat(fired.path("value").asDouble()).isGreaterThanOrEqualTo(0.25);
    }
  }

  /** The QuiverFeatureDrift alert for {@link #FEATURE} that Prometheus holds, or null. */
  private static JsonNode driftAlert(URI api) {
    return PrometheusProcess.alert(api, "QuiverFeatureDrift", java.util.Map.of("feature", FEATURE));
  }

  private static void await(
      java.util.function.BooleanSupplier condition, Duration timeout, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout + " waiting for " + what);
      }
      Thread.sleep(250);
    }
  }
}
