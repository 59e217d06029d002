package dev.quiver.registry.rows;

import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.ValueType;
import java.util.List;
import java.util.Objects;

/**
 * The feature and aggregation names of a view version, in declaration order: the meaning of the
 * value arrays of its {@link ViewRow}s. A view version can gain or lose features by safe changes,
 * so rows carry their shape rather than relying on positions alone.
 *
 * @param id the view version
 * @param joinKeys the view's join keys in key order (entities in declaration order)
 * @param features row-level feature names
 * @param featureTypes their declared types
 * @param aggregations aggregations in declaration order
 */
public record ViewShape(
    ViewId id,
    List<dev.quiver.proto.v1.Field> joinKeys,
    List<String> features,
    List<ValueType> featureTypes,
    List<dev.quiver.proto.v1.Aggregation> aggregations) {
  public ViewShape {
    Objects.requireNonNull(id, "id");
    joinKeys = List.copyOf(joinKeys);
    features = List.copyOf(features);
    featureTypes = List.copyOf(featureTypes);
    if (featureTypes.size() != features.size()) {
      throw new IllegalArgumentException("one type per feature");
    }
    aggregations = List.copyOf(aggregations);
  }

  /** The shape of {@code v}, whose entities have {@code joinKeys} (in key order). */
  public static ViewShape of(FeatureView v, List<dev.quiver.proto.v1.Field> joinKeys) {
    return new ViewShape(
        ViewId.of(v),
        joinKeys,
        v.getFeaturesList().stream().map(f -> f.getName()).toList(),
        v.getFeaturesList().stream().map(f -> f.getType()).toList(),
        v.getAggregationsList());
  }
}
