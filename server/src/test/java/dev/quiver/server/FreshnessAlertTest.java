package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.server.alerts.AlertRules;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The freshness objective end to end: a real Prometheus (Debian's package, which {@code .ci/run}
 * installs) scrapes a real {@code quiver serve} on a real broker and evaluates the rules {@code
 * quiver alerts} writes for the registry. While events flow the view is fresh and nothing fires;
 * when they stop for longer than the objective the stale-view alert fires, with the view's owner;
 * when they flow again it resolves.
 */
class FreshnessAlertTest {
  @TempDir Path dir;

  static final String REGISTRY =
      String.join(
          "\n",
          "entities:",
          "  card: {join_keys: {card_id: string}}",
          "sources:",
          "  txns:",
          "    kafka: {topic: txns}",
          "    event_timestamp: ts",
          "    schema: {card_id: string, amount: double, ts: timestamp}",
          "feature_views:",
          "  spend:",
          "    entities: [card]",
          "    source: txns",
          "    freshness: 4s",
          "    owner: payments-team@example.com",
          "    features:",
          "      amount: {type: double, expr: amount}",
          "");

  @Test
  void theStaleViewAlertFiresWhenEventsStopAndResolvesWhenTheyResume() throws Exception {
    Path repo = dir.resolve("repo");
    RegistrySnapshot registry = TestCluster.apply(repo, "fresh", REGISTRY, false);
    Path rules = dir.resolve("rules.yml");
    Files.writeString(rules, AlertRules.rules(registry));
    AtomicBoolean flowing = new AtomicBoolean(true);
    AtomicBoolean done = new AtomicBoolean();
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        KafkaProducer<byte[], byte[]> producer = TestCluster.producer(kafka);
        QuiverServer server =
            QuiverServer.start(
                TestCluster.options(repo, kafka.bootstrapServers())
                    .withMetricsPort(QuiverServer.ANY_FREE_PORT))) {
      Thread events =
          new Thread(
              () -> {
                while (!done.get()) {
                  if (flowing.get()) {
                    String json =
                        "{\"card_id\":\"c1\",\"amount\":1.0,\"ts\":\"" + Instant.now() + "\"}";
                    producer.send(
                        new ProducerRecord<>("txns", json.getBytes(StandardCharsets.UTF_8)));
                    producer.flush();
                  }
                  try {
                    Thread.sleep(200);
                  } catch (InterruptedException e) {
                    return;
                  }
                }
              },
              "test-events");
      events.start();
      PrometheusProcess prometheus = PrometheusProcess.start(dir, server.metricsPort(), rules);
      URI api = prometheus.api();
      try {
        // Fresh: Prometheus has the view's freshness, under its objective, and no alert.
        TestCluster.await(
            () ->
                PrometheusProcess.value(api, "quiver_view_freshness_seconds{view=\"spend\"}") >= 0,
            "Prometheus to scrape the view's freshness");
        Thread.sleep(6_000);
        assertThat(PrometheusProcess.value(api, "quiver_view_freshness_seconds{view=\"spend\"}"))
            .isLessThan(4);
        assertThat(stale(api)).as("while events flow").isNull();

        // Events stop: past the objective, held for it, the alert fires with the owner.
        flowing.set(false);
        long stopped = System.nanoTime();
        JsonNode alert = awaitStale(api, "firing", Duration.ofSeconds(60));
        assertThat(System.nanoTime() - stopped).isGreaterThan(TimeUnit.SECONDS.toNanos(4));
        assertThat(alert.path("labels").path("view").asText()).isEqualTo("spend");
        assertThat(alert.path("labels").path("owner").asText())
            .isEqualTo("payments-team@example.com");
        assertThat(alert.path("annotations").path("summary").asText())
            .contains("freshness objective of 4s");

        // Events resume: the view is fresh again and the alert resolves.
        flowing.set(true);
        TestCluster.await(() -> stale(api) == null, "the stale-view alert to resolve");
      } finally {
        done.set(true);
        events.join(5_000);
        prometheus.close();
      }
    }
  }

  private static JsonNode awaitStale(URI api, String state, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      JsonNode a = stale(api);
      if (a != null && a.path("state").asText().equals(state)) {
        return a;
      }
      Thread.sleep(250);
    }
    throw new AssertionError("no " + state + " QuiverViewStale alert within " + timeout);
  }

  /** The QuiverViewStale alert Prometheus holds (pending or firing), or null. */
  private static JsonNode stale(URI api) {
    return PrometheusProcess.alert(api, "QuiverViewStale", java.util.Map.of());
  }
}
