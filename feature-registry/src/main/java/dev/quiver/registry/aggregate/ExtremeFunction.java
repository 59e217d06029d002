package dev.quiver.registry.aggregate;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.AggregationFunction;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.Value;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.Types;
import dev.quiver.registry.rows.Values;
import dev.quiver.registry.semantics.OrderKey;
import java.io.IOException;
import java.util.Optional;

/**
 * {@code min} and {@code max}: the input's type, null over no rows. The extreme of a total order
 * ({@link ValueOrder}: {@code -0.0 < 0.0}, NaN above every number) is the same in any order.
 */
final class ExtremeFunction implements AggregateFunction {
  private final AggregationFunction id;
  private final boolean max;

  private ExtremeFunction(AggregationFunction id, boolean max) {
    this.id = id;
    this.max = max;
  }

  static ExtremeFunction min() {
    return new ExtremeFunction(AggregationFunction.AGGREGATION_FUNCTION_MIN, false);
  }

  static ExtremeFunction max() {
    return new ExtremeFunction(AggregationFunction.AGGREGATION_FUNCTION_MAX, true);
  }

  @Override
  public AggregationFunction id() {
    return id;
  }

  @Override
  public String accepts() {
    return "a number or a timestamp";
  }

  @Override
  public Optional<ValueType> resultType(ValueType input) {
    boolean ok =
        input != null
            && (Types.isNumeric(input)
                || (input.hasScalar() && input.getScalar() == ScalarType.SCALAR_TYPE_TIMESTAMP));
    return ok ? Optional.of(input) : Optional.empty();
  }

  @Override
  public AggregateKernel<?> bind(Aggregation spec) {
    ValueType type = Kernels.inputType(this, spec);
    return new AggregateKernel<Value>() {
      @Override
      public Value empty() {
        return null;
      }

      @Override
      public Value add(Value state, Object input, OrderKey order) {
        return pick(state, Values.toProto(input, type));
      }

      @Override
      public Value merge(Value into, Value from) {
        return from == null ? into : pick(into, from);
      }

      private Value pick(Value current, Value candidate) {
        if (current == null) {
          return candidate;
        }
        int c = ValueOrder.compare(candidate, current);
        return (max ? c > 0 : c < 0) ? candidate : current;
      }

      @Override
      public Value result(Value state, long count) {
        return state == null ? Values.nullValue() : state;
      }

      @Override
      public void write(Value state, CodedOutputStream out) throws IOException {
        out.writeBoolNoTag(state != null);
        if (state != null) {
          Kernels.writeValue(out, state);
        }
      }

      @Override
      public Value read(CodedInputStream in) throws IOException {
        return in.readBool() ? Kernels.readValue(in) : null;
      }
    };
  }
}
