package dev.quiver.registry.aggregate;

import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.AggregationFunction;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.Value;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.Types;
import dev.quiver.registry.rows.Values;
import dev.quiver.registry.semantics.OrderKey;
import java.util.Optional;

/**
 * {@code avg}: double, the exact sum ({@link ExactSum}, integers added as integers) divided by the
 * count and rounded once. Null over no rows.
 */
final class AvgFunction implements AggregateFunction {
  @Override
  public AggregationFunction id() {
    return AggregationFunction.AGGREGATION_FUNCTION_AVG;
  }

  @Override
  public String accepts() {
    return "a number (int32, int64, float, double)";
  }

  @Override
  public Optional<ValueType> resultType(ValueType input) {
    return input != null && Types.isNumeric(input)
        ? Optional.of(Types.of(ScalarType.SCALAR_TYPE_DOUBLE))
        : Optional.empty();
  }

  @Override
  public AggregateKernel<?> bind(Aggregation spec) {
    boolean integral = Types.isIntegral(Kernels.inputType(this, spec));
    return new SumFunction.DoubleSum() {
      @Override
      public ExactSum add(ExactSum state, Object input, OrderKey order) {
        if (integral) {
          state.add(((Number) input).longValue());
        } else {
          state.add(((Number) input).doubleValue());
        }
        return state;
      }

      @Override
      public Value result(ExactSum state, long count) {
        return count == 0
            ? Values.nullValue()
            : Value.newBuilder().setDoubleValue(state.divide(count)).build();
      }
    };
  }
}
