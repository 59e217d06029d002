package dev.quiver.offline.export;

import dev.quiver.offline.pit.ParquetViewSource;
import dev.quiver.offline.pit.PointInTimeEngine;
import dev.quiver.proto.v1.Feature;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.ViewState;
import dev.quiver.registry.Types;
import dev.quiver.registry.semantics.Micros;
import dev.quiver.registry.semantics.OfflineLayout;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The stored rows of a view between two times, without an entity table: every row with {@code start
 * <= event_ts < end}, with its join keys, event time and features. Rows stream from the files in
 * file order (event date, then commit), so memory stays bounded whatever the range.
 */
public final class TimeRangeExport {
  private TimeRangeExport() {}

  /**
   * Writes the rows of {@code view} (the active version, or {@code view@N}) in [start, end) to
   * {@code out} (.parquet or .csv).
   */
  public static TrainingSetExport.Summary run(
      RegistrySnapshot registry,
      Path offlineRoot,
      String view,
      Instant start,
      Instant end,
      Path out)
      throws IOException {
    if (!start.isBefore(end)) {
      throw new IllegalArgumentException("--start " + start + " must be before --end " + end);
    }
    long began = System.nanoTime();
    FeatureView v = find(registry, view);
    List<ExportWriter.Column> columns = new ArrayList<>();
    List<String> keys = new ArrayList<>();
    for (Field k : dev.quiver.registry.semantics.JoinKeys.of(registry, v)) {
      keys.add(k.getName());
      columns.add(ExportWriter.Column.ofKey(k));
    }
    columns.add(new ExportWriter.Column("event_ts", Types.of(ScalarType.SCALAR_TYPE_TIMESTAMP)));
    List<String> features = new ArrayList<>();
    for (Feature f : v.getFeaturesList()) {
      features.add(f.getName());
      columns.add(
          new ExportWriter.Column(
              dev.quiver.registry.semantics.FeatureRef.columnName(v.getName(), f.getName()),
              f.getType()));
    }
    long from = Micros.of(start);
    long to = Micros.of(end);
    long rows = 0;
    long[] nulls = new long[features.size()];
    try (ExportWriter writer = ExportWriter.open(out, columns);
        PointInTimeEngine.CloseableIterator<PointInTimeEngine.ViewRows> it =
            new ParquetViewSource(
                    OfflineLayout.viewDir(offlineRoot, v.getName(), v.getVersion()), keys, features)
                .read()) {
      while (it.hasNext()) {
        PointInTimeEngine.ViewRows r = it.next();
        if (r.eventMicros() < from || r.eventMicros() >= to) {
          continue;
        }
        Object[] row = new Object[columns.size()];
        int i = 0;
        for (Object k : r.key()) {
          row[i++] = k;
        }
        row[i++] = Micros.toInstant(r.eventMicros());
        for (int f = 0; f < features.size(); f++) {
          row[i++] = r.values()[f];
          if (r.values()[f] == null) {
            nulls[f]++;
          }
        }
        writer.row(row);
        rows++;
      }
      writer.commit();
    }
    Map<String, Long> nullCounts = new java.util.LinkedHashMap<>();
    for (int f = 0; f < features.size(); f++) {
      nullCounts.put(
          dev.quiver.registry.semantics.FeatureRef.columnName(v.getName(), features.get(f)),
          nulls[f]);
    }
    return new TrainingSetExport.Summary(
        rows, nullCounts, Duration.ofNanos(System.nanoTime() - began), null);
  }

  private static FeatureView find(RegistrySnapshot registry, String view) {
    for (FeatureView v : registry.getFeatureViewsList()) {
      boolean pinned = view.equals(v.getName() + "@" + v.getVersion());
      boolean active = view.equals(v.getName()) && v.getState() != ViewState.VIEW_STATE_SUPERSEDED;
      if (pinned || active) {
        return v;
      }
    }
    throw new IllegalArgumentException(
        "no feature view '" + view + "' in registry version " + registry.getVersion());
  }
}
