package dev.quiver.ingestion;

import dev.quiver.proto.v1.Entity;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.Source;
import dev.quiver.registry.logic.CompiledExpression;
import dev.quiver.registry.logic.CompiledView;
import dev.quiver.registry.logic.ExpressionException;
import dev.quiver.registry.rows.OrderKey;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.rows.ViewShape;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns one decoded source record into the rows of every view version that reads the source,
 * running each view's compiled filter, features and aggregation inputs. A view whose expression
 * fails on the record yields a failure for that view only; the other views keep their rows.
 *
 * <p>Immutable and thread-safe.
 */
public final class RecordProcessor {
  private final List<ViewPlan> views;
  private final JsonRecordDecoder decoder;

  /** A failed view: which one, and why. */
  public record Failure(ViewId view, String message) {}

  /** The rows a record produced, and the views that failed on it. */
  public record Result(List<ViewRow> rows, List<Failure> failures) {}

  private record ViewPlan(ViewShape shape, CompiledView logic, List<String> keyFields) {
    ViewId id() {
      return shape.id();
    }
  }

  public RecordProcessor(RegistrySnapshot snapshot, Source source, List<CompiledView> views) {
    Map<String, Entity> entities = new HashMap<>();
    snapshot.getEntitiesList().forEach(e -> entities.put(e.getName(), e));
    List<ViewPlan> plans = new ArrayList<>();
    Set<String> allKeys = new LinkedHashSet<>();
    for (CompiledView v : views) {
      List<String> keys = new ArrayList<>();
      List<Field> keyFields = new ArrayList<>();
      for (String entity : v.view().getEntitiesList()) {
        for (Field k : entities.get(entity).getJoinKeysList()) {
          keys.add(k.getName());
          keyFields.add(k);
        }
      }
      allKeys.addAll(keys);
      plans.add(new ViewPlan(ViewShape.of(v.view(), keyFields), v, List.copyOf(keys)));
    }
    this.views = List.copyOf(plans);
    this.decoder = new JsonRecordDecoder(source, allKeys);
  }

  public JsonRecordDecoder decoder() {
    return decoder;
  }

  /** The view versions this processor computes. */
  public List<ViewId> viewIds() {
    return views.stream().map(ViewPlan::id).toList();
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
        new OrderKey(record.eventTimeMillis(), record.createdTimeMillis(), partition, offset);
    Map<String, Object> fields = record.fields();
    Map<String, Object> prepared = null;
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
        rows.add(new ViewRow(plan.shape(), key, order, features, inputs));
      } catch (ExpressionException e) {
        if (failures.isEmpty()) {
          failures = new ArrayList<>();
        }
        failures.add(
            new Failure(plan.id(), "view " + plan.id() + ", " + step + ": " + e.getMessage()));
      }
    }
    return new Result(rows, failures);
  }
}
