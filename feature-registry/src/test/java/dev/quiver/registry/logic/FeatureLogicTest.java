package dev.quiver.registry.logic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.quiver.registry.FeatureRepo;
import dev.quiver.registry.TestRepos;
import dev.quiver.registry.load.RepoLoader;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The compiled feature logic that later stages execute: values, nulls, filters and failures. */
class FeatureLogicTest {
  static CompiledView view;

  @BeforeAll
  static void load(@TempDir Path dir) throws Exception {
    TestRepos.base(dir);
    TestRepos.write(
        dir,
        "views.yaml",
        String.join(
            "\n",
            "sources:",
            "  all_types:",
            "    kafka: {topic: all}",
            "    event_timestamp: ts",
            "    schema: {card_id: string, b: bool, i: int32, l: int64, f: float, d: double,",
            "             s: string, raw: bytes, ts: timestamp, v: list<float>}",
            "feature_views:",
            "  v:",
            "    entities: [card]",
            "    source: all_types",
            "    filter: d > 0.0",
            "    ttl: 0",
            "    features:",
            "      same_bool: {type: bool, expr: b}",
            "      i_plus_one: {type: int32, expr: i + 1}",
            "      l_times_two: {type: int64, expr: l * 2}",
            "      f_as_float: {type: float, expr: f * 2.0}",
            "      ratio: {type: double, expr: d / double(l)}",
            "      upper: {type: string, expr: s + \"!\"}",
            "      raw_copy: {type: bytes, expr: raw}",
            "      event: {type: timestamp, expr: ts}",
            "      scaled: {type: list<float>, expr: 'v.map(x, x * 2.0)'}",
            "      size: {type: int64, expr: size(v)}",
            "      big: {type: int32, expr: l}",
            "      l_div: {type: int64, expr: 100 / l}",
            "    aggregations:",
            "      n: {function: count, window: 1h}",
            "      total: {function: sum, input: d, window: 1d}",
            ""));
    FeatureRepo repo = RepoLoader.load(dir);
    view = repo.logic().view("v", 1).orElseThrow();
  }

  static Map<String, Object> row() {
    Map<String, Object> row = new HashMap<>();
    row.put("card_id", "c1");
    row.put("b", true);
    row.put("i", 41);
    row.put("l", 21L);
    row.put("f", 1.5f);
    row.put("d", 42.0);
    row.put("s", "hi");
    row.put("raw", new byte[] {1, 2, 3});
    row.put("ts", Instant.parse("2026-01-02T03:04:05Z"));
    row.put("v", List.of(1.0f, 2.5f));
    return row;
  }

  static Object eval(String feature, Map<String, Object> row) throws ExpressionException {
    return view.features().stream()
        .filter(f -> f.spec().getName().equals(feature))
        .findFirst()
        .orElseThrow()
        .expression()
        .evaluate(row);
  }

  @Test
  void everyTypeComesBackInItsDeclaredJavaForm() throws Exception {
    Map<String, Object> row = row();
    assertThat(eval("same_bool", row)).isEqualTo(true);
    assertThat(eval("i_plus_one", row)).isEqualTo(42);
    assertThat(eval("l_times_two", row)).isEqualTo(42L);
    assertThat(eval("f_as_float", row)).isEqualTo(3.0f);
    assertThat(eval("ratio", row)).isEqualTo(2.0);
    assertThat(eval("upper", row)).isEqualTo("hi!");
    assertThat(eval("raw_copy", row)).isEqualTo(ByteString.copyFrom(new byte[] {1, 2, 3}));
    assertThat(eval("event", row)).isEqualTo(Instant.parse("2026-01-02T03:04:05Z"));
    assertThat(eval("scaled", row)).isEqualTo(List.of(2.0f, 5.0f));
    assertThat(eval("size", row)).isEqualTo(2L);
  }

  @Test
  void anExpressionReadingANullFieldYieldsNullWithoutEvaluating() throws Exception {
    Map<String, Object> row = row();
    row.put("l", null);
    // 100 / l would fail on a zero; on a null it is never evaluated.
    assertThat(eval("l_div", row)).isNull();
    assertThat(eval("ratio", row)).isNull();
    row.remove("s");
    assertThat(eval("upper", row)).isNull();
    assertThat(eval("same_bool", row)).isEqualTo(true);
  }

  @Test
  void filterReadingANullFieldExcludesTheRow() throws Exception {
    Map<String, Object> row = row();
    assertThat(view.accepts(row)).isTrue();
    row.put("d", -1.0);
    assertThat(view.accepts(row)).isFalse();
    row.put("d", null);
    assertThat(view.accepts(row)).isFalse();
  }

  @Test
  void evaluationFailuresAndOutOfRangeResultsAreReportedNotThrownAsRuntimeErrors() {
    Map<String, Object> row = row();
    row.put("l", 0L);
    assertThatThrownBy(() -> eval("l_div", row))
        .isInstanceOf(ExpressionException.class)
        .hasMessageContaining("expression '100 / l' failed")
        .hasMessageContaining("by zero");
    row.put("l", 5_000_000_000L);
    assertThatThrownBy(() -> eval("big", row))
        .isInstanceOf(ExpressionException.class)
        .hasMessageContaining("5000000000, out of range for int32");
  }

  @Test
  void aggregationsCarryTheirCompiledInputsAndResultTypes() throws Exception {
    assertThat(view.aggregations()).hasSize(2);
    CompiledView.CompiledAggregation count = view.aggregations().get(0);
    assertThat(count.input()).isNull();
    assertThat(count.spec().getHop().getSeconds()).isEqualTo(300);
    CompiledView.CompiledAggregation total = view.aggregations().get(1);
    assertThat(total.input().evaluate(row())).isEqualTo(42.0);
    assertThat(dev.quiver.registry.Types.format(total.spec().getType())).isEqualTo("double");
    assertThat(total.spec().getHop().getSeconds()).isEqualTo(3600);
  }

  @Test
  void ttlZeroMeansNoLimit() {
    assertThat(view.view().getTtl().getSeconds()).isZero();
    assertThat(view.view().hasTtl()).isTrue();
  }

  @Test
  void expressionsReportTheFieldsTheyRead() {
    CompiledExpression scaled =
        view.features().stream()
            .filter(f -> f.spec().getName().equals("scaled"))
            .findFirst()
            .orElseThrow()
            .expression();
    // The comprehension variable x is not a field.
    assertThat(scaled.variables()).containsExactly("v");
    assertThat(view.filter().variables()).containsExactly("d");
  }
}
