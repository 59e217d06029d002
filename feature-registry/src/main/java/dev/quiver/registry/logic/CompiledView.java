package dev.quiver.registry.logic;

import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.Feature;
import dev.quiver.proto.v1.FeatureView;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The executable logic of one feature view version: its filter, its row-level features and the
 * inputs of its aggregations. Immutable and thread-safe.
 *
 * @param view the view as applied
 * @param filter the filter, or null when the view keeps every row
 * @param features row-level features in declaration order
 * @param aggregations aggregations in declaration order
 */
public record CompiledView(
    FeatureView view,
    CompiledExpression filter,
    List<CompiledFeature> features,
    List<CompiledAggregation> aggregations) {

  public CompiledView {
    Objects.requireNonNull(view, "view");
    features = List.copyOf(features);
    aggregations = List.copyOf(aggregations);
  }

  /** A row-level feature and its expression. */
  public record CompiledFeature(Feature spec, CompiledExpression expression) {}

  /** An aggregation and its input expression (null for {@code count} without input). */
  public record CompiledAggregation(Aggregation spec, CompiledExpression input) {}

  /**
   * Whether this view keeps the row: true without a filter; false when the filter reads a null
   * field or yields anything but true.
   *
   * @throws ExpressionException when the filter fails to evaluate
   */
  public boolean accepts(Map<String, ?> row) throws ExpressionException {
    return acceptsPrepared(CompiledExpression.prepare(row));
  }

  /** {@link #accepts} over a row made by {@link CompiledExpression#prepare}. */
  public boolean acceptsPrepared(Map<String, Object> prepared) throws ExpressionException {
    return filter == null || Boolean.TRUE.equals(filter.evaluatePrepared(prepared));
  }
}
