package dev.quiver.offline.export;

import dev.quiver.offline.Micros;
import dev.quiver.offline.ParquetSchemas;
import dev.quiver.offline.pit.ParquetViewSource;
import dev.quiver.offline.pit.PointInTimeEngine;
import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.Entity;
import dev.quiver.proto.v1.Feature;
import dev.quiver.proto.v1.FeatureReference;
import dev.quiver.proto.v1.FeatureService;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.proto.v1.ViewState;
import dev.quiver.registry.Durations;
import dev.quiver.registry.Types;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;

/**
 * A training-set export: an entity table joined point-in-time with the offline rows of the
 * requested features, written as Parquet or CSV. Features are a feature service or {@code
 * view:feature} references ({@code view@N:feature} for a version), resolved against a registry
 * snapshot; columns are named {@code view__feature}.
 */
public final class TrainingSetExport {
  private TrainingSetExport() {}

  /**
   * What to export.
   *
   * @param entities the entity table (.csv or .parquet)
   * @param timestampColumn its timestamp column
   * @param service a feature service, or null
   * @param features feature references, when no service is given
   * @param out the output file (.parquet or .csv)
   * @param maxRowsInMemory rows one sorter holds before spilling
   * @param spillDir where spilled runs go
   */
  public record Request(
      Path entities,
      String timestampColumn,
      String service,
      List<String> features,
      Path out,
      int maxRowsInMemory,
      Path spillDir) {}

  /** What an export wrote: rows, nulls per feature column, and how long it took. */
  public record Summary(long rows, Map<String, Long> nulls, Duration took) {}

  /** A requested feature; {@code aggregation} is null for a row-level feature. */
  private record Requested(
      FeatureView view, String feature, ValueType type, Aggregation aggregation) {}

  /**
   * Runs an export.
   *
   * @throws IllegalArgumentException for a request that cannot be served as given: unknown service
   *     or feature, missing columns, unreadable rows
   */
  public static Summary run(
      RegistrySnapshot registry, Path offlineRoot, Request request, LongConsumer progress)
      throws IOException {
    long started = System.nanoTime();
    List<Requested> requested = resolve(registry, request);
    Map<String, Entity> entities = new HashMap<>();
    registry.getEntitiesList().forEach(e -> entities.put(e.getName(), e));

    Map<String, List<Requested>> byView = new LinkedHashMap<>();
    for (Requested r : requested) {
      byView
          .computeIfAbsent(r.view().getName() + "@" + r.view().getVersion(), k -> new ArrayList<>())
          .add(r);
    }
    Map<String, ScalarType> keyTypes = new HashMap<>();
    List<PointInTimeEngine.ViewInput> inputs = new ArrayList<>();
    Map<PointInTimeEngine.ViewInput, List<String>> names = new HashMap<>();
    List<ExportWriter.Column> featureColumns = new ArrayList<>();
    for (List<Requested> group : byView.values()) {
      FeatureView v = group.get(0).view();
      List<String> keys = new ArrayList<>();
      for (String e : v.getEntitiesList()) {
        for (Field k : entities.get(e).getJoinKeysList()) {
          keys.add(k.getName());
          keyTypes.put(k.getName(), k.getType().getScalar());
        }
      }
      // The engine returns a view's row-level features first, then its aggregations.
      List<Requested> ordered = new ArrayList<>();
      group.stream().filter(r -> r.aggregation() == null).forEach(ordered::add);
      group.stream().filter(r -> r.aggregation() != null).forEach(ordered::add);
      List<String> features =
          ordered.stream().filter(r -> r.aggregation() == null).map(Requested::feature).toList();
      List<Aggregation> aggregations =
          ordered.stream().map(Requested::aggregation).filter(a -> a != null).toList();
      List<String> stored = new ArrayList<>(features);
      aggregations.forEach(a -> stored.add(ParquetSchemas.AGG_PREFIX + a.getName()));
      PointInTimeEngine.ViewInput input =
          new PointInTimeEngine.ViewInput(
              v.getName() + " v" + v.getVersion(),
              keys,
              Durations.fromProto(v.getTtl()),
              features,
              aggregations,
              new ParquetViewSource(
                  offlineRoot.resolve(v.getName()).resolve("v" + v.getVersion()), keys, stored));
      inputs.add(input);
      List<String> columnNames = new ArrayList<>();
      for (Requested r : ordered) {
        String column = v.getName() + "__" + r.feature();
        columnNames.add(column);
        featureColumns.add(new ExportWriter.Column(column, r.type()));
      }
      names.put(input, columnNames);
    }

    EntityTables.Opened table =
        EntityTables.open(request.entities(), request.timestampColumn(), keyTypes);
    List<String> inputColumns = table.table().columns();
    if (!inputColumns.contains(request.timestampColumn())) {
      throw new IllegalArgumentException(
          request.entities()
              + " has no timestamp column '"
              + request.timestampColumn()
              + "' (set it with --timestamp-column); columns: "
              + inputColumns);
    }
    List<ExportWriter.Column> columns = new ArrayList<>();
    for (String c : inputColumns) {
      columns.add(
          new ExportWriter.Column(
              c, inputType(c, request.timestampColumn(), keyTypes, table.parquetSchema())));
    }
    columns.addAll(featureColumns);
    int tsIndex = inputColumns.indexOf(request.timestampColumn());
    int first = inputColumns.size();
    long[] nulls = new long[featureColumns.size()];
    long rows;
    try (ExportWriter writer = ExportWriter.open(request.out(), columns)) {
      rows =
          new PointInTimeEngine(
                  new PointInTimeEngine.Options(
                      request.maxRowsInMemory(), request.spillDir(), progress))
              .join(
                  table.table(),
                  request.timestampColumn(),
                  inputs,
                  names,
                  new PointInTimeEngine.Output() {
                    @Override
                    public void columns(List<String> header) {}

                    @Override
                    public void row(Object[] values) throws IOException {
                      if (values[tsIndex] instanceof Long micros) {
                        values[tsIndex] = Micros.toInstant(micros);
                      }
                      for (int i = 0; i < nulls.length; i++) {
                        if (values[first + i] == null) {
                          nulls[i]++;
                        }
                      }
                      writer.row(values);
                    }
                  });
      writer.commit();
    }
    Map<String, Long> nullCounts = new LinkedHashMap<>();
    for (int i = 0; i < nulls.length; i++) {
      nullCounts.put(featureColumns.get(i).name(), nulls[i]);
    }
    return new Summary(rows, nullCounts, Duration.ofNanos(System.nanoTime() - started));
  }

