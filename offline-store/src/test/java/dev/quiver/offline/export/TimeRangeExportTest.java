package dev.quiver.offline.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.offline.ParquetOfflineSink;
import dev.quiver.proto.v1.Entity;
import dev.quiver.proto.v1.Feature;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.ViewState;
import dev.quiver.registry.Types;
import dev.quiver.registry.rows.RowBatch;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.rows.ViewShape;
import dev.quiver.registry.semantics.Micros;
import dev.quiver.registry.semantics.OrderKey;
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

class TimeRangeExportTest {
  @TempDir Path dir;

  @Test
  void exportsTheRowsWhoseEventTimeIsInTheHalfOpenRange() throws Exception {
    Field key = Field.newBuilder().setName("card_id").setType(Types.parse("string").get()).build();
    RegistrySnapshot registry =
        RegistrySnapshot.newBuilder()
            .setVersion(3)
            .addEntities(Entity.newBuilder().setName("card").addJoinKeys(key))
            .addFeatureViews(
                FeatureView.newBuilder()
                    .setName("spend")
                    .setVersion(1)
                    .setState(ViewState.VIEW_STATE_ACTIVE)
                    .addEntities("card")
                    .addFeatures(
                        Feature.newBuilder()
                            .setName("amount")
                            .setType(Types.parse("double").get())))
            .build();
    ViewId view = new ViewId("spend", 1);
    ViewShape shape =
        new ViewShape(
            view, List.of(key), List.of("amount"), List.of(Types.parse("double").get()), List.of());
    Instant t0 = Instant.parse("2026-05-01T00:00:00Z");
    List<ViewRow> rows = new ArrayList<>();
    for (int i = 0; i < 48; i++) {
      rows.add(
          new ViewRow(
              shape,
              List.of("c" + (i % 3)),
              new OrderKey(Micros.of(t0.plus(Duration.ofHours(i))), OrderKey.NO_CREATED_TIME, 0, i),
              new Object[] {(double) i},
              new Object[0]));
    }
    try (ParquetOfflineSink sink =
        new ParquetOfflineSink(
            dir.resolve("offline"), ParquetOfflineSink.Limits.defaults(), Clock.systemUTC())) {
      sink.write(new RowBatch(rows, Map.of(view, Map.of(new SourcePartition("t", 0), 48L))));
    }
    Path out = dir.resolve("range.csv");
    TrainingSetExport.Summary s =
        TimeRangeExport.run(
            registry,
            dir.resolve("offline"),
            "spend",
            t0.plus(Duration.ofHours(10)),
            t0.plus(Duration.ofHours(30)),
            out);
    assertThat(s.rows()).isEqualTo(20);
    List<String> lines = Files.readAllLines(out);
    assertThat(lines.get(0)).isEqualTo("card_id,event_ts,spend__amount");
    assertThat(lines.subList(1, lines.size()))
        .contains("c1,2026-05-01T10:00:00Z,10.0")
        .contains("c2,2026-05-02T05:00:00Z,29.0")
        .noneMatch(l -> l.contains("2026-05-02T06:00:00Z"))
        .noneMatch(l -> l.contains("2026-05-01T09:00:00Z"));

    assertThatThrownBy(
            () ->
                TimeRangeExport.run(
                    registry, dir.resolve("offline"), "nope", t0, t0.plusSeconds(1), out))
        .hasMessageContaining("no feature view 'nope' in registry version 3");
    assertThatThrownBy(
            () -> TimeRangeExport.run(registry, dir.resolve("offline"), "spend", t0, t0, out))
        .hasMessageContaining("must be before");
  }
}
