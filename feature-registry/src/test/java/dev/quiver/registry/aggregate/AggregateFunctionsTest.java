package dev.quiver.registry.aggregate;

import static dev.quiver.proto.v1.AggregationFunction.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.proto.JavaValues;
import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.AggregationFunction;
import dev.quiver.proto.v1.Value;
import dev.quiver.registry.Types;
import dev.quiver.registry.logic.Aggregations;
import dev.quiver.registry.rows.Values;
import dev.quiver.registry.semantics.OrderKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The registry of functions is complete, and each function does what docs/registry.md says. */
class AggregateFunctionsTest {
  @Test
  void everyEnumValueHasARegisteredFunction() {
    List<AggregationFunction> missing = new ArrayList<>();
    for (AggregationFunction f : AggregationFunction.values()) {
      if (f != AGGREGATION_FUNCTION_UNSPECIFIED
          && f != AggregationFunction.UNRECOGNIZED
          && !AggregateFunctions.isRegistered(f)) {
        missing.add(f);
      }
    }
    assertThat(missing).as("functions in registry.proto with no AggregateFunction").isEmpty();
    assertThat(AggregateFunctions.all()).allSatisfy(f -> assertThat(f.id()).isNotNull());
    assertThat(Aggregations.names()).hasSize(AggregationFunction.values().length - 2);
  }

