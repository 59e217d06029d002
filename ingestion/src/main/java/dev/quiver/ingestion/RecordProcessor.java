package dev.quiver.ingestion;

import com.google.common.base.Utf8;
import com.google.protobuf.ByteString;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.Source;
import dev.quiver.registry.logic.CompiledExpression;
import dev.quiver.registry.logic.CompiledView;
import dev.quiver.registry.logic.ExpressionException;
import dev.quiver.registry.rows.SourceArchive;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.rows.ViewShape;
import dev.quiver.registry.semantics.OrderKey;
import dev.quiver.registry.semantics.TimeRange;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns one decoded source record into the rows of every view version that reads the source, and
 * the row of the source's {@link SourceArchive} when it has one, running each view's compiled
 * filter, features and aggregation inputs. A view whose expression fails on the record yields a
 * failure for that view only; the other views keep their rows.
 *
 * <p>What a view stores is bounded ({@link IngestionConfig.Limits}): a value larger than {@code
 * quiver serve --max-value-bytes}, or a row whose values together are larger than {@code quiver
 * serve --max-row-bytes}, is a {@link DeadLetterReason#VALUE_TOO_LARGE} failure of that view. A
 * computed timestamp outside {@link TimeRange} is a {@link DeadLetterReason#TIMESTAMP_OUT_OF_RANGE}
 * failure. A value's size is what it takes stored: a string's UTF-8 bytes, bytes as they are, a
 * list the sum of its elements, a number or time 8 bytes (int32 and float 4, bool 1).
 *
 * <p>Immutable and thread-safe.
 */
public final class RecordProcessor {
  private final List<ViewPlan> views;
  private final SourceRecords records;
  private final IngestionConfig.Limits limits;

  /** A failed view: which one, why (the dead-letter reason), and a message naming the cause. */
  public record Failure(ViewId view, DeadLetterReason reason, String message) {}

  /** A view's row that cannot be stored: why, and what is wrong. */
  private static final class RefusedRow extends Exception {
    final DeadLetterReason reason;

    RefusedRow(DeadLetterReason reason, String message) {
      super(message, null, false, false);
      this.reason = reason;
    }
  }

  /** The rows a record produced, and the views that failed on it. */
  public record Result(List<ViewRow> rows, List<Failure> failures) {}

  private record ViewPlan(ViewShape shape, CompiledView logic, List<String> keyFields) {
    ViewId id() {
      return shape.id();
    }
  }

  public RecordProcessor(RegistrySnapshot snapshot, Source source, List<CompiledView> views) {
    this(snapshot, source, views, IngestionConfig.Limits.defaults());
  }

  public RecordProcessor(
      RegistrySnapshot snapshot,
      Source source,
      List<CompiledView> views,
      IngestionConfig.Limits limits) {
    this.limits = java.util.Objects.requireNonNull(limits, "limits");
    List<ViewPlan> plans = new ArrayList<>();
    Set<String> allKeys = new LinkedHashSet<>();
    for (CompiledView v : views) {
      List<Field> keyFields = dev.quiver.registry.semantics.JoinKeys.of(snapshot, v.view());
      List<String> keys = keyFields.stream().map(Field::getName).toList();
      allKeys.addAll(keys);
      plans.add(new ViewPlan(ViewShape.of(v.view(), keyFields), v, List.copyOf(keys)));
    }
    this.views = List.copyOf(plans);
    this.records = SourceRecords.of(source, allKeys);
    this.source = source;
    this.archive = SourceArchive.enabled(source) ? SourceArchive.shape(source) : null;
  }

  /** The archive's shape, or null when the source is not archived. */
  private final ViewShape archive;

  private final Source source;

  public SourceRecords records() {
    return records;
  }

  /** The view versions this processor computes. */
  public List<ViewId> viewIds() {
    List<ViewId> ids = new ArrayList<>(views.size() + 1);
    if (archive != null) {
      ids.add(archive.id());
    }
    views.forEach(v -> ids.add(v.id()));
    return List.copyOf(ids);
  }

  /** The source. */
  public Source source() {
    return source;
  }

  /**
   * Computes the rows of {@code record} for the views in {@code include} (views that have already
   * applied this offset are left out by the caller).
   */
  public Result process(
      DecodedRecord record,
      int partition,
      long offset,
      java.util.function.Predicate<ViewId> include) {
    List<ViewRow> rows = new ArrayList<>(views.size());
    List<Failure> failures = List.of();
    OrderKey order =
        new OrderKey(record.eventTimeMicros(), record.createdTimeMicros(), partition, offset);
    Map<String, Object> fields = record.fields();
    Map<String, Object> prepared = null;
    if (archive != null && include.test(archive.id())) {
      rows.add(SourceArchive.row(source, archive, fields, order));
    }
    for (ViewPlan plan : views) {
      if (!include.test(plan.id())) {
        continue;
      }
      CompiledView v = plan.logic();
      String step = "filter";
      if (prepared == null) {
        prepared = CompiledExpression.prepare(fields);
      }
      try {
        if (!v.acceptsPrepared(prepared)) {
          continue;
        }
        Object[] features = new Object[v.features().size()];
        for (int i = 0; i < features.length; i++) {
          CompiledView.CompiledFeature f = v.features().get(i);
          step = "feature '" + f.spec().getName() + "'";
          features[i] = f.expression().evaluatePrepared(prepared);
        }
        Object[] inputs = new Object[v.aggregations().size()];
        for (int i = 0; i < inputs.length; i++) {
          CompiledView.CompiledAggregation a = v.aggregations().get(i);
          step = "aggregation '" + a.spec().getName() + "'";
          inputs[i] = a.input() == null ? null : a.input().evaluatePrepared(prepared);
        }
        List<Object> key = new ArrayList<>(plan.keyFields().size());
        for (String k : plan.keyFields()) {
          Object value = fields.get(k);
          key.add(value instanceof Integer i ? (Object) i.longValue() : value);
        }
        check(plan, key, features, inputs);
        rows.add(new ViewRow(plan.shape(), key, order, features, inputs));
      } catch (ExpressionException e) {
        if (failures.isEmpty()) {
          failures = new ArrayList<>();
        }
        failures.add(
            new Failure(
                plan.id(),
                DeadLetterReason.EXPRESSION_FAILED,
                "view " + plan.id() + ", " + step + ": " + e.getMessage()));
      } catch (RefusedRow e) {
        if (failures.isEmpty()) {
          failures = new ArrayList<>();
        }
        failures.add(new Failure(plan.id(), e.reason, "view " + plan.id() + ", " + e.getMessage()));
      }
    }
    return new Result(rows, failures);
  }

  /** Refuses a row with a value or a total over the limits, or a time outside the range. */
  private void check(ViewPlan plan, List<Object> key, Object[] features, Object[] inputs)
      throws RefusedRow {
    // Labels are put together only for a refusal: this runs for every value of every row.
    long row = 0;
    for (int i = 0; i < key.size(); i++) {
      row += checkValue("join key", plan.keyFields().get(i), key.get(i));
    }
    for (int i = 0; i < features.length; i++) {
      row += checkValue("feature", plan.shape().features().get(i), features[i]);
    }
    for (int i = 0; i < inputs.length; i++) {
      row +=
          checkValue(
              "input of aggregation", plan.shape().aggregations().get(i).getName(), inputs[i]);
    }
    if (row > limits.maxRowBytes()) {
      throw new RefusedRow(
          DeadLetterReason.VALUE_TOO_LARGE,
          "row: its values are "
              + row
              + " bytes together, over the limit of "
              + limits.maxRowBytes()
              + " bytes (quiver serve --max-row-bytes)");
    }
  }

  private long checkValue(String kind, String name, Object value) throws RefusedRow {
    long size = size(kind, name, value);
    if (size > limits.maxValueBytes()) {
      throw new RefusedRow(
          DeadLetterReason.VALUE_TOO_LARGE,
          kind
              + " '"
              + name
              + "' is "
              + size
              + " bytes, over the limit of "
              + limits.maxValueBytes()
              + " bytes (quiver serve --max-value-bytes)");
    }
    return size;
  }

  /** The stored size of a value in its Java form; checks times against the accepted range. */
  private static long size(String kind, String name, Object value) throws RefusedRow {
    if (value == null) {
      return 0;
    }
    if (value instanceof String s) {
      return Utf8.encodedLength(s);
    }
    if (value instanceof ByteString b) {
      return b.size();
    }
    if (value instanceof List<?> list) {
      long total = 0;
      for (Object o : list) {
        total += size(kind, name, o);
      }
      return total;
    }
    if (value instanceof Instant t) {
      if (!TimeRange.contains(t)) {
        throw new RefusedRow(
            DeadLetterReason.TIMESTAMP_OUT_OF_RANGE,
            kind
                + " '"
                + name
                + "' is "
                + t
                + ", outside the accepted times "
                + TimeRange.describe());
      }
      return 8;
    }
    if (value instanceof Integer || value instanceof Float) {
      return 4;
    }
    if (value instanceof Boolean) {
      return 1;
    }
    return 8;
  }
}