  private static ValueType inputType(
      String column, String ts, Map<String, ScalarType> keyTypes, MessageType parquet) {
    if (column.equals(ts)) {
      return Types.of(ScalarType.SCALAR_TYPE_TIMESTAMP);
    }
    if (keyTypes.containsKey(column)) {
      ScalarType k = keyTypes.get(column);
      return Types.of(k == ScalarType.SCALAR_TYPE_INT32 ? ScalarType.SCALAR_TYPE_INT64 : k);
    }
    if (parquet == null) {
      return Types.of(ScalarType.SCALAR_TYPE_STRING);
    }
    Type t = parquet.getType(column);
    if (!t.isPrimitive()) {
      throw new IllegalArgumentException(
          "entity table column '"
              + column
              + "' is nested; only flat columns pass through an export");
    }
    PrimitiveType p = t.asPrimitiveType();
    LogicalTypeAnnotation logical = p.getLogicalTypeAnnotation();
    return Types.of(
        switch (p.getPrimitiveTypeName()) {
          case BOOLEAN -> ScalarType.SCALAR_TYPE_BOOL;
          case INT32 -> ScalarType.SCALAR_TYPE_INT32;
          case INT64 ->
              logical instanceof LogicalTypeAnnotation.TimestampLogicalTypeAnnotation
                  ? ScalarType.SCALAR_TYPE_TIMESTAMP
                  : ScalarType.SCALAR_TYPE_INT64;
          case FLOAT -> ScalarType.SCALAR_TYPE_FLOAT;
          case DOUBLE -> ScalarType.SCALAR_TYPE_DOUBLE;
          case BINARY ->
              logical instanceof LogicalTypeAnnotation.StringLogicalTypeAnnotation
                  ? ScalarType.SCALAR_TYPE_STRING
                  : ScalarType.SCALAR_TYPE_BYTES;
          default ->
              throw new IllegalArgumentException(
                  "entity table column '" + column + "' has unsupported type " + p);
        });
  }

  private static List<Requested> resolve(RegistrySnapshot registry, Request request) {
    Map<String, FeatureView> byRef = new HashMap<>();
    for (FeatureView v : registry.getFeatureViewsList()) {
      byRef.put(v.getName() + "@" + v.getVersion(), v);
      if (v.getState() != ViewState.VIEW_STATE_SUPERSEDED) {
        byRef.put(v.getName(), v);
      }
    }
    List<Requested> out = new ArrayList<>();
    if (request.service() != null) {
      FeatureService service =
          registry.getFeatureServicesList().stream()
              .filter(s -> s.getName().equals(request.service()))
              .findFirst()
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(
                          "feature service '"
                              + request.service()
                              + "' does not exist in registry version "
                              + registry.getVersion()));
      for (FeatureReference ref : service.getFeaturesList()) {
        out.add(
            requested(
                byRef.get(ref.getView() + "@" + ref.getViewVersion()),
                ref.getFeature(),
                ref.getView() + ":" + ref.getFeature()));
      }
      return out;
    }
    if (request.features() == null || request.features().isEmpty()) {
      throw new IllegalArgumentException("give a feature service or feature references");
    }
    for (String ref : request.features()) {
      int colon = ref.indexOf(':');
      FeatureView v = colon <= 0 ? null : byRef.get(ref.substring(0, colon));
      if (v == null) {
        throw new IllegalArgumentException(
            "feature '"
                + ref
                + "': no feature view '"
                + (colon <= 0 ? ref : ref.substring(0, colon))
                + "' in registry version "
                + registry.getVersion()
                + "; expected view:feature");
      }
      out.add(requested(v, ref.substring(colon + 1), ref));
    }
    return out;
  }

  private static Requested requested(FeatureView v, String feature, String ref) {
    for (Feature f : v.getFeaturesList()) {
      if (f.getName().equals(feature)) {
        return new Requested(v, feature, f.getType(), null);
      }
    }
    for (Aggregation a : v.getAggregationsList()) {
      if (a.getName().equals(feature)) {
        return new Requested(v, feature, a.getType(), a);
      }
    }
    throw new IllegalArgumentException(
        "feature '" + ref + "' does not exist in view " + v.getName() + " v" + v.getVersion());
  }
}
