package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.client.OnlineRequest;
import dev.quiver.client.OnlineResult;
import dev.quiver.client.QuiverClient;
import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.offline.pit.ParquetViewSource;
import dev.quiver.proto.v1.FeatureStatus;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** quiver apply against a running server takes effect without a restart. */
class RegistryChangeTest {
  static final String V1 =
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
          "  spend:",
          "    entities: [card]",
          "    source: txns",
          "    features:",
          "      amount: {type: double, expr: amount}",
          "      doomed: {type: string, expr: country}",
          "");

  /** Adds a feature to spend, removes doomed, and adds a view that replays the topic. */
  static final String V2 =
      V1.replace(
              "      doomed: {type: string, expr: country}\n",
              "      doubled: {type: double, expr: amount * 2.0}\n")
          + String.join(
              "\n",
              "  geo:",
              "    entities: [card]",
              "    source: txns",
              "    features:",
              "      country: {type: string, expr: country}",
              "");

  @TempDir Path dir;

  @Test
  void appliedChangesAreServedWithoutARestart() throws Exception {
    Path repo = dir.resolve("repo");
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        KafkaProducer<byte[], byte[]> producer = TestCluster.producer(kafka)) {
      TestCluster.apply(repo, "change", V1, false);
      try (QuiverServer server = TestCluster.serve(repo, kafka);
          QuiverClient client = TestCluster.client(server)) {
        // A minute ago: the later event below, a second after it, is not ahead of the clock (an
        // event ahead of it counts only once the clock reaches it).
        Instant now = Instant.now().minusSeconds(60);
        List<Long> offsets =
            TestCluster.send(
                producer,
                "txns",
                List.of(
                    "{\"card_id\":\"c1\",\"ts\":\""
                        + now
                        + "\",\"amount\":4.0,\"country\":\"NL\"}"));
        TestCluster.awaitApplied(server, "txns", offsets.get(0) + 1);
        assertThat(
                client
                    .getOnlineFeatures(
                        OnlineRequest.forFeatures("spend:doomed").entity("card_id", "c1"))
                    .getString("doomed", 0))
            .isEqualTo("NL");

        TestCluster.apply(repo, "change", V2, true);
        TestCluster.await(
            () -> server.servedRegistryVersion() == 2, "registry version 2 in effect");

        // The new view replays the topic from its start: the event sent before it existed counts.
        TestCluster.await(
            () ->
                client
                        .getOnlineFeatures(
                            OnlineRequest.forFeatures("geo:country").entity("card_id", "c1"))
                        .status("country", 0)
                    == FeatureStatus.PRESENT,
            "geo to replay the topic");
        OnlineResult geo =
            client.getOnlineFeatures(
                OnlineRequest.forFeatures("geo:country").entity("card_id", "c1"));
        assertThat(geo.getString("country", 0)).isEqualTo("NL");
        assertThat(geo.registryVersion()).isEqualTo(2);

        // A feature added to an existing view: null for rows written before, computed after.
        OnlineResult before =
            client.getOnlineFeatures(
                OnlineRequest.forFeatures("spend:amount", "spend:doubled").entity("card_id", "c1"));
        assertThat(before.status("doubled", 0)).isEqualTo(FeatureStatus.NULL_VALUE);
        offsets =
            TestCluster.send(
                producer,
                "txns",
                List.of(
                    "{\"card_id\":\"c1\",\"ts\":\"" + now.plusSeconds(1) + "\",\"amount\":5.0}"));
        TestCluster.awaitApplied(server, "txns", offsets.get(0) + 1);
        OnlineResult after =
            client.getOnlineFeatures(
                OnlineRequest.forFeatures("spend:amount", "spend:doubled").entity("card_id", "c1"));
        assertThat(after.getDouble("doubled", 0)).isEqualTo(10.0);

        // The removed feature is no longer served.
        assertThatThrownBy(
                () ->
                    client.getOnlineFeatures(
                        OnlineRequest.forFeatures("spend:doomed").entity("card_id", "c1")))
            .isInstanceOfSatisfying(
                StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
      }
      // The ingestor restarted with the registry change and sought back to the sinks' positions:
      // rows the offline store already held were not written to it twice.
      List<String> offline = new ArrayList<>();
      try (var rows =
          new ParquetViewSource(
                  repo.resolve("data/offline/change/spend/v1"),
                  List.of("card_id"),
                  List.of("amount"))
              .read()) {
        while (rows.hasNext()) {
          var r = rows.next();
          offline.add(r.partition() + "/" + r.offset() + " " + Arrays.toString(r.values()));
        }
      }
      assertThat(offline).hasSize(2).doesNotHaveDuplicates();
      assertThat(offline).anyMatch(r -> r.endsWith(" [4.0]")).anyMatch(r -> r.endsWith(" [5.0]"));
    }
  }
}
