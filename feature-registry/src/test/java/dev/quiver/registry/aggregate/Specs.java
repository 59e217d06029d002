package dev.quiver.registry.aggregate;

import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.AggregationFunction;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.Durations;
import dev.quiver.registry.Types;
import java.time.Duration;
import java.util.Map;

/** Aggregation specs for tests, typed the way the registry loader types them. */
final class Specs {
  static final long HOP_MILLIS = 10;

  private Specs() {}

  /**
   * An aggregation of {@code function} over an input of {@code inputType} (null: no input), with
   * parameters by key.
   */
  static Aggregation spec(
      AggregationFunction function, String inputType, Map<String, Double> parameters) {
    Aggregation.Builder a =
        Aggregation.newBuilder()
            .setName("a")
            .setFunction(function)
            .setWindow(Durations.toProto(Duration.ofMillis(100 * HOP_MILLIS)))
            .setHop(Durations.toProto(Duration.ofMillis(HOP_MILLIS)));
    ValueType in = inputType == null ? null : Types.parse(inputType).orElseThrow();
    if (in != null) {
      a.setInput("x").setInputType(in);
    }
    AggregateFunction f = AggregateFunctions.of(function);
    for (ParameterRule r : f.parameters()) {
      Double v = parameters.getOrDefault(r.parameter().key(), r.defaultValue());
      if (v != null) {
        r.parameter().set(a, v);
      }
    }
    a.setType(f.resultType(in).orElseThrow());
    return a.build();
  }

  static Aggregation spec(AggregationFunction function, String inputType) {
    return spec(function, inputType, Map.of());
  }
}
