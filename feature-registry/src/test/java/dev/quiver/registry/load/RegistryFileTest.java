package dev.quiver.registry.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.registry.Diagnostic;
import dev.quiver.registry.FeatureRepo;
import dev.quiver.registry.RegistryValidationException;
import dev.quiver.registry.TestRepos;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Registry files that are large, not text, or not the shape of a registry file. */
class RegistryFileTest {
  @TempDir Path dir;

  private static final String ENTITY = "entities:\n  card:\n    join_keys: {card_id: string}\n";

  private List<Diagnostic> diagnostics() {
    try {
      RepoLoader.load(dir);
    } catch (RegistryValidationException e) {
      return e.diagnostics();
    }
    throw new AssertionError("the repo loaded without errors");
  }

  private Diagnostic only(Path file) {
    List<Diagnostic> d = diagnostics();
    assertThat(d).hasSize(1);
    assertThat(d.get(0).file()).isEqualTo(file.toString());
    return d.get(0);
  }

  private Path bytes(String name, byte[] content) throws IOException {
    Path p = dir.resolve(name);
    Files.write(p, content);
    return p;
  }

  /** Before the text was read whole, an 8 MB scalar took 17 s and this one over a minute. */
  @Test
  void aLongScalarIsReadInLinearTime() {
    TestRepos.write(dir, "quiver.yaml", "project: p\n");
    StringBuilder text = new StringBuilder(ENTITY).append("    description: ");
    text.append("abcdefghij".repeat(15 * 1024 * 1024 / 10)).append('\n');
    TestRepos.write(dir, "e.yaml", text.toString());

    long start = System.nanoTime();
    FeatureRepo repo = load();
    Duration took = Duration.ofNanos(System.nanoTime() - start);

    assertThat(repo.definition().getEntities(0).getMetadata().getDescription())
        .hasSize(15 * 1024 * 1024 / 10 * 10);
    assertThat(took).isLessThan(Duration.ofSeconds(20));
  }

