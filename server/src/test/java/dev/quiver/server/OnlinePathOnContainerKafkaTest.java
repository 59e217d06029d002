package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.client.OnlineRequest;
import dev.quiver.client.OnlineResult;
import dev.quiver.client.QuiverClient;
import dev.quiver.proto.v1.FeatureStatus;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.KafkaContainer;

/**
 * The online path on Kafka in a container, where Docker exists (skipped cleanly elsewhere); the
 * in-process broker tests cover the same ground everywhere.
 */
@Testcontainers(disabledWithoutDocker = true)
class OnlinePathOnContainerKafkaTest {
  @Container static final KafkaContainer KAFKA = new KafkaContainer("apache/kafka:4.0.0");

  @TempDir Path dir;

  @Test
  void eventsFromAContainerBrokerAreServed() throws Exception {
    Path repo = dir.resolve("repo");
    TestCluster.apply(repo, "container", OnlinePathTest.REGISTRY, false);
    try (QuiverServer server = TestCluster.serve(repo, KAFKA.getBootstrapServers());
        KafkaProducer<byte[], byte[]> producer = TestCluster.producer(KAFKA.getBootstrapServers());
        QuiverClient client = TestCluster.client(server)) {
      Instant now = Instant.now();
      List<Long> offsets =
          TestCluster.send(
              producer,
              "txns",
              List.of(OnlinePathTest.event("c1", now.minusSeconds(5), 9.5, "US"), "not json"));
      TestCluster.awaitApplied(server, "txns", offsets.get(1) + 1);
      OnlineResult r =
          client.getOnlineFeatures(OnlineRequest.forService("svc").entity("card_id", "c1", "c2"));
      assertThat(r.getDouble("amount", 0)).isEqualTo(9.5);
      assertThat(r.status("amount", 1)).isEqualTo(FeatureStatus.NOT_FOUND);
    }
  }
}
