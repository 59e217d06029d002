package dev.quiver.registry.aggregate;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.AggregationFunction;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.Value;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.Types;
import dev.quiver.registry.semantics.OrderKey;
import java.util.Optional;

/**
 * {@code count}: the rows, or with an input the rows where it is not null; int64, 0 over no rows.
 * The count is the one {@link AggregateState} keeps for every function, an integer sum: any order
 * and grouping give the same count.
 */
final class CountFunction implements AggregateFunction, AggregateKernel<Boolean> {
  @Override
  public AggregationFunction id() {
    return AggregationFunction.AGGREGATION_FUNCTION_COUNT;
  }

  @Override
  public boolean needsInput() {
    return false;
  }

  @Override
  public String accepts() {
    return "any type, or no input";
  }

  @Override
  public Optional<ValueType> resultType(ValueType input) {
    return Optional.of(Types.of(ScalarType.SCALAR_TYPE_INT64));
  }

  @Override
  public AggregateKernel<?> bind(Aggregation spec) {
    return this;
  }

  @Override
  public Boolean empty() {
    return Boolean.TRUE;
  }

  @Override
  public Boolean add(Boolean state, Object input, OrderKey order) {
    return state;
  }

  @Override
  public Boolean merge(Boolean into, Boolean from) {
    return into;
  }

  @Override
  public Value result(Boolean state, long count) {
    return Value.newBuilder().setInt64Value(count).build();
  }

  @Override
  public void write(Boolean state, CodedOutputStream out) {}

  @Override
  public Boolean read(CodedInputStream in) {
    return Boolean.TRUE;
  }
}
