package dev.quiver.offline.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.offline.ParquetOfflineSink;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.rows.RowBatch;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.rows.ViewShape;
import dev.quiver.registry.semantics.JoinKeys;
import dev.quiver.registry.semantics.Micros;
import dev.quiver.registry.semantics.OrderKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Entity rows later than the offline store's committed watermark are reported (or refused), never
 * silently answered from an offline store that has not caught up. Rows are written by the real
 * offline sink: committed files, and rows still in uncommitted temporaries.
 */
class PastWatermarkTest {
  static final RegistrySnapshot REGISTRY = SafeOutputTest.registry();
  static final SourcePartition P0 = new SourcePartition("txns", 0);
  static final Instant COMMITTED = Instant.parse("2026-05-01T10:00:00Z");

  @TempDir Path dir;

  /** Rows of spend v1 at 09:00 and 10:00 committed, and one at 11:00 written but not committed. */
  private ParquetOfflineSink store() throws IOException {
    FeatureView view = REGISTRY.getFeatureViews(0);
    ViewShape shape = ViewShape.of(view, JoinKeys.of(REGISTRY, view));
    ViewId id = shape.id();
    ParquetOfflineSink sink =
        new ParquetOfflineSink(
            dir.resolve("offline"),
            new ParquetOfflineSink.Limits(1L << 40, Duration.ofHours(1)),
            Clock.systemUTC());
    List<ViewRow> rows = new ArrayList<>();
    rows.add(row(shape, "c1", COMMITTED.minusSeconds(3600), 0, 1.0));
    rows.add(row(shape, "c2", COMMITTED, 1, 2.0));
    sink.write(new RowBatch(rows, Map.of(id, Map.of(P0, 2L))));
    sink.commitAll();
    sink.write(
        new RowBatch(
            List.of(row(shape, "c1", COMMITTED.plusSeconds(3600), 2, 3.0)),
            Map.of(id, Map.of(P0, 3L))));
    return sink;
  }

  private static ViewRow row(ViewShape shape, String card, Instant t, long offset, double amount) {
    return new ViewRow(
        shape,
        List.of(card),
        new OrderKey(Micros.of(t), OrderKey.NO_CREATED_TIME, 0, offset),
        new Object[] {amount},
        new Object[] {});
  }

  private Path entities(String... times) throws IOException {
    StringBuilder text = new StringBuilder("card_id,event_timestamp\n");
    for (String t : times) {
      text.append("c1,").append(t).append('\n');
    }
    return Files.writeString(dir.resolve("entities.csv"), text);
  }

  private TrainingSetExport.Summary export(Path entities, Path out, boolean refuse)
      throws IOException {
    return TrainingSetExport.run(
        REGISTRY,
        dir.resolve("offline"),
        new TrainingSetExport.Request(
            entities,
            "event_timestamp",
            null,
            List.of("spend:amount"),
            out,
            10_000,
            dir.resolve("spill"),
            refuse),
        n -> {});
  }

  @Test
  void rowsLaterThanTheNewestCommittedEventAreCountedWithTheViewAndItsWatermark()
      throws IOException {
    try (ParquetOfflineSink sink = store()) {
      Path in =
          entities(
              "2026-05-01T09:30:00Z",
              "2026-05-01T10:00:00Z",
              "2026-05-01T10:00:00.000001Z",
              "2026-05-01T12:00:00Z");
      TrainingSetExport.Summary s = export(in, dir.resolve("training.parquet"), false);
      assertThat(s.rows()).isEqualTo(4);
      // At the watermark is not past it; a microsecond later is. The 11:00 row is not committed.
      assertThat(s.pastWatermark().rows()).isEqualTo(2);
      assertThat(s.pastWatermark().of()).isEqualTo(4);
      assertThat(s.pastWatermark().views())
          .containsExactly(new TrainingSetExport.ViewWatermark("spend v1", COMMITTED, 2));
      assertThat(s.pastWatermark().describe())
          .contains("2 of 4 entity rows are later than the offline store's watermark")
          .contains(
              "spend v1: watermark 2026-05-01T10:00:00Z (its newest committed event), 2 rows");
      assertThat(dir.resolve("training.parquet")).exists();
    }
  }

  @Test
  void refusingWritesNothingAndNamesTheViewsWatermarksAndRows() throws IOException {
    try (ParquetOfflineSink sink = store()) {
      Path in = entities("2026-05-01T09:30:00Z", "2026-05-01T12:00:00Z");
      Path out = dir.resolve("training.parquet");
      assertThatThrownBy(() -> export(in, out, true))
          .isInstanceOf(TrainingSetExport.PastWatermarkException.class)
          .hasMessageContaining("1 of 2 entity rows is later")
          .hasMessageContaining("spend v1: watermark 2026-05-01T10:00:00Z")
          .hasMessageContaining("nothing was written");
      assertThat(out).doesNotExist();
      try (var files = Files.list(dir)) {
        assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
      }
    }
  }

  @Test
  void rowsUpToTheWatermarkAreExportedEvenWhenRefusing() throws IOException {
    try (ParquetOfflineSink sink = store()) {
      TrainingSetExport.Summary s =
          export(
              entities("2026-05-01T09:30:00Z", "2026-05-01T10:00:00Z"),
              dir.resolve("training.csv"),
              true);
      assertThat(s.pastWatermark().isEmpty()).isTrue();
      assertThat(Files.readString(dir.resolve("training.csv")))
          .contains("c1,2026-05-01T09:30:00Z,1.0");
    }
  }

  @Test
  void aViewWithNothingCommittedHasNoWatermarkAndEveryTimedRowIsPastIt() throws IOException {
    TrainingSetExport.Summary s =
        export(entities("2026-05-01T09:30:00Z", ""), dir.resolve("training.parquet"), false);
    assertThat(s.pastWatermark().rows()).isEqualTo(1);
    assertThat(s.pastWatermark().of()).as("the row without a time reads nothing").isEqualTo(1);
    assertThat(s.pastWatermark().views())
        .containsExactly(new TrainingSetExport.ViewWatermark("spend v1", null, 1));
    assertThat(s.pastWatermark().describe())
        .contains("spend v1: nothing committed yet, 1 row later");
  }
}
