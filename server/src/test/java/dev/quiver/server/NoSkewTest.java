package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import dev.quiver.client.OnlineRequest;
import dev.quiver.client.OnlineResult;
import dev.quiver.client.QuiverClient;
import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.offline.export.TrainingSetExport;
import dev.quiver.proto.v1.FeatureStatus;
import dev.quiver.proto.v1.RegistrySnapshot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The no-skew promise: for the same events, what serving returns at time T and what a training-set
 * export gives for rows at T agree on every value.
 */
class NoSkewTest {
  @TempDir Path dir;

  @Test
  void onlineLookupAndExportAgreeAtTheSameTime() throws Exception {
    Path repo = dir.resolve("repo");
    RegistrySnapshot registry = TestCluster.apply(repo, "skew", OnlinePathTest.REGISTRY, false);
    Random random = new Random(11);
    int cards = 40;
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        KafkaProducer<byte[], byte[]> producer = TestCluster.producer(kafka);
        QuiverServer server = TestCluster.serve(repo, kafka);
        QuiverClient client = TestCluster.client(server)) {
      Instant now = Instant.now();
      List<String> events = new ArrayList<>();
      for (int i = 0; i < 600; i++) {
        String card = "c" + random.nextInt(cards);
        // Mostly within the TTL of 1h, some well outside it, in no particular order.
        long ageSeconds =
            random.nextInt(10) == 0 ? 7200 + random.nextInt(3600) : random.nextInt(3000);
        StringBuilder e =
            new StringBuilder(
                "{\"card_id\":\"" + card + "\",\"ts\":\"" + now.minusSeconds(ageSeconds) + "\"");
        if (random.nextInt(6) != 0) {
          e.append(",\"amount\":").append(random.nextInt(10_000) / 100.0);
        }
        if (random.nextInt(4) != 0) {
          e.append(",\"country\":\"").append(random.nextBoolean() ? "US" : "FR").append('"');
        }
        e.append(",\"cents\":")
            .append(random.nextInt(1000))
            .append(",\"qty\":")
            .append(1 + random.nextInt(5));
        events.add(e.append('}').toString());
      }
      List<Long> offsets = TestCluster.send(producer, "txns", events);
      TestCluster.awaitApplied(server, "txns", offsets.get(offsets.size() - 1) + 1);
      server.offlineStore().commitAll();

      List<Object> ids = new ArrayList<>();
      for (int c = 0; c < cards + 3; c++) {
        ids.add("c" + c); // three cards never had an event
      }
      // The same request time on both sides: retry in the rare case that the online call crossed
      // a 5-minute hop boundary of n_1h's window after t was taken.
      Instant t;
      OnlineResult online;
      do {
        t = Instant.now();
        online =
            client.getOnlineFeatures(
                OnlineRequest.forFeatures(
                        "card:amount", "card:country", "card:per_item", "card:n_1h")
                    .entity("card_id", ids));
      } while (t.toEpochMilli() / 300_000 != Instant.now().toEpochMilli() / 300_000);

      Path table = dir.resolve("entities.csv");
      StringBuilder csv = new StringBuilder("card_id,event_timestamp,label\n");
      for (Object id : ids) {
        csv.append(id).append(',').append(t).append(",1\n");
      }
      Files.writeString(table, csv);
      Path out = dir.resolve("training.csv");
      TrainingSetExport.Summary summary =
          TrainingSetExport.run(
              registry,
              repo.resolve("data/offline/skew"),
              new TrainingSetExport.Request(
                  table,
                  "event_timestamp",
                  null,
                  List.of("card:amount", "card:country", "card:per_item", "card:n_1h"),
                  out,
                  50,
                  dir.resolve("spill")),
              n -> {});
      assertThat(summary.rows()).isEqualTo(ids.size());

      List<String[]> exported = new ArrayList<>();
      try (MappingIterator<String[]> it =
          new CsvMapper()
              .enable(CsvParser.Feature.WRAP_AS_ARRAY)
              .readerFor(String[].class)
              .readValues(out.toFile())) {
        it.next();
        it.forEachRemaining(exported::add);
      }
      int present = 0;
      for (int r = 0; r < ids.size(); r++) {
        String[] row = exported.get(r);
        assertThat(row[0]).isEqualTo(ids.get(r));
        String[] features = {"amount", "country", "per_item", "n_1h"};
        for (int f = 0; f < features.length; f++) {
          String offline = row[3 + f];
          Object value = online.get(features[f], r);
          FeatureStatus status = online.status(features[f], r);
          if (status == FeatureStatus.PRESENT) {
            present++;
            assertThat(offline)
                .as("%s of %s", features[f], ids.get(r))
                .isEqualTo(String.valueOf(value));
          } else {
            assertThat(offline)
                .as("%s of %s (online %s)", features[f], ids.get(r), status)
                .isEmpty();
          }
        }
      }
      assertThat(present).as("most values are present").isGreaterThan(cards);
    }
  }
}
