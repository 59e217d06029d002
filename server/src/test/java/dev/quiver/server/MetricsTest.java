package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.quiver.client.OnlineRequest;
import dev.quiver.client.OnlineResult;
import dev.quiver.client.QuiverClient;
import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.proto.v1.FeatureStatus;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /metrics} of a real server on a real broker: after known records and lookups, the scraped
 * Prometheus text holds exactly the counts they imply.
 */
class MetricsTest {
  static final String LOOKUP = "quiver.v1.OnlineServing/GetOnlineFeatures";

  @TempDir Path dir;

  @Test
  void scrapedMetricsCountRecordsDeadLettersLookupsAndStatuses() throws Exception {
    Path repo = dir.resolve("repo");
    TestCluster.apply(repo, "metrics", OnlinePathTest.REGISTRY, false);
    Instant now = Instant.now();
    String recent = now.minusSeconds(600).toString();
    String old = now.minusSeconds(7200).toString();
    List<String> good =
        List.of(
            event("c1", recent, "1.5", "US"),
            event("c2", recent, "2.5", "FR"),
            event("c3", recent, "3.5", "US"),
            event("c4", old, "4.5", "FR"), // outside the view's 1h TTL
            event("c5", recent, null, "US")); // no amount: NULL_VALUE
    List<String> bad =
        List.of(
            "this is not json",
            "{\"ts\":\"" + recent + "\",\"amount\":1.0}",
            "{\"card_id\":\"c6\",\"ts\":\"" + recent + "\",\"amount\":\"lots\"}");
    List<String> records = new ArrayList<>(good);
    records.addAll(bad);
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        KafkaProducer<byte[], byte[]> producer = TestCluster.producer(kafka);
        QuiverServer server =
            QuiverServer.start(
                TestCluster.options(repo, kafka.bootstrapServers())
                    .withMetricsPort(QuiverServer.ANY_FREE_PORT));
        QuiverClient client = TestCluster.client(server)) {
      assertThat(server.metricsPort()).isPositive();
      List<Long> offsets = TestCluster.send(producer, "txns", records);
      TestCluster.awaitApplied(server, "txns", offsets.get(offsets.size() - 1) + 1);

      OnlineResult six =
          client.getOnlineFeatures(
              OnlineRequest.forFeatures("card:amount", "card:country")
                  .entity("card_id", "c1", "c2", "c3", "c4", "c5", "unknown"));
      assertThat(six.status("amount", 4)).isEqualTo(FeatureStatus.NULL_VALUE);
      assertThat(six.status("amount", 5)).isEqualTo(FeatureStatus.NOT_FOUND);
      client.getOnlineFeatures(OnlineRequest.forFeatures("card:amount").entity("card_id", "c1"));
      assertThatThrownBy(
              () ->
                  client.getOnlineFeatures(
                      OnlineRequest.forFeatures("card:nope").entity("card_id", "c1")))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));

      // Lag appears once the health check has measured it.
      TestCluster.await(
          () -> scrape(server).containsKey(series("quiver_ingest_lag", "partition", "0")),
          "the lag of txns partition 0 on /metrics");
      Map<String, Double> m = scrape(server);

      assertThat(m.get(series("quiver_ingest_records_total", "source", "txns"))).isEqualTo(8.0);
      assertThat(m.get(series("quiver_ingest_rows_total", "sink", "online", "source", "txns")))
          .isEqualTo(5.0);
      assertThat(m.get(series("quiver_ingest_view_rows_total", "version", "1", "view", "card")))
          .isEqualTo(5.0);
      assertThat(deadLetters(m))
          .isEqualTo(Map.of("not_json", 1.0, "missing_join_key", 1.0, "wrong_type", 1.0));
      assertThat(
              m.get(
                  series("quiver_ingest_lag", "partition", "0", "source", "txns", "topic", "txns")))
          .isEqualTo(0.0);

      assertThat(m.get(series("quiver_grpc_server_requests_seconds_count", "code", "OK")))
          .isEqualTo(2.0);
      assertThat(m.get(series("quiver_grpc_server_requests_seconds_count", "code", "NOT_FOUND")))
          .isEqualTo(1.0);
      assertThat(m.get(bucket("quiver_grpc_server_requests_seconds_bucket", "OK", "+Inf")))
          .isEqualTo(2.0);
      assertThat(m.get(series("quiver_grpc_server_requests_seconds_sum", "code", "OK")))
          .isPositive();

      assertThat(m.get("quiver_lookup_entities_count")).isEqualTo(2.0);
      assertThat(m.get("quiver_lookup_entities_sum")).isEqualTo(7.0);
      assertThat(statuses(m))
          .isEqualTo(
              Map.of("PRESENT", 8.0, "NULL_VALUE", 1.0, "NOT_FOUND", 2.0, "OUTSIDE_MAX_AGE", 2.0));

      assertThat(m.get("quiver_registry_version")).isEqualTo(1.0);
      double freshness =
          m.get(series("quiver_view_freshness_seconds", "version", "1", "view", "card"));
      double sinceNewest = Duration.between(now.minusSeconds(600), Instant.now()).toMillis() / 1e3;
      assertThat(freshness).isBetween(600.0, sinceNewest + 1);
      assertThat(m).containsKey(series("jvm_threads_live_threads"));
      assertThat(m.keySet())
          .as("the consumer's own metrics")
          .anyMatch(
              k -> k.startsWith("kafka_consumer_") && k.contains("client_id=\"quiver-txns\""));
    }
  }

  @Test
  void metricsPortZeroServesNoEndpoint() throws Exception {
    Path repo = dir.resolve("repo");
    TestCluster.apply(repo, "nometrics", OnlinePathTest.REGISTRY, false);
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        QuiverServer server =
            QuiverServer.start(
                TestCluster.options(repo, kafka.bootstrapServers()).withMetricsPort(0))) {
      assertThat(server.metricsPort()).isZero();
      assertThat(server.meters().get("quiver.registry.version").gauge().value()).isEqualTo(1.0);
    }
  }

  @Test
  void prometheusScrapesTheServerAndAnswersForItsRecords() throws Exception {
    Path binary = Path.of("/usr/bin/prometheus");
    assumeTrue(
        java.nio.file.Files.isExecutable(binary),
        "Prometheus is not installed here (apt-get install prometheus): " + binary);
    Path repo = dir.resolve("repo");
    TestCluster.apply(repo, "scraped", OnlinePathTest.REGISTRY, false);
    String recent = Instant.now().minusSeconds(60).toString();
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        KafkaProducer<byte[], byte[]> producer = TestCluster.producer(kafka);
        QuiverServer server =
            QuiverServer.start(
                TestCluster.options(repo, kafka.bootstrapServers())
                    .withMetricsPort(QuiverServer.ANY_FREE_PORT))) {
      List<Long> offsets =
          TestCluster.send(
              producer,
              "txns",
              List.of(
                  event("c1", recent, "1", "US"),
                  event("c2", recent, "2", "US"),
                  event("c3", recent, "3", "FR"),
                  "not json"));
      TestCluster.awaitApplied(server, "txns", offsets.get(offsets.size() - 1) + 1);

      PrometheusProcess prometheus = PrometheusProcess.start(dir, server.metricsPort());
      try {
        URI query =
            prometheus
                .api()
                .resolve("query?query=quiver_ingest_records_total%7Bsource%3D%22txns%22%7D");
        String[] answer = {""};
        TestCluster.await(
            () -> {
              answer[0] = get(query);
              return answer[0].contains("\"job\":\"quiver\"");
            },
            "Prometheus to answer for quiver_ingest_records_total");
        com.fasterxml.jackson.databind.JsonNode result =
            new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(answer[0])
                .path("data")
                .path("result");
        assertThat(result.size()).as(answer[0]).isEqualTo(1);
        assertThat(result.get(0).path("metric").path("__name__").asText())
            .isEqualTo("quiver_ingest_records_total");
        assertThat(result.get(0).path("value").get(1).asText()).isEqualTo("4");
      } finally {
        prometheus.close();
      }
    }
  }

  /** The body of a GET, or "" while nothing answers there. */
  private static String get(URI uri) {
    try {
      HttpResponse<String> r =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
                  HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? r.body() : "";
    } catch (java.io.IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }

  private static String event(String card, String ts, String amount, String country) {
    return "{\"card_id\":\""
        + card
        + "\",\"ts\":\""
        + ts
        + "\""
        + (amount == null ? "" : ",\"amount\":" + amount)
        + ",\"country\":\""
        + country
        + "\",\"cents\":100,\"qty\":2}";
  }

  private static Map<String, Double> deadLetters(Map<String, Double> m) {
    return byLabel(m, "quiver_ingest_dead_letters_total", "reason");
  }

  private static Map<String, Double> statuses(Map<String, Double> m) {
    return byLabel(m, "quiver_lookup_values_total", "status");
  }

  /** Values of one metric by one of its labels, the other labels ignored. */
  private static Map<String, Double> byLabel(Map<String, Double> m, String name, String label) {
    Map<String, Double> out = new HashMap<>();
    m.forEach(
        (key, value) -> {
          if (key.startsWith(name + "{")) {
            int at = key.indexOf(label + "=\"");
            if (at >= 0) {
              int from = at + label.length() + 2;
              out.merge(key.substring(from, key.indexOf('"', from)), value, Double::sum);
            }
          }
        });
    return out;
  }

  private static String bucket(String name, String code, String le) {
    return series(name, "code", code, "le", le, "method", LOOKUP);
  }

  /**
   * A series key as {@link #scrape} makes them: the name, then the given labels sorted; labels the
   * lookup method implies ({@code method} for the request timers) are added.
   */
  private static String series(String name, String... labels) {
    Map<String, String> l = new TreeMap<>();
    for (int i = 0; i < labels.length; i += 2) {
      l.put(labels[i], labels[i + 1]);
    }
    if (name.startsWith("quiver_grpc_server_requests")) {
      l.putIfAbsent("method", LOOKUP);
    }
    if (name.equals("quiver_ingest_lag")) {
      l.putIfAbsent("source", "txns");
      l.putIfAbsent("topic", "txns");
    }
    return key(name, l);
  }

  private static String key(String name, Map<String, String> labels) {
    if (labels.isEmpty()) {
      return name;
    }
    StringBuilder b = new StringBuilder(name).append('{');
    labels.forEach((k, v) -> b.append(k).append("=\"").append(v).append("\","));
    b.setLength(b.length() - 1);
    return b.append('}').toString();
  }

  /** GET /metrics, parsed: each series as name{sorted labels} to its value. */
  static Map<String, Double> scrape(QuiverServer server) {
    try {
      HttpResponse<String> r =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(
                          URI.create("http://127.0.0.1:" + server.metricsPort() + "/metrics"))
                      .timeout(Duration.ofSeconds(10))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
      Map<String, Double> out = new HashMap<>();
      for (String line : r.body().split("\n")) {
        if (line.isBlank() || line.startsWith("#")) {
          continue;
        }
        int space = line.lastIndexOf(' ');
        String series = line.substring(0, space);
        double value = Double.parseDouble(line.substring(space + 1));
        int brace = series.indexOf('{');
        if (brace < 0) {
          out.put(series, value);
          continue;
        }
        Map<String, String> labels = new TreeMap<>();
        String body = series.substring(brace + 1, series.length() - 1);
        for (String pair : body.split("\",")) {
          int eq = pair.indexOf('=');
          String v = pair.substring(eq + 2);
          labels.put(pair.substring(0, eq), v.endsWith("\"") ? v.substring(0, v.length() - 1) : v);
        }
        out.put(key(series.substring(0, brace), labels), value);
      }
      return out;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
