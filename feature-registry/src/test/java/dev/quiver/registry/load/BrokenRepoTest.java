package dev.quiver.registry.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.registry.Diagnostic;
import dev.quiver.registry.RegistryValidationException;
import dev.quiver.registry.TestRepos;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every file under {@code broken/} is a deliberately broken registry file whose header lists the
 * diagnostics it must produce, {@code # expect: LINE:COLUMN: message}. Each is loaded beside the
 * base fixture; the loader must report exactly those diagnostics, in that file, at those positions.
 */
class BrokenRepoTest {
  private static final Pattern EXPECT = Pattern.compile("# expect: (\\d+):(\\d+): (.*)");

  record Expected(int line, int column, String message) {}

  static Stream<String> brokenFiles() throws IOException, URISyntaxException {
    Path dir = Path.of(BrokenRepoTest.class.getResource("/broken").toURI());
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).sorted().toList().stream();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("brokenFiles")
  void brokenFileReportsItsMistakesAtTheirPositions(String name, @TempDir Path dir) {
    String text = TestRepos.resource("broken/" + name);
    List<Expected> expected = new ArrayList<>();
    for (String line : text.split("\n")) {
      Matcher m = EXPECT.matcher(line);
      if (m.matches()) {
        expected.add(
            new Expected(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), m.group(3)));
      }
    }
    assertThat(expected).as("expectations in " + name).isNotEmpty();
    TestRepos.base(dir);
    Path broken = TestRepos.write(dir, "broken.yaml", text);

    List<Diagnostic> diagnostics = diagnostics(dir);

    assertThat(diagnostics)
        .as("every diagnostic is in the broken file")
        .allSatisfy(d -> assertThat(d.file()).isEqualTo(broken.toString()));
    assertThat(diagnostics).as("diagnostics of " + name).hasSameSizeAs(expected);
    for (Expected e : expected) {
      assertThat(diagnostics)
          .as("diagnostics of %s contain %s", name, e)
          .anySatisfy(
              d -> {
                assertThat(d.line()).isEqualTo(e.line());
                assertThat(d.column()).isEqualTo(e.column());
                assertThat(d.message()).contains(e.message());
              });
    }
  }

  @Test
  void oneFileWithSeveralMistakesReportsThemAll(@TempDir Path dir) {
    TestRepos.base(dir);
    Path file =
        TestRepos.write(
            dir,
            "many.yaml",
            String.join(
                "\n",
                "feature_views:",
                "  v:",
                "    entities: [card, shop]",
                "    source: txns",
                "    ttl: forever",
                "    filter: amount > \"10\"",
                "    features:",
                "      a: {type: double, expr: amount}",
                "      b: {type: strin, expr: country}",
                "    aggregations:",
                "      c: {function: median, input: amount, window: 1h}",
                "feature_services:",
                "  s:",
                "    features: [v:a, v:zz]",
                "    colour: blue",
                ""));

    List<Diagnostic> diagnostics = diagnostics(dir);

    String f = file.toString();
    assertThat(diagnostics)
        .extracting(Diagnostic::toString)
        .satisfiesExactly(
            d -> assertThat(d).startsWith(f + ":3:22: feature view 'v' uses unknown entity 'shop'"),
            d -> assertThat(d).startsWith(f + ":5:10: invalid ttl 'forever'"),
            d ->
                assertThat(d)
                    .startsWith(
                        f
                            + ":6:20: invalid expression in filter of feature view 'v': found no"
                            + " matching overload for '_>_' applied to '(double, string)'"),
            d -> assertThat(d).startsWith(f + ":9:17: unknown type 'strin' for feature 'b'"),
            d ->
                assertThat(d)
                    .startsWith(
                        f + ":11:21: unknown aggregation function 'median'; expected one of:"),
            d ->
                assertThat(d)
                    .startsWith(
                        f
                            + ":14:21: feature service 's' references unknown feature 'zz' of view 'v'"),
            d ->
                assertThat(d).startsWith(f + ":15:5: unknown key 'colour' in feature service 's'"));
  }

  @Test
  void missingConfigFileIsReported(@TempDir Path dir) {
    TestRepos.write(dir, "features.yaml", "entities: {}\n");
    assertThat(diagnostics(dir))
        .singleElement()
        .satisfies(
            d -> {
              assertThat(d.file()).isEqualTo(dir.resolve("quiver.yaml").toString());
              assertThat(d.message()).contains("quiver.yaml is missing");
            });
  }

  @Test
  void validationExceptionMessageListsEveryDiagnostic(@TempDir Path dir) {
    TestRepos.base(dir);
    TestRepos.write(dir, "x.yaml", "feature_views:\n  v:\n    source: nope\n");
    assertThatThrownBy(() -> RepoLoader.load(dir))
        .isInstanceOf(RegistryValidationException.class)
        .hasMessageContaining("errors in the feature repo")
        .hasMessageContaining(
            dir.resolve("x.yaml") + ":3:13: feature view 'v' reads unknown source")
        .hasMessageContaining(
            dir.resolve("x.yaml") + ":2:3: feature view 'v' is missing required key 'entities'");
  }

  static List<Diagnostic> diagnostics(Path dir) {
    try {
      RepoLoader.load(dir);
    } catch (RegistryValidationException e) {
      return e.diagnostics();
    }
    throw new AssertionError("expected validation errors in " + dir);
  }
}
