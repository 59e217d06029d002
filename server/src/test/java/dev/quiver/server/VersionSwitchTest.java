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
import java.util.concurrent.TimeUnit;
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
          "    aggregations:",
          "      seen: {function: count, window: 30d}",
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

  @Test
  void aKilledServerResumesTheBackfillWithoutLosingOrRepeatingRows() throws Exception {
    Path repo = dir.resolve("repo");
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
      TestCluster.apply(repo, "switch", V1, false);
      Process first = serveProcess(repo, kafka, "run0");
      long end = produce(kafka);
      Path offline = repo.resolve("data/offline/switch");
      awaitCommitted(offline.resolve("_sources/txns/v1"), end, first, "run0", false);
      TestCluster.apply(repo, "switch", V2, false);
      // Killed once the new version has committed part of its history, not all of it.
      awaitCommitted(offline.resolve("spend/v2"), end, first, "run0", true);
      first.destroyForcibly(); // SIGKILL
      assertThat(first.waitFor(30, TimeUnit.SECONDS)).isTrue();

      Process second = serveProcess(repo, kafka, "run1");
      awaitCommitted(offline.resolve("spend/v2"), end, second, "run1", false);
      TestCluster.await(
          () ->
              "serving"
                  .equals(
                      ServingVersions.describe(repo.resolve("data")).get(new ViewId("spend", 2))),
          "version 2 to take over");
      second.destroy();
      assertThat(second.waitFor(60, TimeUnit.SECONDS)).isTrue();

      // Offline: every record once, computed by version 2's logic.
      List<String> v1 = SourceArchiveTest.offlineRows(offline.resolve("spend/v1"));
      List<String> v2 = SourceArchiveTest.offlineRows(offline.resolve("spend/v2"));
      assertThat(v2).hasSize(EVENTS).doesNotHaveDuplicates();
      assertThat(v2.get(7)).isEqualTo(doubled(v1.get(7)));
      assertThat(v2).isEqualTo(v1.stream().map(VersionSwitchTest::doubled).toList());

      // Online: counts show no row applied twice, values are version 2's.
      try (QuiverServer server = TestCluster.serve(repo, kafka);
          QuiverClient client = TestCluster.client(server)) {
        List<String> cards = List.of("c0", "c1", "c999", "c1999");
        OnlineResult old =
            client.getOnlineFeatures(
                OnlineRequest.forFeatures("spend@1:amount", "spend@1:seen")
                    .entity("card_id", cards));
        OnlineResult now =
            client.getOnlineFeatures(
                OnlineRequest.forFeatures("spend:amount", "spend:country", "spend:seen")
                    .entity("card_id", cards));
        for (int i = 0; i < cards.size(); i++) {
          assertThat(now.getLong("seen", i)).isEqualTo((long) EVENTS / CARDS);
          assertThat(old.getLong("seen", i)).isEqualTo((long) EVENTS / CARDS);
          assertThat(now.getDouble("amount", i)).isEqualTo(2 * old.getDouble("amount", i));
          assertThat(now.getString("country", i)).endsWith("!");
        }
      }
    }
  }

  /** A version 1 offline row as version 2 computes it: amount doubled, "!" after the country. */
  static String doubled(String row) {
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("(.*\\[)([0-9.]+), ([A-Z]+)(, .*)").matcher(row);
    assertThat(m.matches()).as(row).isTrue();
    return m.group(1) + (2 * Double.parseDouble(m.group(2))) + ", " + m.group(3) + "!" + m.group(4);
  }

  private Process serveProcess(Path repo, EmbeddedKafka kafka, String name) throws Exception {
    return TestCluster.serveProcess(
        repo,
        kafka.bootstrapServers(),
        dir.resolve(name + ".log"),
        "--host",
        "127.0.0.1",
        "--offline-commit-seconds",
        "1");
  }

  /**
   * Waits until a view's newest offline commit record reaches {@code end} on partition 0 (or, with
   * {@code part}, holds some of the records but not all).
   */
  private void awaitCommitted(Path viewDir, long end, Process child, String name, boolean part)
      throws Exception {
    Path commits = viewDir.resolve("_commits");
    long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
    long got = 0;
    while (true) {
      if (java.nio.file.Files.isDirectory(commits)) {
        try (var records = java.nio.file.Files.list(commits)) {
          Path newest =
              records
                  .filter(p -> p.getFileName().toString().matches("[0-9]+\\.json"))
                  .max(java.util.Comparator.naturalOrder())
                  .orElse(null);
          if (newest != null) {
            got =
                new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(newest.toFile())
                    .path("positions")
                    .path("switch.txns/0")
                    .asLong();
            if (part ? got > 0 && got < end : got >= end) {
              return;
            }
          }
        }
      }
      if (!child.isAlive() || System.nanoTime() > deadline || (part && got >= end)) {
        throw new AssertionError(
            viewDir
                + ": committed "
                + got
                + " of "
                + end
                + "; log:\n"
                + java.nio.file.Files.readString(dir.resolve(name + ".log")));
      }
      Thread.sleep(20);
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
