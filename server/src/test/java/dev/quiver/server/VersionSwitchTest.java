package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.client.OnlineRequest;
import dev.quiver.client.OnlineResult;
import dev.quiver.client.QuiverClient;
import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.proto.v1.FeatureStatus;
import dev.quiver.registry.rows.SourceArchive;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.ViewId;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A new view version builds in the background from the source archive while the version before it
 * keeps serving, then takes over at once: lookups never see NOT_FOUND because of the switch, never
 * a mix of the two versions, and never the old version again once the new one answered.
 */
class VersionSwitchTest {
  static final String V1 =
      String.join(
          "\n",
          "entities:",
          "  card: {join_keys: {card_id: string}}",
          "sources:",
          "  txns:",
          "    kafka: {topic: switch.txns}",
          "    event_timestamp: ts",
          "    schema: {card_id: string, amount: double, country: string, ts: int64}",
          "feature_views:",
          "  spend:",
          "    entities: [card]",
          "    source: txns",
          "    features:",
          "      amount: {type: double, expr: amount}",
          "      country: {type: string, expr: country}",
          "feature_services:",
          "  scoring:",
          "    features: [spend:amount, spend:country]",
          "");

  /** A breaking change to both features: version 2. */
  static final String V2 =
      V1.replace("    source: txns\n", "    source: txns\n    version: 2\n")
          .replace("expr: amount}", "expr: amount * 2.0}")
          .replace("expr: country}", "expr: country + \"!\"}");

  static final int EVENTS = 150_000;
  static final int CARDS = 2_000;

  @TempDir Path dir;

  @Test
  void servicesKeepTheOldVersionUntilTheNewOneHasCaughtUp() throws Exception {
    Path repo = dir.resolve("repo");
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
      TestCluster.apply(repo, "switch", V1, false);
      QuiverServer.Options options =
          TestCluster.options(repo, kafka.bootstrapServers())
              .withOfflineCommitInterval(Duration.ofMillis(500))
              .withHealthInterval(Duration.ofMillis(50));
      try (QuiverServer server = QuiverServer.start(options);
          QuiverClient client = TestCluster.client(server)) {
        long end = produce(kafka);
        TestCluster.awaitApplied(server, "txns", end);
        SourcePartition p0 = new SourcePartition("switch.txns", 0);
        TestCluster.await(
            () -> {
              try {
                return server
                        .offlineStore()
                        .committed(SourceArchive.id("txns"))
                        .getOrDefault(p0, 0L)
                    >= end;
              } catch (java.io.IOException e) {
                return false;
              }
            },
            "the archive to hold every record");
        List<String> cards = new ArrayList<>();
        for (int c = 0; c < CARDS; c += 40) {
          cards.add("c" + c);
        }
        OnlineResult before = lookup(client, cards);
        Map<String, Double> amounts = new HashMap<>();
        for (int i = 0; i < cards.size(); i++) {
          assertThat(before.status("amount", i)).isEqualTo(FeatureStatus.PRESENT);
          amounts.put(cards.get(i), before.getDouble("amount", i));
        }

        TestCluster.apply(repo, "switch", V2, false);
        TestCluster.await(() -> server.servedRegistryVersion() == 2, "version 2 in effect");
        int oldAnswers = 0;
        boolean sawBuilding = false;
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        int newAnswers = 0;
        while (newAnswers < 20) {
          assertThat(System.nanoTime()).as("version 2 to take over").isLessThan(deadline);
          OnlineResult r = lookup(client, cards);
          int v2 = 0;
          for (int i = 0; i < cards.size(); i++) {
            assertThat(r.status("amount", i)).isEqualTo(FeatureStatus.PRESENT);
            assertThat(r.status("country", i)).isEqualTo(FeatureStatus.PRESENT);
            double a = r.getDouble("amount", i);
            boolean doubled = a == 2 * amounts.get(cards.get(i));
            assertThat(a)
                .as("%s (answer %d, %s)", cards.get(i), oldAnswers + newAnswers, r)
                .isIn(amounts.get(cards.get(i)), 2 * amounts.get(cards.get(i)));
            // Both features of a view come from one version.
            assertThat(r.getString("country", i).endsWith("!")).isEqualTo(doubled);
            v2 += doubled ? 1 : 0;
          }
          assertThat(v2).as("one version for every row of a request").isIn(0, cards.size());
          if (v2 == 0) {
            assertThat(newAnswers).as("the old version after the new one answered").isZero();
            oldAnswers++;
            sawBuilding |=
                ServingVersions.describe(repo.resolve("data"))
                    .getOrDefault(new ViewId("spend", 2), "")
                    .startsWith("building");
          } else {
            newAnswers++;
          }
        }
        assertThat(oldAnswers).as("answers from version 1 while version 2 built").isPositive();
        assertThat(sawBuilding).as("registry show saying version 2 is building").isTrue();
        assertThat(ServingVersions.describe(repo.resolve("data")))
            .containsEntry(new ViewId("spend", 2), "serving")
            .containsEntry(new ViewId("spend", 1), "kept: the version before v2");
        // The previous version is kept: it is still served by name.
        OnlineResult pinned =
            client.getOnlineFeatures(
                OnlineRequest.forFeatures("spend@1:amount").entity("card_id", cards.get(0)));
        assertThat(pinned.getDouble("amount", 0)).isEqualTo(amounts.get(cards.get(0)));
      }
    }
  }

  static OnlineResult lookup(QuiverClient client, List<String> cards) {
    return client.getOnlineFeatures(OnlineRequest.forService("scoring").entity("card_id", cards));
  }

  /** {@link #EVENTS} events over {@link #CARDS} cards in the last day; returns the end offset. */
  static long produce(EmbeddedKafka kafka) throws Exception {
    long base = Instant.now().minus(Duration.ofDays(1)).toEpochMilli();
    long last = 0;
    try (KafkaProducer<byte[], byte[]> producer = TestCluster.producer(kafka)) {
      java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata> f = null;
      for (int i = 0; i < EVENTS; i++) {
        String json =
            "{\"card_id\":\"c"
                + (i % CARDS)
                + "\",\"amount\":"
                + ((i % 1000) / 4.0 + 1.0)
                + ",\"country\":\""
                + (i % 7 == 0 ? "NL" : "US")
                + "\",\"ts\":"
                + (base + i * 100L)
                + "}";
        f =
            producer.send(
                new ProducerRecord<>(
                    "switch.txns", 0, null, json.getBytes(StandardCharsets.UTF_8)));
      }
      producer.flush();
      last = f.get().offset();
    }
    return last + 1;
  }
}
