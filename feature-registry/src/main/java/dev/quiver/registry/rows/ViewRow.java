package dev.quiver.registry.rows;

import dev.quiver.registry.semantics.OrderKey;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One computed row of a view version for one entity: what ingestion hands to every sink.
 *
 * @param shape the view version and the names of its features and aggregations
 * @param entityKey join key values in the view's join key order (entities in declaration order,
 *     each entity's keys in declaration order): String, Long (int32 and int64) or ByteString
 * @param order the row's order key
 * @param features row-level feature values in declaration order, in the Java form of {@link
 *     dev.quiver.registry.logic.CompiledExpression}; null for a null value
 * @param aggregationInputs aggregation input values in declaration order (null for {@code count}
 *     without input or a null input)
 */
public record ViewRow(
    ViewShape shape,
    List<Object> entityKey,
    OrderKey order,
    Object[] features,
    Object[] aggregationInputs) {

  public ViewRow {
    Objects.requireNonNull(shape, "shape");
    if (features.length != shape.features().size()
        || aggregationInputs.length != shape.aggregations().size()) {
      throw new IllegalArgumentException("values do not match the shape of " + shape.id());
    }
    entityKey = List.copyOf(entityKey);
    Objects.requireNonNull(order, "order");
    Objects.requireNonNull(features, "features");
    Objects.requireNonNull(aggregationInputs, "aggregationInputs");
  }

  /** The proto form of feature {@code i}, of its declared type; an explicit null for null. */
  public dev.quiver.proto.v1.Value valueProto(int i) {
    return Values.toProto(features[i], shape.featureTypes().get(i));
  }

  /** The view version. */
  public ViewId view() {
    return shape.id();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ViewRow r
        && shape.equals(r.shape)
        && entityKey.equals(r.entityKey)
        && order.equals(r.order)
        && Arrays.equals(features, r.features)
        && Arrays.equals(aggregationInputs, r.aggregationInputs);
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        shape, entityKey, order, Arrays.hashCode(features), Arrays.hashCode(aggregationInputs));
  }

  @Override
  public String toString() {
    return shape.id() + " " + entityKey + " " + order + " " + Arrays.toString(features);
  }
}
