package dev.quiver.registry.logic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.Diagnostic;
import dev.quiver.registry.FeatureRepo;
import dev.quiver.registry.RegistryValidationException;
import dev.quiver.registry.TestRepos;
import dev.quiver.registry.load.RepoLoader;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The static cost limit of validate and the iteration budget of every evaluation. */
class ExpressionCostTest {
  private static final ExpressionCompiler COMPILER =
      new ExpressionCompiler(
          List.of(
              Field.newBuilder()
                  .setName("xs")
                  .setType(ValueType.newBuilder().setListOf(ScalarType.SCALAR_TYPE_INT64))
                  .build(),
              Field.newBuilder()
                  .setName("s")
                  .setType(ValueType.newBuilder().setScalar(ScalarType.SCALAR_TYPE_STRING))
                  .build()));

  private static final String TEN = "[1,2,3,4,5,6,7,8,9,10]";

  /** {@code levels} nested {@code all} over {@code range}, the innermost testing {@code x0 > 0}. */
  static String nested(int levels, String range) {
    String body = "x0 > 0";
    for (int i = 0; i < levels; i++) {
      body = range + ".all(x" + i + ", " + body + ")";
    }
    return body;
  }

  static long cost(String expr) {
    ExpressionCompiler.Result r = COMPILER.compile(expr);
    assertThat(r.issues()).as(expr).isEmpty();
    return r.cost();
  }

  @Test
  void nestedComprehensionsMultiply() {
    long one = cost(nested(1, TEN));
    long two = cost(nested(2, TEN));
    long three = cost(nested(3, TEN));

    assertThat(two).isGreaterThan(9 * one);
    assertThat(three).isGreaterThan(9 * two);
    assertThat(cost(nested(6, TEN))).isGreaterThan(1_000_000);
  }

  @Test
  void aListFieldCountsAsItsAssumedSizeAndStringsByTheirLength() {
    long overField = cost("xs.all(x, x > 0)");
    long overTwo = cost("[1, 2].all(x, x > 0)");

    assertThat(overField).isGreaterThan(ExpressionCost.ASSUMED_LIST_SIZE);
    assertThat(overTwo).isLessThan(50);
    assertThat(cost("s.contains('" + "a".repeat(10_000) + "')"))
        .isGreaterThan(10_000 / ExpressionCost.CHARS_PER_STEP);
    assertThat(cost("s.contains('a')")).isLessThan(50);
  }

  @Test
  void anExpressionOverTheLimitIsRefusedAtItsPlaceWithItsCostAndTheLimit(@TempDir Path dir) {
    TestRepos.base(dir);
    Path file =
        TestRepos.write(
            dir,
            "v.yaml",
            "feature_views:\n"
                + "  v:\n"
                + "    entities: [card]\n"
                + "    source: txns\n"
                + "    features:\n"
                + "      ok: {type: bool, expr: 'labels.all(l, l != \"x\")'}\n"
                + "      slow: {type: bool, expr: '"
                + nested(6, TEN)
                + "'}\n"
                + "    filter: '"
                + nested(5, TEN)
                + "'\n"
                + "    aggregations:\n"
                + "      c: {function: sum, input: '"
                + nested(2, "labels").replace("x0 > 0", "size(x0) > 0")
                + " ? 1 : 0', window: 1h}\n");

    List<Diagnostic> d;
    try {
      RepoLoader.load(dir);
      throw new AssertionError("loaded");
    } catch (RegistryValidationException e) {
      d = e.diagnostics();
    }

    assertThat(d).as(d.toString()).extracting(Diagnostic::file).containsOnly(file.toString());
    assertThat(d).extracting(x -> x.line() + ":" + x.column()).containsExactly("7:33", "8:14");
    assertThat(d.get(0).message())
        .startsWith(
            "expression of feature 'slow' of feature view 'v' is too costly: estimated cost ")
        .contains("exceeds the limit of 100,000");
    assertThat(d.get(1).message()).startsWith("expression of filter of feature view 'v' is too");
  }

  @Test
  void theExampleRepoIsWellUnderTheLimit() throws Exception {
    FeatureRepo repo = RepoLoader.load(TestRepos.checkoutRoot().resolve("examples/payments"));
    assertThat(repo.definition().getFeatureViewsCount()).isPositive();
  }

