package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.client.OnlineRequest;
import dev.quiver.client.OnlineResult;
import dev.quiver.client.QuiverClient;
import dev.quiver.ingestion.DeadLetters;
import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.proto.v1.FeatureStatus;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The online path end to end on a real Kafka broker: events in, features out over gRPC. */
class OnlinePathTest {
  static final String REGISTRY =
      String.join(
          "\n",
          "entities:",
          "  card: {join_keys: {card_id: string}}",
          "sources:",
          "  txns:",
          "    kafka: {topic: txns}",
          "    event_timestamp: ts",
          "    created_timestamp: created",
          "    schema: {card_id: string, amount: double, country: string, cents: int64, qty: int32,",
          "             ts: timestamp, created: int64, tags: list<string>, raw: bytes}",
          "feature_views:",
          "  card:",
          "    entities: [card]",
          "    source: txns",
          "    ttl: 1h",
          "    features:",
          "      amount: {type: double, expr: amount}",
          "      country: {type: string, expr: country}",
          "      per_item: {type: int64, expr: cents / qty}",
          "    aggregations:",
          "      n_1h: {function: count, window: 1h}",
          "feature_services:",
          "  svc: {features: [card:amount, card:country, card:n_1h]}",
          "");

  @TempDir static Path dir;
  static EmbeddedKafka kafka;
  static QuiverServer server;
  static QuiverClient client;
  static KafkaProducer<byte[], byte[]> producer;

  @BeforeAll
  static void start() throws Exception {
    kafka = EmbeddedKafka.start(dir.resolve("kafka"));
    Path repo = dir.resolve("repo");
    TestCluster.apply(repo, "online", REGISTRY, false);
    server = TestCluster.serve(repo, kafka);
    client = TestCluster.client(server);
    producer = TestCluster.producer(kafka);
  }

  @AfterAll
  static void stop() {
    producer.close();
    client.close();
    server.close();
    kafka.close();
  }

  static String event(String card, Instant ts, Object amount, String country) {
    return "{\"card_id\":\""
        + card
        + "\",\"ts\":\""
        + ts
        + "\",\"amount\":"
        + amount
        + (country == null ? "" : ",\"country\":\"" + country + "\"")
        + "}";
  }

  static void sendAndWait(List<String> lines) throws Exception {
    List<Long> offsets = TestCluster.send(producer, "txns", lines);
    TestCluster.awaitApplied(server, "txns", offsets.get(offsets.size() - 1) + 1);
  }

  @Test
  void everyStatusIsServedForEventsFromTheBroker() throws Exception {
    Instant now = Instant.now();
    sendAndWait(
        List.of(
            event("s_present", now.minusSeconds(30), 10.5, "US"),
            event("s_null", now.minusSeconds(30), 3.0, null),
            event("s_stale", now.minus(Duration.ofHours(3)), 7.0, "FR")));

    OnlineResult r =
        client.getOnlineFeatures(
            OnlineRequest.forService("svc")
                .entity("card_id", "s_present", "s_null", "s_stale", "s_missing"));

    assertThat(r.status("amount", 0)).isEqualTo(FeatureStatus.PRESENT);
    assertThat(r.getDouble("amount", 0)).isEqualTo(10.5);
    assertThat(r.getString("country", 0)).isEqualTo("US");
    assertThat(r.eventTime("amount", 0).getEpochSecond())
        .isEqualTo(now.minusSeconds(30).getEpochSecond());
    assertThat(r.status("country", 1)).isEqualTo(FeatureStatus.NULL_VALUE);
    assertThat(r.getDouble("amount", 1)).isEqualTo(3.0);
    assertThat(r.status("amount", 2)).isEqualTo(FeatureStatus.OUTSIDE_MAX_AGE);
    assertThat(r.get("amount", 2)).isNull();
    assertThat(r.eventTime("amount", 2).getEpochSecond())
        .isEqualTo(now.minus(Duration.ofHours(3)).getEpochSecond());
    assertThat(r.status("amount", 3)).isEqualTo(FeatureStatus.NOT_FOUND);
    assertThat(r.eventTime("amount", 3)).isNull();
    assertThat(r.getLong("n_1h", 0)).isEqualTo(1);
    assertThat(r.getLong("n_1h", 2)).isZero();
  }

