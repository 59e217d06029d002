package dev.quiver.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.offline.ParquetOfflineSink;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.rows.RowBatch;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.rows.ViewShape;
import dev.quiver.registry.semantics.JoinKeys;
import dev.quiver.registry.semantics.Micros;
import dev.quiver.registry.semantics.OfflineLayout;
import dev.quiver.registry.semantics.OrderKey;
import dev.quiver.server.RepoSettings;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code quiver export} of entity rows later than the offline store's committed watermark: a
 * warning on stderr naming the views, their watermarks and the rows, or with {@code
 * --refuse-past-watermark} exit 3 and no output. The offline rows are written by the real offline
 * sink into the repo's data directory.
 */
class ExportWatermarkTest {
  @TempDir Path dir;
  Path repo;

  @BeforeEach
  void applyTheExample() throws IOException {
    repo = CliTest.copyPayments(dir);
    assertThat(CliTest.run("apply", repo.toString()).exit()).isZero();
  }

  private Path entities(String... times) throws IOException {
    StringBuilder text = new StringBuilder("card_id,event_timestamp\n");
    for (String t : times) {
      text.append("card_0001,").append(t).append('\n');
    }
    return Files.writeString(dir.resolve("entities.csv"), text);
  }

  private CliTest.Result export(Path entities, Path out, String... more) {
    List<String> args =
        new java.util.ArrayList<>(
            List.of(
                "export",
                "--repo",
                repo.toString(),
                "--entities",
                entities.toString(),
                "--features",
                "card_activity:last_amount",
                "--out",
                out.toString()));
    args.addAll(List.of(more));
    return CliTest.run(args.toArray(String[]::new));
  }

  /** Commits one row of card_activity for card_0001 at {@code t}, as quiver serve would. */
  private void commitRowAt(Instant t) throws IOException {
    RepoSettings settings = RepoSettings.read(repo);
    RegistrySnapshot registry =
        AppliedRegistry.latest(settings, new PrintWriter(new StringWriter())).orElseThrow();
    FeatureView view =
        registry.getFeatureViewsList().stream()
            .filter(v -> v.getName().equals("card_activity"))
            .findFirst()
            .orElseThrow();
    ViewShape shape = ViewShape.of(view, JoinKeys.of(registry, view));
    Object[] features = new Object[shape.features().size()];
    features[shape.features().indexOf("last_amount")] = 12.5;
    try (ParquetOfflineSink sink =
        new ParquetOfflineSink(
            OfflineLayout.projectRoot(settings.dataDir(), registry.getProject().getName()),
            ParquetOfflineSink.Limits.defaults(),
            Clock.systemUTC())) {
      sink.write(
          new RowBatch(
              List.of(
                  new ViewRow(
                      shape,
                      List.of("card_0001"),
                      new OrderKey(Micros.of(t), OrderKey.NO_CREATED_TIME, 0, 0),
                      features,
                      new Object[shape.aggregations().size()])),
              Map.of(shape.id(), Map.of(new SourcePartition("payments.transactions", 0), 1L))));
    }
  }

  @Test
  void anExportBeforeAnythingIsCommittedWarnsNamingTheViewAndTheRows() throws IOException {
    Path out = dir.resolve("training.csv");
    CliTest.Result r = export(entities("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"), out);
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.err())
        .contains(
            "warning: 2 of 2 entity rows are later than the offline store's watermark of a view"
                + " they read")
        .contains("card_activity v1: nothing committed yet, 2 rows later")
        .contains("--refuse-past-watermark");
    assertThat(out).exists();
  }

  @Test
  void refusingExitsThreeAndWritesNothing() throws IOException {
    Path out = dir.resolve("training.parquet");
    CliTest.Result r = export(entities("2026-03-01T00:00:00Z"), out, "--refuse-past-watermark");
    assertThat(r.exit()).as(r.err()).isEqualTo(ExportCommand.PAST_WATERMARK).isEqualTo(3);
    assertThat(r.err())
        .startsWith("error: 1 of 1 entity row is later")
        .contains("card_activity v1: nothing committed yet, 1 row later")
        .contains("nothing was written")
        .doesNotContain("Exception");
    assertThat(out).doesNotExist();
    try (var files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
    }
  }

  @Test
  void theWatermarkIsTheNewestCommittedEventTime() throws IOException {
    commitRowAt(Instant.parse("2026-03-01T12:00:00Z"));
    Path out = dir.resolve("training.csv");
    CliTest.Result before =
        export(
            entities("2026-03-01T11:00:00Z", "2026-03-01T12:00:00Z"),
            out,
            "--refuse-past-watermark");
    assertThat(before.exit()).as(before.err()).isZero();
    assertThat(before.err()).doesNotContain("warning").doesNotContain("watermark");
    assertThat(Files.readString(out)).contains("card_0001,2026-03-01T12:00:00Z,12.5");

    CliTest.Result after = export(entities("2026-03-01T11:00:00Z", "2026-03-01T13:00:00Z"), out);
    assertThat(after.exit()).as(after.err()).isZero();
    assertThat(after.err())
        .contains("warning: 1 of 2 entity rows is later")
        .contains(
            "card_activity v1: watermark 2026-03-01T12:00:00Z (its newest committed event), 1 row"
                + " later");
  }
}
