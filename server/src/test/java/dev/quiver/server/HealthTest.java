package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.proto.v1.OnlineServingGrpc;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gRPC health service tells the truth about lookups: {@code quiver.v1.OnlineServing} goes
 * {@code NOT_SERVING} while its broker is gone (and back once it returns), while the process as a
 * whole stays {@code SERVING}.
 */
class HealthTest {
  static final String REGISTRY =
      String.join(
          "\n",
          "entities:",
          "  card: {join_keys: {card_id: string}}",
          "sources:",
          "  txns:",
          "    kafka: {topic: health.txns}",
          "    event_timestamp: ts",
          "    schema: {card_id: string, amount: double, ts: timestamp}",
          "feature_views:",
          "  cards:",
          "    entities: [card]",
          "    source: txns",
          "    features:",
          "      amount: {type: double, expr: amount}",
          "");

  @TempDir Path dir;

  @Test
  void lookupsReportNotServingWhileTheBrokerIsDownAndTheProcessStaysServing() throws Exception {
    Path kafkaDir = dir.resolve("kafka");
    EmbeddedKafka kafka = EmbeddedKafka.start(kafkaDir);
    Path repo = dir.resolve("repo");
    TestCluster.apply(repo, "health", REGISTRY, false);
    QuiverServer server =
        QuiverServer.start(
            QuiverServer.Options.defaults(RepoSettings.read(repo))
                .withMetricsPort(0)
                .withBootstrap(kafka.bootstrapServers())
                .withGrpcPort(0)
                .withFlightPort(0)
                .withHealthInterval(Duration.ofMillis(200)));
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
    try {
      HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel);
      try (var producer = TestCluster.producer(kafka)) {
        List<Long> offsets =
            TestCluster.send(
                producer,
                "health.txns",
                List.of("{\"card_id\":\"c1\",\"amount\":1.5,\"ts\":\"" + Instant.now() + "\"}"));
        TestCluster.awaitApplied(server, "txns", offsets.get(0) + 1);
      }
      assertThat(status(health, OnlineServingGrpc.SERVICE_NAME)).isEqualTo(ServingStatus.SERVING);

      kafka.close();
      TestCluster.await(
          () -> status(health, OnlineServingGrpc.SERVICE_NAME) == ServingStatus.NOT_SERVING,
          "lookups to report NOT_SERVING with the broker down");
      assertThat(status(health, "")).isEqualTo(ServingStatus.SERVING);
      assertThat(server.lookupHealthReasons()).contains("source txns");

      kafka = EmbeddedKafka.start(kafkaDir);
      TestCluster.await(
          () -> status(health, OnlineServingGrpc.SERVICE_NAME) == ServingStatus.SERVING,
          "lookups to report SERVING once the broker is back");
      assertThat(server.lookupHealthReasons()).isEmpty();
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      server.close();
      kafka.close();
    }
  }

  static ServingStatus status(HealthGrpc.HealthBlockingStub health, String service) {
    return health
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .check(HealthCheckRequest.newBuilder().setService(service).build())
        .getStatus();
  }
}
