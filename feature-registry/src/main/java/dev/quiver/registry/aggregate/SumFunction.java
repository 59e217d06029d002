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
 * {@code sum}: int64 for integer inputs (int64 arithmetic, wrapping on overflow, which is still the
 * same in any order), double otherwise: the exact sum ({@link ExactSum}) rounded once. Null over no
 * rows.
 */
final class SumFunction implements AggregateFunction {
  @Override
  public AggregationFunction id() {
    return AggregationFunction.AGGREGATION_FUNCTION_SUM;
  }

  @Override
  public String accepts() {
    return "a number (int32, int64, float, double)";
  }

  @Override
  public Optional<ValueType> resultType(ValueType input) {
    if (input == null || !Types.isNumeric(input)) {
      return Optional.empty();
    }
    return Optional.of(
        Types.of(
            Types.isIntegral(input)
                ? ScalarType.SCALAR_TYPE_INT64
                : ScalarType.SCALAR_TYPE_DOUBLE));
  }

  @Override
  public AggregateKernel<?> bind(Aggregation spec) {
    return Types.isIntegral(Kernels.inputType(this, spec)) ? new IntegerSum() : new DoubleSum();
  }

  /** State: the int64 sum. */
  static final class IntegerSum implements AggregateKernel<Long> {
    @Override
    public Long empty() {
      return 0L;
    }

    @Override
    public Long add(Long state, Object input, OrderKey order) {
      return state + ((Number) input).longValue();
    }

    @Override
    public Long merge(Long into, Long from) {
      return into + from;
    }

    @Override
    public Value result(Long state, long count) {
      return count == 0 ? Values.nullValue() : Value.newBuilder().setInt64Value(state).build();
    }

    @Override
    public void write(Long state, CodedOutputStream out) throws IOException {
      out.writeSInt64NoTag(state);
    }

    @Override
    public Long read(CodedInputStream in) throws IOException {
      return in.readSInt64();
    }
  }

  /** State: the exact sum. */
  static class DoubleSum implements AggregateKernel<ExactSum> {
    @Override
    public ExactSum empty() {
      return new ExactSum();
    }

    @Override
    public ExactSum add(ExactSum state, Object input, OrderKey order) {
      state.add(((Number) input).doubleValue());
      return state;
    }

    @Override
    public ExactSum merge(ExactSum into, ExactSum from) {
      into.merge(from);
      return into;
    }

    @Override
    public Value result(ExactSum state, long count) {
      return count == 0
          ? Values.nullValue()
          : Value.newBuilder().setDoubleValue(state.toDouble()).build();
    }

    @Override
    public void write(ExactSum state, CodedOutputStream out) throws IOException {
      state.writeTo(out);
    }

    @Override
    public ExactSum read(CodedInputStream in) throws IOException {
      return ExactSum.readFrom(in);
    }
  }
}