  @Test
  void aFileWithTensOfThousandsOfEntriesIsReadQuickly() {
    TestRepos.write(dir, "quiver.yaml", "project: p\n");
    StringBuilder text = new StringBuilder("entities:\n");
    for (int i = 0; i < 30_000; i++) {
      text.append("  e").append(i).append(": {join_keys: {k: string}, description: entity}\n");
    }
    TestRepos.write(dir, "e.yaml", text.toString());

    long start = System.nanoTime();
    FeatureRepo repo = load();

    assertThat(repo.definition().getEntitiesCount()).isEqualTo(30_000);
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(20));
  }

  @Test
  void aFileLargerThanTheLimitIsRefusedWithTheLimit() throws IOException {
    TestRepos.write(dir, "quiver.yaml", "project: p\n");
    byte[] big = new byte[RegistryText.MAX_BYTES + 1];
    java.util.Arrays.fill(big, (byte) 'a');
    Path file = bytes("big.yaml", big);

    Diagnostic d = only(file);

    assertThat(d.line()).isEqualTo(1);
    assertThat(d.message()).contains("larger than 16 MiB");
  }

  @Test
  void binaryIsNotUtf8Text() throws IOException {
    TestRepos.write(dir, "quiver.yaml", "project: p\n");
    Path file = bytes("bin.yaml", new byte[] {'a', ':', '\n', ' ', 'b', (byte) 0xFF, 0, 1});

    Diagnostic d = only(file);

    assertThat(d.toString())
        .isEqualTo(
            file
                + ":2:3: not UTF-8 text (invalid byte 0xFF at byte offset 5); registry files are"
                + " UTF-8");
  }

  @Test
  void aNulByteIsLocated() throws IOException {
    TestRepos.write(dir, "quiver.yaml", "project: p\n");
    Path file = bytes("nul.yaml", "a: b\nc: d\u0000e\n".getBytes(StandardCharsets.UTF_8));

    assertThat(only(file).toString())
        .isEqualTo(
            file
                + ":2:5: control character U+0000 is not allowed in a registry file (binary"
                + " data?)");
  }

  @Test
  void aByteOrderMarkIsAccepted() throws IOException {
    bytes("quiver.yaml", "\uFEFFproject: p\n".getBytes(StandardCharsets.UTF_8));
    bytes("e.yaml", ("\uFEFF" + ENTITY).getBytes(StandardCharsets.UTF_8));

    FeatureRepo repo = load();

    assertThat(repo.definition().getProject().getName()).isEqualTo("p");
    assertThat(repo.definition().getEntities(0).getName()).isEqualTo("card");
  }

  @Test
  void anEmptyFileIsReported() throws IOException {
    TestRepos.write(dir, "quiver.yaml", "project: p\n");
    Path file = bytes("empty.yaml", new byte[0]);

    assertThat(only(file).toString())
        .startsWith(file + ":1:1: file holds no YAML document; expected a mapping");
  }

  @Test
  void aListOrAScalarIsNotARegistryFile() {
    TestRepos.write(dir, "quiver.yaml", "project: p\n");
    Path list = TestRepos.write(dir, "a.yaml", "- entities\n- sources\n");
    Path scalar = TestRepos.write(dir, "b.yaml", "hello\n");

    assertThat(diagnostics())
        .extracting(Diagnostic::toString)
        .containsExactly(
            list + ":1:1: expected a mapping for a registry file, found a list",
            scalar + ":1:1: expected a mapping for a registry file, found 'hello'");
  }

  @Test
  void aTabIndentIsLocated() {
    TestRepos.write(dir, "quiver.yaml", "project: p\n");
    Path file = TestRepos.write(dir, "t.yaml", "entities:\n\tcard: {}\n");

    assertThat(only(file).toString())
        .isEqualTo(
            file
                + ":2:1: invalid YAML: a tab where YAML expects indentation or a value; use spaces");
  }

  @Test
  void aliasesOfCollectionsAreRefusedWhereTheyAre() {
    TestRepos.write(dir, "quiver.yaml", "project: p\n");
    StringBuilder bomb = new StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 10; i++) {
      bomb.append("a").append(i).append(": &a").append(i).append(" [");
      bomb.append(("*a" + (i - 1) + ", ").repeat(9)).append("*a").append(i - 1).append("]\n");
    }
    Path file = TestRepos.write(dir, "bomb.yaml", bomb.toString());

    Diagnostic d = only(file);

    assertThat(d.line()).isEqualTo(2);
    assertThat(d.column()).isEqualTo(10);
    assertThat(d.message()).contains("aliases of lists and mappings (*name) are not allowed");
  }

  @Test
  void deepNestingIsRefused() {
    TestRepos.write(dir, "quiver.yaml", "project: p\n");
    Path file =
        TestRepos.write(
            dir, "deep.yaml", "entities: " + "[".repeat(5000) + "]".repeat(5000) + "\n");

    Diagnostic d = only(file);

    assertThat(d.line()).isEqualTo(1);
    assertThat(d.message()).contains("nested more than 50 deep");
  }

  @Test
  void aDurationBeyondTheAcceptedRangeIsOutOfRange() {
    TestRepos.base(dir);
    Path file =
        TestRepos.write(
            dir,
            "v.yaml",
            "feature_views:\n"
                + "  v:\n"
                + "    entities: [card]\n"
                + "    source: txns\n"
                + "    ttl: 99999999999999d\n"
                + "    features: {f: {type: double, expr: amount}}\n"
                + "    aggregations:\n"
                + "      c: {function: count, window: 999999999999999999999999w}\n");

    assertThat(diagnostics())
        .extracting(Diagnostic::toString)
        .containsExactly(
            file
                + ":5:10: ttl '99999999999999d' is out of range: expected at most 213301d, the"
                + " span of accepted times (from 1678-01-01T00:00:00Z to before"
                + " 2262-01-01T00:00:00Z)",
            file
                + ":8:36: window '999999999999999999999999w' of aggregation 'c' of feature view"
                + " 'v' is out of range: expected at most 213301d, the span of accepted times"
                + " (from 1678-01-01T00:00:00Z to before 2262-01-01T00:00:00Z)");
  }

  private FeatureRepo load() {
    try {
      return RepoLoader.load(dir);
    } catch (RegistryValidationException e) {
      throw new AssertionError(e.diagnostics().toString());
    }
  }

  @Test
  void aMissingRepoIsStillReportedAsSuch() {
    assertThatThrownBy(() -> RepoLoader.load(dir.resolve("nowhere")))
        .isInstanceOf(RegistryValidationException.class)
        .hasMessageContaining("not a feature repo");
  }
}