  @Test
  void lookingUpAnUnregisteredFunctionThrows() {
    assertThatThrownBy(() -> AggregateFunctions.of(AGGREGATION_FUNCTION_UNSPECIFIED))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no aggregate function is registered for");
    assertThatThrownBy(() -> AggregateFunctions.of(AggregationFunction.UNRECOGNIZED))
        .isInstanceOf(IllegalArgumentException.class);
    Aggregation unspecified =
        Specs.spec(AGGREGATION_FUNCTION_COUNT, null).toBuilder()
            .setFunction(AGGREGATION_FUNCTION_UNSPECIFIED)
            .build();
    assertThatThrownBy(() -> new Aggregator(unspecified))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aSpecWithParametersOutOfRangeOrMissingIsRefused() {
    Aggregation lastK = Specs.spec(AGGREGATION_FUNCTION_LAST_K, "int64", Map.of("k", 3.0));
    assertThatThrownBy(() -> new Aggregator(lastK.toBuilder().clearK().build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("does not set parameter k");
    assertThatThrownBy(() -> new Aggregator(lastK.toBuilder().setK(0).build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("expected an integer from 1 to 1000");
    Aggregation sumOfStrings =
        Specs.spec(AGGREGATION_FUNCTION_SUM, "int64").toBuilder()
            .setInputType(Types.parse("string").orElseThrow())
            .build();
    assertThatThrownBy(() -> new Aggregator(sumOfStrings))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("expected a number");
  }

  static Object run(Aggregation spec, Object... inputs) {
    Aggregator a = new Aggregator(spec);
    AggregateState s = a.empty();
    for (int i = 0; i < inputs.length; i++) {
      a.add(s, inputs[i], new OrderKey(i, OrderKey.NO_CREATED_TIME, 0, i));
    }
    return JavaValues.toJava(a.result(AggregateState.decode(s.encode())));
  }

  @Test
  void overNoRowsCountsAreZeroAndEverythingElseIsNull() {
    for (AggregateDeterminismTest.Case c : AggregateDeterminismTest.cases()) {
      Aggregator a = new Aggregator(c.spec());
      Value none = a.result(a.empty());
      AggregationFunction f = c.spec().getFunction();
      if (f == AGGREGATION_FUNCTION_COUNT || f == AGGREGATION_FUNCTION_APPROX_COUNT_DISTINCT) {
        assertThat(none.getInt64Value()).as(c.name()).isZero();
      } else {
        assertThat(none).as(c.name()).isEqualTo(Values.nullValue());
      }
    }
  }

  @Test
  void firstAndLastAreTheOldestAndNewestRowsValues() {
    assertThat(run(Specs.spec(AGGREGATION_FUNCTION_FIRST, "string"), "a", null, "b", "c"))
        .isEqualTo("a");
    assertThat(run(Specs.spec(AGGREGATION_FUNCTION_LAST, "string"), "a", "b", "c", null))
        .isEqualTo("c");
  }

  @Test
  void lastKIsNewestFirstAndFirstKOldestFirst() {
    Aggregation lastK = Specs.spec(AGGREGATION_FUNCTION_LAST_K, "int64", Map.of("k", 3.0));
    Aggregation firstK = Specs.spec(AGGREGATION_FUNCTION_FIRST_K, "int64", Map.of("k", 3.0));
    assertThat(lastK.getType()).isEqualTo(Types.parse("list<int64>").orElseThrow());
    assertThat(run(lastK, 1L, 2L, null, 3L, 4L, 5L)).isEqualTo(List.of(5L, 4L, 3L));
    assertThat(run(firstK, 1L, 2L, null, 3L, 4L, 5L)).isEqualTo(List.of(1L, 2L, 3L));
    assertThat(run(lastK, 7L)).isEqualTo(List.of(7L));
  }

  @Test
  void topKIsMostFrequentFirstWithTiesByValue() {
    Aggregation topK = Specs.spec(AGGREGATION_FUNCTION_TOP_K, "string", Map.of("k", 2.0));
    assertThat(run(topK, "b", "a", "c", "c", "b", null, "a", "c", "d"))
        .isEqualTo(List.of("c", "a"));
  }

  @Test
  void approxPercentileIsExactWhileTheRowsFitTheSample() {
    Aggregation median =
        Specs.spec(AGGREGATION_FUNCTION_APPROX_PERCENTILE, "double", Map.of("percentile", 0.5));
    assertThat(run(median, 5.0, 1.0, null, 4.0, 2.0, 3.0)).isEqualTo(3.0);
    Aggregation max =
        Specs.spec(AGGREGATION_FUNCTION_APPROX_PERCENTILE, "int64", Map.of("percentile", 1.0));
    assertThat(run(max, 5L, Long.MAX_VALUE, 4L)).isEqualTo(Long.MAX_VALUE);
    Aggregation min =
        Specs.spec(AGGREGATION_FUNCTION_APPROX_PERCENTILE, "int64", Map.of("percentile", 0.0));
    assertThat(run(min, 5L, Long.MIN_VALUE, 4L)).isEqualTo(Long.MIN_VALUE);
  }

  @Test
  void approxPercentileOfManyRowsIsNearTheTrueOne() {
    Aggregation p90 =
        Specs.spec(
            AGGREGATION_FUNCTION_APPROX_PERCENTILE,
            "int64",
            Map.of("percentile", 0.9, "k", 1024.0));
    Object[] xs = new Object[100_000];
    for (int i = 0; i < xs.length; i++) {
      xs[i] = (long) ((i * 7919L) % xs.length);
    }
    long q = (Long) run(p90, xs);
    // A sample of 1024 rows: the rank error's standard deviation is about 0.94%.
    assertThat(q).isBetween(86_000L, 94_000L);
  }

  @Test
  void approxCountDistinctIsCloseAndCountsEqualValuesOnce() {
    Aggregation distinct = Specs.spec(AGGREGATION_FUNCTION_APPROX_COUNT_DISTINCT, "double");
    assertThat(distinct.getLgK()).isEqualTo(11);
    assertThat(run(distinct, 1.0, 1.0, 0.0, -0.0, Double.NaN, -Double.NaN, null)).isEqualTo(3L);
    Object[] xs = new Object[50_000];
    for (int i = 0; i < xs.length; i++) {
      xs[i] = (double) (i % 20_000);
    }
    long n = (Long) run(distinct, xs);
    assertThat(n).isBetween(19_000L, 21_000L);
  }

  @Test
  void theStateFormatIsThreeAndAnotherFunctionsStateIsRefused() {
    Aggregator sum = new Aggregator(Specs.spec(AGGREGATION_FUNCTION_SUM, "double"));
    Aggregator max = new Aggregator(Specs.spec(AGGREGATION_FUNCTION_MAX, "double"));
    AggregateState s = sum.empty();
    sum.add(s, 1.5, new OrderKey(1, OrderKey.NO_CREATED_TIME, 0, 0));
    byte[] stored = s.encode();
    assertThat(stored[0]).isEqualTo((byte) 3);
    assertThat(AggregateState.decode(stored).count()).isEqualTo(1);
    assertThatThrownBy(() -> max.result(AggregateState.decode(stored)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("cannot be read as AGGREGATION_FUNCTION_MAX");
    byte[] old = Arrays.copyOf(stored, stored.length);
    old[0] = 2;
    assertThatThrownBy(() -> AggregateState.decode(old))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("format 2, not 3");
  }
}
