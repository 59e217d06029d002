package dev.quiver.offline.export;

import dev.quiver.offline.ParquetFiles;
import dev.quiver.offline.pit.PointInTimeEngine;
import dev.quiver.proto.v1.FeatureStatus;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.Value;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.Types;
import dev.quiver.registry.monitor.FeatureLog;
import dev.quiver.registry.rows.Values;
import dev.quiver.registry.semantics.Micros;
import dev.quiver.registry.semantics.Watermark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.parquet.hadoop.ParquetReader;

/**
 * {@code quiver verify}: replays the logged (keys, request time) pairs of a feature service through
 * the point-in-time engine, as a training-set export of the service would, and compares value by
 * value with what was served.
 *
 * <p>Per feature it counts identical values, different ones, values served where the training set
 * has a null (served-only), nulls served where it has a value (offline-only) and nulls on both
 * sides; a value served as NULL_VALUE, NOT_FOUND or OUTSIDE_MAX_AGE counts as a null, as the
 * training set holds a null there. A difference at a request time past the online store's watermark
 * of the feature's view ({@link Watermark}: the newest event it had applied, logged with the
 * vector) is <em>explained by lag</em> when the training set as of that watermark agrees with what
 * was served: the store was behind, not wrong. The rest are mismatches; their ratio to the vectors
 * compared, the symmetric mean absolute percentage error of numbers served and offline ({@code
 * 2|a-b| / (|a|+|b|)}, 0 when both are 0) and the worst examples are reported.
 */
public final class ConsistencyCheck {
  private ConsistencyCheck() {}

  /** The counts of one feature. */
  public static final class FeatureReport {
    public final String feature;
    public long identical;
    public long different;
    public long servedOnly;
    public long offlineOnly;
    public long bothNull;
    public long explainedByLag;
    double smapeSum;
    long smapeCount;
    public final List<Example> worst = new ArrayList<>();

    FeatureReport(String feature) {
      this.feature = feature;
    }

    /** Vectors compared. */
    public long compared() {
      return identical + different + servedOnly + offlineOnly + bothNull + explainedByLag;
    }

    /** Real mismatches: differences lag does not explain. */
    public long mismatches() {
      return different + servedOnly + offlineOnly;
    }

    public double mismatchRatio() {
      return compared() == 0 ? 0 : (double) mismatches() / compared();
    }

    /** sMAPE over the numbers both sides hold, or NaN when there are none (or not numbers). */
    public double smape() {
      return smapeCount == 0 ? Double.NaN : smapeSum / smapeCount;
    }
  }

  /**
   * A mismatch: the entity, the request time, what was served (with its status) and what the
   * training set holds; {@code gap} orders numbers by how far apart they are.
   */
  public record Example(
      List<Object> key, Instant requestTime, String served, String offline, double gap) {}

  /** The outcome: per feature, in service order. */
  public record Report(String service, long vectors, List<FeatureReport> features) {
    public double worstRatio() {
      return features.stream().mapToDouble(FeatureReport::mismatchRatio).max().orElse(0);
    }
  }

