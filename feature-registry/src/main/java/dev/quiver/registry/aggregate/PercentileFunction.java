package dev.quiver.registry.aggregate;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import dev.quiver.proto.JavaValues;
import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.AggregationFunction;
import dev.quiver.proto.v1.Value;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.Types;
import dev.quiver.registry.rows.Values;
import dev.quiver.registry.semantics.OrderKey;
import java.io.IOException;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.apache.datasketches.common.ArrayOfDoublesSerDe;
import org.apache.datasketches.common.ArrayOfItemsSerDe;
import org.apache.datasketches.common.ArrayOfLongsSerDe;
import org.apache.datasketches.kll.KllItemsSketch;
import org.apache.datasketches.quantilescommon.QuantileSearchCriteria;

/**
 * {@code approx_percentile}: the input's type, the value at rank {@code percentile} (0 is the
 * minimum, 1 the maximum) of the non-null inputs; null over no rows. Parameters: {@code percentile}
 * (required, 0–1) and {@code k} (8–65535, default 1024), the number of rows the state keeps.
 *
 * <p>A KLL sketch cannot be the state: its compactions keep the odd or the even items by a random
 * coin, and which items share a compaction depends on the order of updates and merges, so two
 * groupings of the same rows give different sketches and different answers. The state is instead a
 * {@link RowSample} of at most k rows, which depends only on the set of rows (exact while the
 * window has at most k rows). At result time the sampled values go, in ascending order, into a
 * DataSketches KLL sketch of the same k, which holds them all without compacting (so no coin is
 * tossed), and its inclusive quantile is the result: the smallest sampled value whose rank is at
 * least {@code percentile}. Beyond k rows the error is that of a uniform sample of k rows (rank
 * error about {@code sqrt(p(1 − p) / k)}, 1.6% at the median for k = 1024).
 */
final class PercentileFunction implements AggregateFunction {
  static final ParameterRule PERCENTILE =
      ParameterRule.required(AggregateParameter.PERCENTILE, 0, 1);
  static final ParameterRule K = ParameterRule.optional(AggregateParameter.K, 1024, 8, 65535);

  @Override
  public AggregationFunction id() {
    return AggregationFunction.AGGREGATION_FUNCTION_APPROX_PERCENTILE;
  }

  @Override
  public String accepts() {
    return "a number (int32, int64, float, double)";
  }

  @Override
  public Optional<ValueType> resultType(ValueType input) {
    return input != null && Types.isNumeric(input) ? Optional.of(input) : Optional.empty();
  }

  @Override
  public List<ParameterRule> parameters() {
    return List.of(PERCENTILE, K);
  }

  @Override
  public AggregateKernel<?> bind(Aggregation spec) {
    ValueType type = Kernels.inputType(this, spec);
    double rank = PERCENTILE.valueIn(spec);
    int k = K.intValueIn(spec);
    boolean integral = Types.isIntegral(type);
    return new AggregateKernel<RowSample>() {
      @Override
      public RowSample empty() {
        return new RowSample(k);
      }

      @Override
      public RowSample add(RowSample s, Object input, OrderKey order) {
        s.add(Values.toProto(input, type), order);
        return s;
      }

      @Override
      public RowSample merge(RowSample into, RowSample from) {
        into.merge(from);
        return into;
      }

      @Override
      public Value result(RowSample s, long count) {
        if (s.size() == 0) {
          return Values.nullValue();
        }
        List<Value> values = s.values();
        Object q =
            integral
                ? quantile(
                    values.stream().map(v -> ((Number) JavaValues.toJava(v)).longValue()).toList(),
                    Comparator.<Long>naturalOrder(),
                    new ArrayOfLongsSerDe())
                : quantile(
                    values.stream()
                        .map(v -> ((Number) JavaValues.toJava(v)).doubleValue())
                        .toList(),
                    Double::compare,
                    new ArrayOfDoublesSerDe());
        return Values.toProto(q, type);
      }

      private <T> T quantile(List<T> items, Comparator<T> order, ArrayOfItemsSerDe<T> serDe) {
        KllItemsSketch<T> kll = KllItemsSketch.newHeapInstance(k, order, serDe);
        items.stream().sorted(order).forEach(kll::update);
        if (kll.isEstimationMode()) {
          throw new IllegalStateException(
              "a sample of " + items.size() + " rows compacted a KLL sketch of k " + k);
        }
        return kll.getQuantile(rank, QuantileSearchCriteria.INCLUSIVE);
      }

      @Override
      public void write(RowSample s, CodedOutputStream out) throws IOException {
        s.write(out);
      }

      @Override
      public RowSample read(CodedInputStream in) throws IOException {
        return RowSample.read(in, k);
      }
    };
  }
}