  /**
   * A list field far larger than assumed: two nested comprehensions pass validate, but over 3,000
   * elements they would run 9 million iterations; the budget stops the evaluation at 100,000.
   */
  @Test
  void anEvaluationPastTheIterationBudgetFailsQuickly(@TempDir Path dir) throws Exception {
    TestRepos.base(dir);
    TestRepos.write(
        dir,
        "v.yaml",
        "sources:\n"
            + "  lists:\n"
            + "    kafka: {topic: lists}\n"
            + "    event_timestamp: ts\n"
            + "    schema: {card_id: string, ts: timestamp, xs: list<int64>}\n"
            + "feature_views:\n"
            + "  v:\n"
            + "    entities: [card]\n"
            + "    source: lists\n"
            + "    features:\n"
            + "      slow: {type: bool, expr: 'xs.all(a, xs.all(b, a + b >= 0))'}\n"
            + "      fine: {type: int64, expr: 'size(xs.filter(a, a > 10))'}\n");
    CompiledView view = RepoLoader.load(dir).logic().view("v", 1).orElseThrow();
    Map<String, Object> row = new HashMap<>();
    row.put("card_id", "c");
    row.put("ts", Instant.parse("2026-01-01T00:00:00Z"));
    row.put("xs", new ArrayList<>(LongStream.range(0, 3000).boxed().toList()));
    CompiledExpression slow = view.features().get(0).expression();
    CompiledExpression fine = view.features().get(1).expression();

    long start = System.nanoTime();
    withoutTimeBudget(
        () ->
            assertThatThrownBy(() -> slow.evaluate(row))
                .isInstanceOf(ExpressionException.class)
                .hasMessageContaining("ran past 100,000 comprehension iterations"));
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(30));

    assertThat(fine.evaluate(row)).isEqualTo(2989L);
  }

  private static CompiledView listView(Path dir, String... features) throws Exception {
    TestRepos.base(dir);
    StringBuilder yaml =
        new StringBuilder(
            "sources:\n"
                + "  lists:\n"
                + "    kafka: {topic: lists}\n"
                + "    event_timestamp: ts\n"
                + "    schema: {card_id: string, ts: timestamp, xs: list<int64>, s: string}\n"
                + "feature_views:\n"
                + "  v:\n"
                + "    entities: [card]\n"
                + "    source: lists\n"
                + "    features:\n");
    for (int i = 0; i < features.length; i++) {
      yaml.append("      f").append(i).append(": ").append(features[i]).append('\n');
    }
    TestRepos.write(dir, "v.yaml", yaml.toString());
    return RepoLoader.load(dir).logic().view("v", 1).orElseThrow();
  }

  private static Map<String, Object> listRow(int size, String s) {
    Map<String, Object> row = new HashMap<>();
    row.put("card_id", "c");
    row.put("ts", Instant.parse("2026-01-01T00:00:00Z"));
    row.put("xs", new ArrayList<>(LongStream.range(0, size).boxed().toList()));
    row.put("s", s);
    return row;
  }

  /** 60,000 iterations are within the iteration budget, but 45 steps each are not. */
  @Test
  void anEvaluationPastTheStepBudgetFailsQuickly(@TempDir Path dir) throws Exception {
    String sum = "a" + " + a".repeat(20);
    CompiledView view = listView(dir, "{type: bool, expr: 'xs.all(a, " + sum + " >= 0)'}");
    CompiledExpression e = view.features().get(0).expression();

    assertThat(e.evaluate(listRow(1_000, ""))).isEqualTo(true);
    long start = System.nanoTime();
    withoutTimeBudget(
        () ->
            assertThatThrownBy(() -> e.evaluate(listRow(60_000, "")))
                .isInstanceOf(ExpressionException.class)
                .hasMessageContaining("failed: it took more than 1,000,000 steps"));
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(30));
  }

  /**
   * Few steps, each over a string of 8 MB: counting steps cannot see it, the time budget stops it.
   * Unbounded, 3,000 concatenations of 16 MB would take many seconds.
   */
  @Test
  void anEvaluationPastTheTimeBudgetFailsWithinSeconds(@TempDir Path dir) throws Exception {
    CompiledView view = listView(dir, "{type: bool, expr: 'xs.all(a, size(s + s) > 0)'}");
    CompiledExpression e = view.features().get(0).expression();
    String eight = "m".repeat(8 << 20);

    assertThat(e.evaluate(listRow(3, eight))).isEqualTo(true);
    long start = System.nanoTime();
    assertThatThrownBy(() -> e.evaluate(listRow(3_000, eight)))
        .isInstanceOf(ExpressionException.class)
        .hasMessageContaining("failed: it ran longer than 1000 ms");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
  }

  /**
   * Runs {@code check} with the time budget out of the way, so the step or iteration budget it
   * tests is what stops the evaluation however slow the machine is at the moment.
   */
  private static void withoutTimeBudget(Runnable check) {
    long before = CompiledExpression.maxTimeNanos;
    CompiledExpression.maxTimeNanos = Duration.ofMinutes(5).toNanos();
    try {
      check.run();
    } finally {
      CompiledExpression.maxTimeNanos = before;
    }
  }
}