  /**
   * Compares the vectors of {@code service} logged in [start, end) with a point-in-time export.
   *
   * @param maxExamples the worst mismatches kept per feature
   */
  public static Report run(
      RegistrySnapshot registry,
      Path offlineRoot,
      Path logRoot,
      String service,
      Instant start,
      Instant end,
      Path workDir,
      int maxExamples)
      throws IOException {
    if (!start.isBefore(end)) {
      throw new IllegalArgumentException("--start " + start + " must be before --end " + end);
    }
    FeatureLog.Layout layout = LoggedExport.layout(registry, service);
    List<FeatureLogs.Vector> vectors = new ArrayList<>();
    try (PointInTimeEngine.CloseableIterator<FeatureLogs.Vector> it =
        FeatureLogs.read(logRoot, layout, Micros.of(start), Micros.of(end))) {
      while (it.hasNext()) {
        vectors.add(it.next());
      }
    }
    List<FeatureLog.Column> columns = layout.columns();
    List<FeatureReport> reports = new ArrayList<>();
    columns.forEach(c -> reports.add(new FeatureReport(c.name())));
    if (vectors.isEmpty()) {
      return new Report(service, 0, reports);
    }
    Files.createDirectories(workDir);
    // First pass: the training set at each request time.
    long[] times = new long[vectors.size()];
    for (int i = 0; i < times.length; i++) {
      times[i] = vectors.get(i).requestMicros();
    }
    List<Object[]> offline =
        export(registry, offlineRoot, layout, vectors, times, workDir.resolve("at-request"));
    // Mismatches, per (vector, view) for the second pass.
    Map<String, Integer> viewIndex = new HashMap<>();
    for (int v = 0; v < layout.viewIds().size(); v++) {
      viewIndex.put(layout.viewIds().get(v).name(), v);
    }
    List<int[]> suspects = new ArrayList<>();
    Map<Long, Integer> suspectIndex = new HashMap<>();
    int keys = layout.keys().size();
    byte[][] outcome = new byte[vectors.size()][columns.size()];
    Value[][] offlineValues = new Value[vectors.size()][columns.size()];
    for (int i = 0; i < vectors.size(); i++) {
      FeatureLogs.Vector vec = vectors.get(i);
      for (int c = 0; c < columns.size(); c++) {
        Value off = offlineValue(offline.get(i)[keys + 1 + c], columns.get(c).type());
        offlineValues[i][c] = off;
        outcome[i][c] = classify(servedValue(vec, c), off);
        if (outcome[i][c] >= DIFFERENT) {
          int view = viewIndex.get(columns.get(c).view());
          long applied = vec.appliedMicros()[view];
          if (applied != Watermark.NONE && Watermark.isPast(vec.requestMicros(), applied)) {
            long id = suspectId(i, view);
            if (!suspectIndex.containsKey(id)) {
              suspectIndex.put(id, suspects.size());
              suspects.add(new int[] {i, view});
            }
          }
        }
      }
    }
    // Second pass: the training set as of what the online store had applied.
    List<Object[]> lagged = List.of();
    if (!suspects.isEmpty()) {
      List<FeatureLogs.Vector> again = new ArrayList<>();
      long[] at = new long[suspects.size()];
      for (int s = 0; s < suspects.size(); s++) {
        FeatureLogs.Vector vec = vectors.get(suspects.get(s)[0]);
        again.add(vec);
        at[s] = vec.appliedMicros()[suspects.get(s)[1]];
      }
      lagged = export(registry, offlineRoot, layout, again, at, workDir.resolve("at-applied"));
    }
    for (int i = 0; i < vectors.size(); i++) {
      FeatureLogs.Vector vec = vectors.get(i);
      for (int c = 0; c < columns.size(); c++) {
        FeatureReport r = reports.get(c);
        Value served = servedValue(vec, c);
        ValueType type = columns.get(c).type();
        Value off = offlineValues[i][c];
        byte o = outcome[i][c];
        if (o >= DIFFERENT) {
          int view = viewIndex.get(columns.get(c).view());
          Integer s = suspectIndex.get(suspectId(i, view));
          if (s != null) {
            Value asApplied = offlineValue(lagged.get(s)[keys + 1 + c], type);
            if (classify(served, asApplied) < DIFFERENT) {
              r.explainedByLag++;
              continue;
            }
          }
        }
        switch (o) {
          case IDENTICAL -> r.identical++;
          case BOTH_NULL -> r.bothNull++;
          case DIFFERENT -> r.different++;
          case SERVED_ONLY -> r.servedOnly++;
          default -> r.offlineOnly++;
        }
        double gap = Double.NaN;
        if (o == IDENTICAL || o == DIFFERENT) {
          Double a = number(served);
          Double b = number(off);
          if (a != null && b != null) {
            double sum = Math.abs(a) + Math.abs(b);
            double ape = sum == 0 ? 0 : 2 * Math.abs(a - b) / sum;
            if (!Double.isNaN(ape)) {
              r.smapeSum += ape;
              r.smapeCount++;
            }
            gap = Math.abs(a - b);
          }
        }
        if (o >= DIFFERENT) {
          r.worst.add(
              new Example(
                  vec.key(),
                  Micros.toInstant(vec.requestMicros()),
                  describe(served, vec.statuses()[c]),
                  describe(off, null),
                  Double.isNaN(gap) ? Double.POSITIVE_INFINITY : gap));
          if (r.worst.size() > maxExamples * 4) {
            trim(r.worst, maxExamples);
          }
        }
      }
    }
    reports.forEach(r -> trim(r.worst, maxExamples));
    return new Report(service, vectors.size(), reports);
  }

