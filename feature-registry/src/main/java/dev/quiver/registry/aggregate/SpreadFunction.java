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
 * {@code variance}, {@code stddev} (population: divided by n) and {@code variance_sample}, {@code
 * stddev_sample} (divided by n − 1): double, from exact sums of x and x² ({@link Moments}), so
 * correctly rounded and the same bits in any order and grouping. Null over no rows (the sample
 * forms also over one row); NaN if any input is NaN or infinite.
 */
final class SpreadFunction implements AggregateFunction {
  private final AggregationFunction id;
  private final boolean sample;
  private final boolean root;

  private SpreadFunction(AggregationFunction id, boolean sample, boolean root) {
    this.id = id;
    this.sample = sample;
    this.root = root;
  }

  static SpreadFunction variance() {
    return new SpreadFunction(AggregationFunction.AGGREGATION_FUNCTION_VARIANCE, false, false);
  }

  static SpreadFunction stddev() {
    return new SpreadFunction(AggregationFunction.AGGREGATION_FUNCTION_STDDEV, false, true);
  }

  static SpreadFunction varianceSample() {
    return new SpreadFunction(
        AggregationFunction.AGGREGATION_FUNCTION_VARIANCE_SAMPLE, true, false);
  }

  static SpreadFunction stddevSample() {
    return new SpreadFunction(AggregationFunction.AGGREGATION_FUNCTION_STDDEV_SAMPLE, true, true);
  }

  @Override
  public AggregationFunction id() {
    return id;
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

  /** Σx and Σx², exact. */
  record Sums(ExactSum x, ExactSum x2) {}

  @Override
  public AggregateKernel<?> bind(Aggregation spec) {
    boolean integral = Types.isIntegral(Kernels.inputType(this, spec));
    return new AggregateKernel<Sums>() {
      @Override
      public Sums empty() {
        return new Sums(new ExactSum(), new ExactSum());
      }

      @Override
      public Sums add(Sums s, Object input, OrderKey order) {
        if (integral) {
          long l = ((Number) input).longValue();
          s.x().add(l);
          s.x2().addSquare(l);
        } else {
          double d = ((Number) input).doubleValue();
          s.x().add(d);
          s.x2().addSquare(d);
        }
        return s;
      }

      @Override
      public Sums merge(Sums into, Sums from) {
        into.x().merge(from.x());
        into.x2().merge(from.x2());
        return into;
      }

      @Override
      public Value result(Sums s, long n) {
        long divisor = sample ? n - 1 : n;
        if (divisor <= 0) {
          return Values.nullValue();
        }
        double r =
            root
                ? Moments.stddev(s.x(), s.x2(), n, divisor)
                : Moments.variance(s.x(), s.x2(), n, divisor);
        return Value.newBuilder().setDoubleValue(r).build();
      }

      @Override
      public void write(Sums s, CodedOutputStream out) throws IOException {
        s.x().writeTo(out);
        s.x2().writeTo(out);
      }

      @Override
      public Sums read(CodedInputStream in) throws IOException {
        return new Sums(ExactSum.readFrom(in), ExactSum.readFrom(in));
      }
    };
  }
}