  @Test
  void lateEventsNeverOverwriteNewerRows() throws Exception {
    Instant now = Instant.now();
    sendAndWait(
        List.of(
            event("late", now.minusSeconds(10), 2.0, "NEW"),
            event("late", now.minusSeconds(600), 1.0, "OLD"),
            // Same event time: the created timestamp decides, then the offset.
            "{\"card_id\":\"tie\",\"ts\":\""
                + now.minusSeconds(5)
                + "\",\"created\":2,\"amount\":2.0}",
            "{\"card_id\":\"tie\",\"ts\":\""
                + now.minusSeconds(5)
                + "\",\"created\":1,\"amount\":1.0}",
            "{\"card_id\":\"tie\",\"ts\":\"" + now.minusSeconds(5) + "\",\"amount\":0.5}"));
    OnlineResult r =
        client.getOnlineFeatures(OnlineRequest.forService("svc").entity("card_id", "late", "tie"));
    assertThat(r.getDouble("amount", 0)).isEqualTo(2.0);
    assertThat(r.getString("country", 0)).isEqualTo("NEW");
    assertThat(r.getLong("n_1h", 0)).as("both events count in the window").isEqualTo(2);
    assertThat(r.getDouble("amount", 1)).isEqualTo(2.0);
  }

  @Test
  void badRecordsGoToTheDeadLetterTopicWithReasonsWhileGoodOnesAreServed() throws Exception {
    Instant now = Instant.now();
    String ts = "\"ts\":\"" + now.minusSeconds(1) + "\"";
    List<String> bad =
        List.of(
            "this is not json",
            "[1, 2, 3]",
            "{\"amount\": 1.0, " + ts + "}",
            "{\"card_id\": null, " + ts + "}",
            "{\"card_id\": \"dl\"}",
            "{\"card_id\": \"dl\", \"ts\": \"last tuesday\"}",
            "{\"card_id\": \"dl\", " + ts + ", \"amount\": \"ten\"}",
            "{\"card_id\": \"dl\", " + ts + ", \"qty\": 3000000000}",
            "{\"card_id\": \"dl\", " + ts + ", \"raw\": \"%%%\"}",
            "{\"card_id\": \"dl\", " + ts + ", \"tags\": [\"a\", null]}",
            "{\"card_id\": \"dl\", \"card_id\": \"dl2\", " + ts + "}",
            "{\"card_id\": \"dl\", " + ts + ", \"cents\": 5, \"qty\": 0}",
            "{\"card_id\": \"dl\", " + ts + ", \"qty\": 1.5}");
    List<String> expectedReasons =
        List.of(
            "not_json",
            "not_an_object",
            "missing_join_key",
            "null_join_key",
            "missing_event_timestamp",
            "bad_timestamp",
            "wrong_type",
            "out_of_range",
            "bad_base64",
            "bad_list_element",
            "duplicate_field",
            "expression_failed",
            "wrong_type");
    List<String> lines = new ArrayList<>();
    lines.add(event("good_before", now.minusSeconds(2), 1.0, "US"));
    lines.addAll(bad);
    lines.add(null); // a tombstone
    lines.add(event("good_after", now.minusSeconds(1), 2.0, "US"));
    List<Long> offsets = TestCluster.send(producer, "txns", lines);
    TestCluster.awaitApplied(server, "txns", offsets.get(offsets.size() - 1) + 1);

    List<ConsumerRecord<byte[], byte[]>> dead =
        TestCluster.readAll(kafka, "txns.dlq", bad.size() + 1);
    assertThat(dead).hasSize(bad.size() + 1);
    for (int i = 0; i < bad.size(); i++) {
      ConsumerRecord<byte[], byte[]> d = dead.get(i);
      assertThat(TestCluster.header(d, DeadLetters.REASON))
          .as("reason of %s", bad.get(i))
          .isEqualTo(expectedReasons.get(i));
      assertThat(new String(d.value(), StandardCharsets.UTF_8)).isEqualTo(bad.get(i));
      assertThat(TestCluster.header(d, DeadLetters.TOPIC)).isEqualTo("txns");
      assertThat(TestCluster.header(d, DeadLetters.PARTITION)).isEqualTo("0");
      assertThat(TestCluster.header(d, DeadLetters.OFFSET))
          .isEqualTo(String.valueOf(offsets.get(i + 1)));
      assertThat(TestCluster.header(d, DeadLetters.SOURCE)).isEqualTo("txns");
      assertThat(TestCluster.header(d, DeadLetters.ERROR)).isNotBlank();
    }
    assertThat(TestCluster.header(dead.get(11), DeadLetters.VIEW)).isEqualTo("card@1");
    assertThat(TestCluster.header(dead.get(11), DeadLetters.ERROR))
        .contains("feature 'per_item'")
        .contains("by zero");
    assertThat(TestCluster.header(dead.get(7), DeadLetters.ERROR))
        .contains("'qty' is 3000000000, out of range for int32");
    assertThat(TestCluster.header(dead.get(bad.size()), DeadLetters.REASON))
        .isEqualTo("empty_record");
    assertThat(dead.get(bad.size()).value()).isNull();

    double counted =
        server.meters().find("quiver.ingest.dead_letters").counters().stream()
            .mapToDouble(c -> c.count())
            .sum();
    assertThat(counted).isGreaterThanOrEqualTo(bad.size() + 1);

    OnlineResult r =
        client.getOnlineFeatures(
            OnlineRequest.forService("svc").entity("card_id", "good_before", "good_after", "dl"));
    assertThat(r.getDouble("amount", 0)).isEqualTo(1.0);
    assertThat(r.getDouble("amount", 1)).isEqualTo(2.0);
    // No bad record became a row; the expression failure left its card without one too.
    assertThat(r.status("amount", 2)).isEqualTo(FeatureStatus.NOT_FOUND);
  }

