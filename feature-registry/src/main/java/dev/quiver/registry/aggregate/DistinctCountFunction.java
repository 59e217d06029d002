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
import java.util.List;
import java.util.Optional;
import org.apache.datasketches.cpc.CpcSketch;
import org.apache.datasketches.cpc.CpcUnion;

/**
 * {@code approx_count_distinct}: int64, an estimate of the number of distinct non-null inputs, 0
 * over no rows; parameter {@code lg_k} (4–16, default 11: 2^11 slots, about 1.5% relative error).
 *
 * <p>The state is an Apache DataSketches CPC sketch. A CPC sketch's slots ("coupons") are a pure
 * function of the set of hashed values, and merging ORs them; what does depend on the order of
 * updates is its HIP estimator, which a sketch built by updates reports. So the result never comes
 * from an updated sketch: it always goes through a {@link CpcUnion}, whose result is flagged as
 * merged and reports the ICON estimator, a function of lg_k and the number of coupons only. Any
 * order and grouping thus give the same coupons, the same estimate and the same rounded count.
 *
 * <p>Values are hashed by their canonical bytes: the serialized {@link Value}, with {@code -0.0}
 * counted as {@code 0.0} and every NaN as one NaN.
 */
final class DistinctCountFunction implements AggregateFunction {
  static final ParameterRule LG_K = ParameterRule.optional(AggregateParameter.LG_K, 11, 4, 16);

  @Override
  public AggregationFunction id() {
    return AggregationFunction.AGGREGATION_FUNCTION_APPROX_COUNT_DISTINCT;
  }

  @Override
  public String accepts() {
    return "any scalar type";
  }

  @Override
  public Optional<ValueType> resultType(ValueType input) {
    return Kernels.isScalar(input)
        ? Optional.of(Types.of(ScalarType.SCALAR_TYPE_INT64))
        : Optional.empty();
  }

  @Override
  public List<ParameterRule> parameters() {
    return List.of(LG_K);
  }

  @Override
  public AggregateKernel<?> bind(Aggregation spec) {
    ValueType type = Kernels.inputType(this, spec);
    int lgK = LG_K.intValueIn(spec);
    return new AggregateKernel<CpcSketch>() {
      @Override
      public CpcSketch empty() {
        return new CpcSketch(lgK);
      }

      @Override
      public CpcSketch add(CpcSketch s, Object input, OrderKey order) {
        s.update(canonical(Values.toProto(input, type)).toByteArray());
        return s;
      }

      @Override
      public CpcSketch merge(CpcSketch into, CpcSketch from) {
        CpcUnion u = new CpcUnion(lgK);
        u.update(into);
        u.update(from);
        return u.getResult();
      }

      @Override
      public Value result(CpcSketch s, long count) {
        if (count == 0 || s.isEmpty()) {
          return Value.newBuilder().setInt64Value(0).build();
        }
        CpcUnion u = new CpcUnion(lgK);
        u.update(s);
        long estimate = Math.round(u.getResult().getEstimate());
        return Value.newBuilder().setInt64Value(estimate).build();
      }

      @Override
      public void write(CpcSketch s, CodedOutputStream out) throws IOException {
        out.writeByteArrayNoTag(s.toByteArray());
      }

      @Override
      public CpcSketch read(CodedInputStream in) throws IOException {
        CpcSketch s = CpcSketch.heapify(in.readByteArray());
        if (s.getLgK() != lgK) {
          throw new IllegalStateException(
              "a distinct-count state of lg_k " + s.getLgK() + " cannot be read as lg_k " + lgK);
        }
        return s;
      }
    };
  }

  /** Equal values get equal bytes: {@code -0.0} is {@code 0.0}, and every NaN is one NaN. */
  static Value canonical(Value v) {
    return switch (v.getKindCase()) {
      case DOUBLE_VALUE -> {
        double d = v.getDoubleValue();
        yield Double.isNaN(d)
            ? Value.newBuilder().setDoubleValue(Double.NaN).build()
            : d == 0 ? Value.newBuilder().setDoubleValue(0.0).build() : v;
      }
      case FLOAT_VALUE -> {
        float f = v.getFloatValue();
        yield Float.isNaN(f)
            ? Value.newBuilder().setFloatValue(Float.NaN).build()
            : f == 0 ? Value.newBuilder().setFloatValue(0.0f).build() : v;
      }
      default -> v;
    };
  }
}