  private static long suspectId(int vector, int view) {
    return ((long) vector << 20) | view;
  }

  static final byte IDENTICAL = 0;
  static final byte BOTH_NULL = 1;
  static final byte DIFFERENT = 2;
  static final byte SERVED_ONLY = 3;
  static final byte OFFLINE_ONLY = 4;

  private static byte classify(Value served, Value offline) {
    if (served == null && offline == null) {
      return BOTH_NULL;
    }
    if (served == null) {
      return OFFLINE_ONLY;
    }
    if (offline == null) {
      return SERVED_ONLY;
    }
    // Protobuf compares doubles and floats by their bits: NaN equals NaN, 0.0 differs from -0.0.
    return served.equals(offline) ? IDENTICAL : DIFFERENT;
  }

  private static Value servedValue(FeatureLogs.Vector v, int c) {
    return v.statuses()[c] == FeatureStatus.PRESENT ? v.values()[c] : null;
  }

  private static Value offlineValue(Object cell, ValueType type) {
    return cell == null ? null : Values.toProto(cell, type);
  }

  private static Double number(Value v) {
    return switch (v.getKindCase()) {
      case INT32_VALUE -> (double) v.getInt32Value();
      case INT64_VALUE -> (double) v.getInt64Value();
      case FLOAT_VALUE -> (double) v.getFloatValue();
      case DOUBLE_VALUE -> v.getDoubleValue();
      default -> null;
    };
  }

  private static String describe(Value v, FeatureStatus status) {
    if (v == null) {
      return status == null || status == FeatureStatus.PRESENT ? "null" : status.name();
    }
    Object java = dev.quiver.proto.JavaValues.toJava(v);
    String text = String.valueOf(java);
    return text.length() > 80 ? text.substring(0, 77) + "..." : text;
  }

  private static void trim(List<Example> worst, int max) {
    worst.sort(Comparator.comparingDouble(Example::gap).reversed());
    while (worst.size() > max) {
      worst.remove(worst.size() - 1);
    }
  }

  /**
   * The service's training set for the keys of {@code vectors} at {@code times}, through the one
   * export engine; rows in input order, as arrays of keys, time, then feature columns.
   */
  private static List<Object[]> export(
      RegistrySnapshot registry,
      Path offlineRoot,
      FeatureLog.Layout layout,
      List<FeatureLogs.Vector> vectors,
      long[] times,
      Path dir)
      throws IOException {
    Files.createDirectories(dir);
    Path entities = dir.resolve("entities.parquet");
    Path out = dir.resolve("training.parquet");
    List<ExportWriter.Column> columns = new ArrayList<>();
    for (Field k : layout.keys()) {
      columns.add(ExportWriter.Column.ofKey(k));
    }
    columns.add(
        new ExportWriter.Column(
            LoggedExport.REQUEST_TIME, Types.of(ScalarType.SCALAR_TYPE_TIMESTAMP)));
    try (ExportWriter w = ExportWriter.open(entities, columns)) {
      for (int i = 0; i < vectors.size(); i++) {
        Object[] row = new Object[columns.size()];
        List<Object> key = vectors.get(i).key();
        for (int k = 0; k < key.size(); k++) {
          row[k] = key.get(k);
        }
        row[key.size()] = Micros.toInstant(times[i]);
        w.row(row);
      }
      w.commit();
    }
    Path spill = dir.resolve("spill");
    Files.createDirectories(spill);
    TrainingSetExport.run(
        registry,
        offlineRoot,
        new TrainingSetExport.Request(
            entities, LoggedExport.REQUEST_TIME, layout.service(), null, out, 1_000_000, spill),
        done -> {});
    List<Object[]> rows = new ArrayList<>(vectors.size());
    try (ParquetReader<Object[]> r = ParquetFiles.reader(out, null)) {
      for (Object[] row = r.read(); row != null; row = r.read()) {
        rows.add(row);
      }
    }
    if (rows.size() != vectors.size()) {
      throw new IllegalStateException(
          "the export answered " + rows.size() + " rows for " + vectors.size() + " entity rows");
    }
    return rows;
  }
}