  @Test
  void badRequestsOverTheNetworkGetPreciseStatuses() {
    assertThatThrownBy(
            () -> client.getOnlineFeatures(OnlineRequest.forService("nope").entity("card_id", "a")))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
              assertThat(e.getStatus().getDescription())
                  .contains("feature_service: 'nope' does not exist");
            });
    Object[] many = new Object[51];
    java.util.Arrays.fill(many, "x");
    assertThatThrownBy(
            () -> client.getOnlineFeatures(OnlineRequest.forService("svc").entity("card_id", many)))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.getStatus().getDescription())
                  .contains("51 entity rows exceed the limit of 50");
            });
    assertThatThrownBy(
            () -> client.getOnlineFeatures(OnlineRequest.forService("svc").entity("card_id", 7L)))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e ->
                assertThat(e.getStatus().getDescription())
                    .contains("entities['card_id'][0]: expected string, got int64"));
  }

  @Test
  void healthCheckingAndReflectionAreOn() throws Exception {
    ManagedChannel ch =
        ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
    try {
      HealthCheckResponse health =
          HealthGrpc.newBlockingStub(ch)
              .check(HealthCheckRequest.newBuilder().setService("quiver.v1.OnlineServing").build());
      assertThat(health.getStatus()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
      var reflection = io.grpc.reflection.v1.ServerReflectionGrpc.newStub(ch);
      var services = new java.util.concurrent.CompletableFuture<List<String>>();
      var requests =
          reflection.serverReflectionInfo(
              new io.grpc.stub.StreamObserver<>() {
                @Override
                public void onNext(io.grpc.reflection.v1.ServerReflectionResponse r) {
                  services.complete(
                      r.getListServicesResponse().getServiceList().stream()
                          .map(s -> s.getName())
                          .toList());
                }

                @Override
                public void onError(Throwable t) {
                  services.completeExceptionally(t);
                }

                @Override
                public void onCompleted() {}
              });
      requests.onNext(
          io.grpc.reflection.v1.ServerReflectionRequest.newBuilder().setListServices("").build());
      assertThat(services.get(10, java.util.concurrent.TimeUnit.SECONDS))
          .contains("quiver.v1.OnlineServing", "quiver.v1.Registry", "grpc.health.v1.Health");
      requests.onCompleted();
    } finally {
      ch.shutdownNow();
    }
    assertThat(Map.of()).isEmpty();
  }
}
