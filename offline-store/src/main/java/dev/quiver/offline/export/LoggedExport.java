package dev.quiver.offline.export;

import dev.quiver.offline.pit.PointInTimeEngine;
import dev.quiver.proto.v1.FeatureService;
import dev.quiver.proto.v1.FeatureStatus;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.registry.Types;
import dev.quiver.registry.monitor.FeatureLog;
import dev.quiver.registry.semantics.Micros;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code quiver export --logged S --start --end}: the vectors served for feature service S, as the
 * feature log recorded them, as a training set: the join keys, {@code request_time}, {@code
 * registry_version} and every feature column ({@code view__feature}) with the value served, null
 * where none was (NULL_VALUE, NOT_FOUND, OUTSIDE_MAX_AGE).
 */
public final class LoggedExport {
  private LoggedExport() {}

  public static final String REQUEST_TIME = "request_time";
  public static final String REGISTRY_VERSION = "registry_version";

  /** The service's log layout in {@code registry}, or why there is none. */
  public static FeatureLog.Layout layout(RegistrySnapshot registry, String service) {
    FeatureService s =
        dev.quiver.registry.FeatureServices.find(registry, service)
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        "no feature service '"
                            + service
                            + "' in registry version "
                            + registry.getVersion()));
    return FeatureLog.layout(registry, s)
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "feature service '"
                        + service
                        + "' logs nothing; give it logging: {sample_rate: 0.01} and apply"));
  }

  public static TrainingSetExport.Summary run(
      RegistrySnapshot registry, Path logRoot, String service, Instant start, Instant end, Path out)
      throws IOException {
    if (!start.isBefore(end)) {
      throw new IllegalArgumentException("--start " + start + " must be before --end " + end);
    }
    long began = System.nanoTime();
    FeatureLog.Layout layout = layout(registry, service);
    List<ExportWriter.Column> columns = new ArrayList<>();
    for (Field k : layout.keys()) {
      columns.add(ExportWriter.Column.ofKey(k));
    }
    columns.add(new ExportWriter.Column(REQUEST_TIME, Types.of(ScalarType.SCALAR_TYPE_TIMESTAMP)));
    columns.add(new ExportWriter.Column(REGISTRY_VERSION, Types.of(ScalarType.SCALAR_TYPE_INT64)));
    for (FeatureLog.Column c : layout.columns()) {
      columns.add(new ExportWriter.Column(c.name(), c.type()));
    }
    int n = layout.columns().size();
    long[] nulls = new long[n];
    long rows = 0;
    try (ExportWriter writer = ExportWriter.open(out, columns);
        PointInTimeEngine.CloseableIterator<FeatureLogs.Vector> it =
            FeatureLogs.read(logRoot, layout, Micros.of(start), Micros.of(end))) {
      while (it.hasNext()) {
        FeatureLogs.Vector v = it.next();
        Object[] row = new Object[columns.size()];
        int i = 0;
        for (Object k : v.key()) {
          row[i++] = k;
        }
        row[i++] = Micros.toInstant(v.requestMicros());
        row[i++] = v.registryVersion();
        for (int c = 0; c < n; c++) {
          Object value =
              v.statuses()[c] == FeatureStatus.PRESENT
                  ? dev.quiver.proto.JavaValues.toJava(v.values()[c])
                  : null;
          if (value == null) {
            nulls[c]++;
          }
          row[i++] = value;
        }
        writer.row(row);
        rows++;
      }
      writer.commit();
    }
    Map<String, Long> nullCounts = new LinkedHashMap<>();
    for (int c = 0; c < n; c++) {
      nullCounts.put(layout.columns().get(c).name(), nulls[c]);
    }
    return new TrainingSetExport.Summary(
        rows, nullCounts, Duration.ofNanos(System.nanoTime() - began), null);
  }
}
