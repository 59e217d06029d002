package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.ingestion.Ingestion;
import dev.quiver.ingestion.IngestionConfig;
import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.offline.ParquetOfflineSink;
import dev.quiver.offline.pit.ParquetViewSource;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.logic.FeatureLogic;
import dev.quiver.registry.rows.ViewId;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.LongStream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Background commits of the offline store fail now and then (a full disk, a crash between the
 * commit record and the renames) while ingestion keeps running on a real broker: the files must
 * still end up holding every record exactly once, without a restart.
 */
class OfflineCommitFailureTest {
  static final String REGISTRY =
      String.join(
          "\n",
          "entities:",
          "  card: {join_keys: {card_id: string}}",
          "sources:",
          "  txns:",
          "    kafka: {topic: txns}",
          "    event_timestamp: ts",
          "    schema: {card_id: string, amount: double, ts: int64}",
          "feature_views:",
          "  card:",
          "    entities: [card]",
          "    source: txns",
          "    features:",
          "      amount: {type: double, expr: amount}",
          "");

  @TempDir Path dir;

  @Test
  void failedBackgroundCommitsLoseNothingAndDuplicateNothing() throws Exception {
    RegistrySnapshot snapshot = TestCluster.apply(dir.resolve("repo"), "fail", REGISTRY, false);
    ViewId view = new ViewId("card", 1);
    AtomicInteger backgroundCommits = new AtomicInteger();
    ParquetOfflineSink.StepHook hook =
        step -> {
          if (!Thread.currentThread().getName().equals("quiver-offline-roller")) {
            return;
          }
          int n =
              step == ParquetOfflineSink.Step.FILES_WRITTEN
                  ? backgroundCommits.incrementAndGet()
                  : backgroundCommits.get();
          if (n == 1 && step == ParquetOfflineSink.Step.FILES_WRITTEN) {
            throw new IOException("disk full");
          }
          if (n == 3 && step == ParquetOfflineSink.Step.RECORD_WRITTEN) {
            throw new IOException("failed between the commit record and the renames");
          }
        };
    Path offline = dir.resolve("offline");
    int waves = 5;
    int perWave = 400;
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
      ParquetOfflineSink sink =
          new ParquetOfflineSink(
              offline,
              new ParquetOfflineSink.Limits(1L << 40, Duration.ofMillis(150)),
              Clock.systemUTC(),
              hook);
      IngestionConfig defaults = IngestionConfig.defaults(kafka.bootstrapServers(), "fail");
      IngestionConfig config =
          new IngestionConfig(
              defaults.bootstrapServers(),
              defaults.groupPrefix(),
              100,
              Duration.ofMillis(50),
              Duration.ofMillis(100),
              "",
              Map.of());
      sink.prepare(List.of(view));
      try (Ingestion ingestion = new Ingestion(config, List.of(sink), new SimpleMeterRegistry());
          KafkaProducer<byte[], byte[]> producer = TestCluster.producer(kafka)) {
        ingestion.apply(snapshot, FeatureLogic.compile(snapshot));
        long base = Instant.parse("2026-03-01T00:00:00Z").toEpochMilli();
        for (int w = 0; w < waves; w++) {
          List<String> lines = new ArrayList<>();
          for (int i = 0; i < perWave; i++) {
            int n = w * perWave + i;
            lines.add(
                String.format(
                        "{\"card_id\":\"c%d\",\"amount\":%d.5,\"ts\":%d",
                        n % 13, n, base + n * 60_000L)
                    + "}");
          }
          TestCluster.send(producer, "txns", lines);
          long next = (long) (w + 1) * perWave;
          // Every wave is committed by the background roller, failing or not.
          TestCluster.await(
              () -> position(sink, view) >= next,
              "the offline store to commit offset " + next + " (" + backgroundCommits + ")");
        }
      }
      sink.close();
    }
    assertThat(backgroundCommits.get()).as("both failures were injected").isGreaterThanOrEqualTo(3);

    List<Long> offsets = new ArrayList<>();
    try (var rows =
        new ParquetViewSource(offline.resolve("card/v1"), List.of("card_id"), List.of("amount"))
            .read()) {
      while (rows.hasNext()) {
        var r = rows.next();
        offsets.add(r.offset());
        assertThat(r.values()[0]).isEqualTo(r.offset() + 0.5);
      }
    }
    offsets.sort(null);
    assertThat(offsets).isEqualTo(LongStream.range(0, (long) waves * perWave).boxed().toList());
  }

  private static long position(ParquetOfflineSink sink, ViewId view) {
    try {
      return sink.committed(view)
          .getOrDefault(new dev.quiver.registry.rows.SourcePartition("txns", 0), 0L);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
