package dev.quiver.offline.export;

import dev.quiver.offline.ParquetSchemas;
import dev.quiver.offline.pit.ParquetViewSource;
import dev.quiver.offline.pit.PointInTimeEngine;
import dev.quiver.proto.v1.Aggregation;
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
import dev.quiver.registry.monitor.Baseline;
import dev.quiver.registry.monitor.FeatureProfile;
import dev.quiver.registry.semantics.FeatureRef;
import dev.quiver.registry.semantics.JoinKeys;
import dev.quiver.registry.semantics.Micros;
import dev.quiver.registry.semantics.OfflineLayout;
import dev.quiver.registry.semantics.Watermark;
import dev.quiver.registry.util.Messages;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

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
   * @param maxRowsInMemory rows one sorter holds before spilling; at least 1
   * @param spillDir where spilled runs go
   * @param refusePastWatermark refuse the export, writing nothing, when an entity row is later than
   *     the offline watermark of a view it reads ({@link PastWatermarkException}); otherwise such
   *     rows are counted in {@link Summary#pastWatermark()}
   */
  public record Request(
      Path entities,
      String timestampColumn,
      String service,
      List<String> features,
      Path out,
      int maxRowsInMemory,
      Path spillDir,
      boolean refusePastWatermark) {
    public Request {
      java.util.Objects.requireNonNull(entities, "entities");
      java.util.Objects.requireNonNull(timestampColumn, "timestampColumn");
      java.util.Objects.requireNonNull(out, "out");
      java.util.Objects.requireNonNull(spillDir, "spillDir");
      if (maxRowsInMemory < 1) {
        throw new IllegalArgumentException(
            "rows in memory must be at least 1, not " + maxRowsInMemory);
      }
    }

    /** A request that reports entity rows past the offline watermark rather than refusing. */
    public Request(
        Path entities,
        String timestampColumn,
        String service,
        List<String> features,
        Path out,
        int maxRowsInMemory,
        Path spillDir) {
      this(entities, timestampColumn, service, features, out, maxRowsInMemory, spillDir, false);
    }
  }

  /**
   * The offline watermark of one view version an export reads, and how many entity rows are later
   * than it.
   *
   * @param view the view version, such as {@code card_activity v1}
   * @param watermark the greatest event time among its committed rows, or null when it has none
   * @param rows entity rows whose timestamp is past the watermark
   */
  public record ViewWatermark(String view, Instant watermark, long rows) {}

  /**
   * Entity rows later than the offline store's watermark ({@link Watermark}) of a view they read:
   * the offline store holds no row of that view after its watermark, so features at such a row may
   * lack events that are still being ingested or committed.
   *
   * @param rows entity rows past the watermark of at least one view
   * @param of entity rows with a timestamp
   * @param views the views that have rows past their watermark, in request order
   */
  public record PastWatermark(long rows, long of, List<ViewWatermark> views) {
    /** No row past any watermark. */
    public static final PastWatermark NONE = new PastWatermark(0, 0, List.of());

    public PastWatermark {
      views = List.copyOf(views);
    }

    public boolean isEmpty() {
      return rows == 0;
    }

    /**
     * What to tell the user: the number of rows, then one line per view with its watermark and its
     * rows past it.
     */
    public String describe() {
      boolean one = rows == 1;
      StringBuilder b =
          new StringBuilder()
              .append(rows)
              .append(" of ")
              .append(of)
              .append(of == 1 ? " entity row" : " entity rows")
              .append(one ? " is" : " are")
              .append(" later than the offline store's watermark of a view ")
              .append(one ? "it reads; its" : "they read; their")
              .append(" features may lack events not yet committed offline:");
      for (ViewWatermark v : views) {
        b.append("\n  ")
            .append(v.view())
            .append(": ")
            .append(
                v.watermark() == null
                    ? "nothing committed yet"
                    : "watermark " + v.watermark() + " (its newest committed event)")
            .append(", ")
            .append(v.rows())
            .append(v.rows() == 1 ? " row" : " rows")
            .append(" later");
      }
      return b.toString();
    }
  }

  /**
   * An export refused because entity rows are later than the offline watermark of a view they read
   * ({@link Request#refusePastWatermark()}); nothing was written.
   */
  public static final class PastWatermarkException extends RuntimeException {
    private final transient PastWatermark past;

    PastWatermarkException(PastWatermark past) {
      super(
          past.describe()
              + "\nnothing was written; export again once ingestion has committed these times"
              + " offline, or export only rows up to the watermarks");
      this.past = past;
    }

    public PastWatermark past() {
      return past;
    }
  }

  /**
   * What an export wrote: rows, nulls per feature column, and how long it took.
   *
   * @param baseline for a feature service's training set, the profile of every feature column
   *     written ({@link Baseline}); null for a list of features
   * @param pastWatermark the entity rows later than the offline watermark of a view they read
   */
  public record Summary(
      long rows,
      Map<String, Long> nulls,
      Duration took,
      Baseline baseline,
      PastWatermark pastWatermark) {
    public Summary {
      java.util.Objects.requireNonNull(pastWatermark, "pastWatermark");
    }

    /** The summary of an export that joins no entity rows, so none is past a watermark. */
    public Summary(long rows, Map<String, Long> nulls, Duration took, Baseline baseline) {
      this(rows, nulls, took, baseline, PastWatermark.NONE);
    }
  }

  /** A feature service, feature view or feature that the registry does not have. */
  public static final class UnknownFeatureException extends IllegalArgumentException {
    UnknownFeatureException(String message) {
      super(message);
    }
  }

  /**
   * The join key columns (name and type) an entity table needs for a selection of features.
   *
   * @throws UnknownFeatureException for a service, view or feature the registry does not have
   * @throws IllegalArgumentException for a selection that is empty or malformed
   */
  public static Map<String, ScalarType> joinKeys(
      RegistrySnapshot registry, String service, List<String> features) {
    Map<String, ScalarType> keys = new LinkedHashMap<>();
    for (Requested r : resolve(registry, service, features)) {
      for (Field k : JoinKeys.of(registry, r.view())) {
        keys.put(k.getName(), k.getType().getScalar());
      }
    }
    return keys;
  }

  /**
   * The feature columns ({@code view__feature}) an export of a selection of features adds, in
   * order.
   *
   * @throws UnknownFeatureException for a service, view or feature the registry does not have
   * @throws IllegalArgumentException for a selection that is empty or malformed
   */
  public static List<String> featureColumns(
      RegistrySnapshot registry, String service, List<String> features) {
    List<String> out = new ArrayList<>();
    for (Requested r : resolve(registry, service, features)) {
      out.add(FeatureRef.columnName(r.view().getName(), r.feature()));
    }
    return out;
  }

  /**
   * Checks that an export's output columns are unique: the entity table's header names no column
   * twice, names no column that a requested feature's output column has (also in another case:
   * DuckDB and Spark read column names without regard to case, so {@code
   * Card_Activity__Last_Amount} and {@code card_activity__last_amount} would be one column to
   * them), and no feature is requested twice. Quiver does not rename columns: the user renames or
   * drops theirs. Called before anything is written, by every export path (the command and Arrow
   * Flight).
   *
   * @param file the entity table, for the message; null when it is not a file
   * @throws IllegalArgumentException naming the columns at fault
   */
  public static void checkColumns(Path file, List<String> input, List<String> featureColumns) {
    String where = file == null ? "the entity table" : file.toString();
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; i < input.size(); i++) {
      Integer before = seen.putIfAbsent(input.get(i), i);
      if (before != null) {
        throw new IllegalArgumentException(
            where
                + ": column "
                + Messages.quote(input.get(i))
                + " appears twice in the header (columns "
                + (before + 1)
                + " and "
                + (i + 1)
                + "); column names must be unique");
      }
    }
    Map<String, Integer> folded = new HashMap<>();
    for (int i = 0; i < input.size(); i++) {
      folded.putIfAbsent(input.get(i).toLowerCase(java.util.Locale.ROOT), i);
    }
    Map<String, Integer> features = new HashMap<>();
    for (int i = 0; i < featureColumns.size(); i++) {
      String c = featureColumns.get(i);
      Integer sameButCase = folded.get(c.toLowerCase(java.util.Locale.ROOT));
      if (!seen.containsKey(c) && sameButCase != null) {
        throw new IllegalArgumentException(
            where
                + ": column "
                + Messages.quote(input.get(sameButCase))
                + " (column "
                + (sameButCase + 1)
                + ") differs only in case from "
                + Messages.quote(c)
                + ", the output column of feature "
                + FeatureRef.referenceOfColumn(c)
                + ", and DuckDB and Spark read column names without regard to case; rename or"
                + " drop it in the entity table");
      }
      if (seen.containsKey(c)) {
        throw new IllegalArgumentException(
            where
                + ": column "
                + Messages.quote(c)
                + " (column "
                + (seen.get(c) + 1)
                + ") has the name of the output column of feature "
                + FeatureRef.referenceOfColumn(c)
                + "; rename or drop it in the entity table");
      }
      if (features.putIfAbsent(c, i) != null) {
        throw new IllegalArgumentException(
            "feature "
                + FeatureRef.referenceOfColumn(c)
                + " is requested twice; its output column "
                + Messages.quote(c)
                + " would appear twice");
      }
    }
  }

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
    if (ExportFiles.sameFile(request.entities(), request.out())) {
      throw new IllegalArgumentException(
          request.out()
              + ": the output is the entity table itself ("
              + request.entities()
              + "); write the training set to another file");
    }
    ExportWriter.checkOutput(request.out());
    List<Requested> requested = resolve(registry, request.service(), request.features());

    Map<String, List<Requested>> byView = new LinkedHashMap<>();
    for (Requested r : requested) {
      byView
          .computeIfAbsent(r.view().getName() + "@" + r.view().getVersion(), k -> new ArrayList<>())
          .add(r);
    }
    Map<String, ScalarType> keyTypes = new HashMap<>();
    List<PointInTimeEngine.ViewInput> inputs = new ArrayList<>();
    List<String> viewNames = new ArrayList<>();
    List<Long> watermarks = new ArrayList<>();
    Map<PointInTimeEngine.ViewInput, List<String>> names = new HashMap<>();
    List<ExportWriter.Column> featureColumns = new ArrayList<>();
    for (List<Requested> group : byView.values()) {
      FeatureView v = group.get(0).view();
      List<String> keys = new ArrayList<>();
      for (Field k : JoinKeys.of(registry, v)) {
        keys.add(k.getName());
        keyTypes.put(k.getName(), k.getType().getScalar());
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
      ParquetViewSource source =
          new ParquetViewSource(
              OfflineLayout.viewDir(offlineRoot, v.getName(), v.getVersion()), keys, stored);
      PointInTimeEngine.ViewInput input =
          new PointInTimeEngine.ViewInput(
              v.getName() + " v" + v.getVersion(),
              keys,
              Durations.fromProto(v.getTtl()),
              features,
              aggregations,
              source);
      inputs.add(input);
      viewNames.add(input.name());
      // Before the rows are read: a commit made meanwhile only adds rows, so the rows counted as
      // past it are at worst reported when they need not be, never the other way round.
      watermarks.add(source.watermark());
      List<String> columnNames = new ArrayList<>();
      for (Requested r : ordered) {
        String column = FeatureRef.columnName(v.getName(), r.feature());
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
              + ": no timestamp column "
              + Messages.quote(request.timestampColumn())
              + " (set it with --timestamp-column); columns: "
              + Messages.clip(String.join(", ", inputColumns)));
    }
    for (String key : keyTypes.keySet()) {
      if (!inputColumns.contains(key)) {
        throw new IllegalArgumentException(
            request.entities()
                + ": no join key column "
                + Messages.quote(key)
                + "; columns: "
                + Messages.clip(String.join(", ", inputColumns)));
      }
    }
    checkColumns(
        request.entities(),
        inputColumns,
        featureColumns.stream().map(ExportWriter.Column::name).toList());
    List<ExportWriter.Column> columns = new ArrayList<>();
    for (String c : inputColumns) {
      columns.add(
          new ExportWriter.Column(
              c, inputType(c, request.timestampColumn(), keyTypes, table.passThroughTypes())));
    }
    columns.addAll(featureColumns);
    int tsIndex = inputColumns.indexOf(request.timestampColumn());
    PastWatermarkCount past = new PastWatermarkCount(viewNames, watermarks);
    if (request.refusePastWatermark()) {
      // Counted before the join, so a refused export costs one read of the entity table.
      try (PointInTimeEngine.CloseableIterator<Object[]> it = table.table().rows()) {
        while (it.hasNext()) {
          past.add(it.next()[tsIndex]);
        }
      }
      if (!past.result().isEmpty()) {
        throw new PastWatermarkException(past.result());
      }
    }
    int first = inputColumns.size();
    long[] nulls = new long[featureColumns.size()];
    // A service's training set is profiled as it is written: the baseline serving compares with.
    FeatureProfile[] profiles =
        request.service() == null ? null : new FeatureProfile[featureColumns.size()];
    if (profiles != null) {
      for (int i = 0; i < profiles.length; i++) {
        profiles[i] = FeatureProfile.of(featureColumns.get(i).type());
      }
    }
    long[] range = {Long.MAX_VALUE, Long.MIN_VALUE};
    long rows;
    try (ExportWriter file = ExportWriter.open(request.out(), columns);
        BackgroundWriter writer = new BackgroundWriter(file)) {
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
                      if (!request.refusePastWatermark()) {
                        past.add(values[tsIndex]);
                      }
                      if (values[tsIndex] instanceof Long micros) {
                        values[tsIndex] = Micros.toInstant(micros);
                        range[0] = Math.min(range[0], micros);
                        range[1] = Math.max(range[1], micros);
                      }
                      for (int i = 0; i < nulls.length; i++) {
                        if (values[first + i] == null) {
                          nulls[i]++;
                        }
                        if (profiles != null) {
                          profiles[i].add(values[first + i]);
                        }
                      }
                      writer.row(values);
                    }
                  });
      writer.finish();
    }
    Map<String, Long> nullCounts = new LinkedHashMap<>();
    for (int i = 0; i < nulls.length; i++) {
      nullCounts.put(featureColumns.get(i).name(), nulls[i]);
    }
    Baseline baseline = null;
    if (profiles != null) {
      Map<String, FeatureProfile> byColumn = new LinkedHashMap<>();
      for (int i = 0; i < profiles.length; i++) {
        byColumn.put(featureColumns.get(i).name(), profiles[i]);
      }
      baseline =
          new Baseline(
              request.service(),
              rows,
              range[0] == Long.MAX_VALUE ? null : Micros.toInstant(range[0]),
              range[1] == Long.MIN_VALUE ? null : Micros.toInstant(range[1]),
              byColumn);
    }
    return new Summary(
        rows, nullCounts, Duration.ofNanos(System.nanoTime() - started), baseline, past.result());
  }

  /** Counts entity rows past the watermark of each view, and of any. */
  private static final class PastWatermarkCount {
    final List<String> views;
    final long[] watermarks;
    final long[] past;
    long any;
    long timed;

    PastWatermarkCount(List<String> views, List<Long> watermarks) {
      this.views = views;
      this.watermarks = watermarks.stream().mapToLong(Long::longValue).toArray();
      this.past = new long[this.watermarks.length];
    }

    /** An entity row's time: epoch microseconds, or null for a row without one. */
    void add(Object time) {
      if (!(time instanceof Long micros)) {
        return;
      }
      timed++;
      boolean counted = false;
      for (int i = 0; i < watermarks.length; i++) {
        if (Watermark.isPast(micros, watermarks[i])) {
          past[i]++;
          if (!counted) {
            any++;
            counted = true;
          }
        }
      }
    }

    PastWatermark result() {
      List<ViewWatermark> out = new ArrayList<>();
      for (int i = 0; i < past.length; i++) {
        if (past[i] > 0) {
          out.add(
              new ViewWatermark(
                  views.get(i),
                  watermarks[i] == Watermark.NONE ? null : Micros.toInstant(watermarks[i]),
                  past[i]));
        }
      }
      return new PastWatermark(any, timed, out);
    }
  }

  private static ValueType inputType(
      String column, String ts, Map<String, ScalarType> keyTypes, Map<String, ValueType> others) {
    if (column.equals(ts)) {
      return Types.of(ScalarType.SCALAR_TYPE_TIMESTAMP);
    }
    if (keyTypes.containsKey(column)) {
      return ExportWriter.Column.keyType(keyTypes.get(column));
    }
    return others.get(column);
  }

  private static List<Requested> resolve(
      RegistrySnapshot registry, String serviceName, List<String> features) {
    Map<String, FeatureView> byRef = new HashMap<>();
    for (FeatureView v : registry.getFeatureViewsList()) {
      byRef.put(v.getName() + "@" + v.getVersion(), v);
      if (v.getState() != ViewState.VIEW_STATE_SUPERSEDED) {
        byRef.put(v.getName(), v);
      }
    }
    List<Requested> out = new ArrayList<>();
    if (serviceName != null) {
      FeatureService service =
          dev.quiver.registry.FeatureServices.find(registry, serviceName)
              .orElseThrow(
                  () ->
                      new UnknownFeatureException(
                          "feature service "
                              + Messages.quote(serviceName)
                              + " does not exist in registry version "
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
    if (features == null || features.isEmpty()) {
      throw new IllegalArgumentException("give a feature service or feature references");
    }
    for (String ref : features) {
      FeatureRef parsed =
          FeatureRef.parse(ref)
              .filter(r -> !r.isAll())
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(
                          "feature "
                              + Messages.quote(ref)
                              + " is not a feature reference; expected view:feature"));
      FeatureView v = byRef.get(parsed.viewReference());
      if (v == null) {
        throw new UnknownFeatureException(
            "feature "
                + Messages.quote(ref)
                + ": no feature view "
                + Messages.quote(parsed.viewReference())
                + " in registry version "
                + registry.getVersion());
      }
      out.add(requested(v, parsed.feature(), ref));
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
    throw new UnknownFeatureException(
        "feature "
            + Messages.quote(ref)
            + " does not exist in view "
            + v.getName()
            + " v"
            + v.getVersion());
  }
}
