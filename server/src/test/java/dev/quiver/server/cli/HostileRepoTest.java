package dev.quiver.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code quiver validate} over generated repos that a careless or hostile author could write. For
 * each: the expected exit code, every error naming the file and a line and column, no stack trace,
 * no output line longer than {@link #MAX_LINE} characters, and an answer within {@link
 * #TIME_BOUND}.
 */
class HostileRepoTest {
  /** Longest output line accepted: a path, a message and two quoted values of 100 characters. */
  static final int MAX_LINE = 800;

  static final Duration TIME_BOUND = Duration.ofSeconds(20);

  static final String BASE =
      "entities:\n"
          + "  card:\n"
          + "    join_keys: {card_id: string}\n"
          + "sources:\n"
          + "  txns:\n"
          + "    kafka: {topic: txns}\n"
          + "    event_timestamp: ts\n"
          + "    schema: {card_id: string, amount: double, ts: timestamp, xs: list<int64>}\n";

  static final String TEN = "[1,2,3,4,5,6,7,8,9,10]";

  /**
   * One hostile repo: {@code quiver.yaml} plus one file, {@code hostile.yaml}.
   *
   * @param exit the expected exit code
   * @param expected a part of the expected message (for exit 1) or of the output (for exit 0)
   */
  record Case(String name, byte[] config, byte[] file, int exit, String expected) {
    @Override
    public String toString() {
      return name;
    }
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static Case invalid(String name, String file, String expected) {
    return new Case(name, utf8("project: p\n"), utf8(file), 1, expected);
  }

  static Case valid(String name, String file) {
    return new Case(name, utf8("project: p\n"), utf8(file), 0, "valid: project p");
  }

  static String view(String body) {
    return BASE
        + "feature_views:\n"
        + "  v:\n"
        + "    entities: [card]\n"
        + "    source: txns\n"
        + body;
  }

  static String nested(int levels, String range) {
    String body = "x0 > 0";
    for (int i = 0; i < levels; i++) {
      body = range + ".all(x" + i + ", " + body + ")";
    }
    return body;
  }

  static Stream<Case> cases() {
    Map<String, Case> c = new LinkedHashMap<>();
    String huge = "n".repeat(1_000_000);
    add(
        c,
        invalid(
            "huge source name",
            BASE + "  ? " + huge + "\n  : {join_keys: {k: string}}\n",
            "source name 'nnnn"));
    add(
        c,
        invalid(
            "huge feature name",
            view("    features:\n      ? " + huge + "\n      : {type: double, expr: amount}\n"),
            "feature name 'nnnn"));
    add(c, invalid("huge unknown key", BASE + "? " + huge + "\n: 1\n", "unknown key 'nnnn"));
    add(c, invalid("huge simple key", BASE + "  " + huge + ": {}\n", "invalid YAML"));
    add(
        c,
        valid(
            "15 MB description",
            BASE.replace(
                "    join_keys: {card_id: string}\n",
                "    join_keys: {card_id: string}\n    description: "
                    + "d".repeat(15 << 20)
                    + "\n")));
    add(c, invalid("17 MB file", "# " + "x".repeat(17 << 20) + "\n", "larger than 16 MiB"));
    add(
        c,
        invalid(
            "unterminated 10 MB quoted scalar",
            BASE + "  e: {description: \"" + "q".repeat(10 << 20) + "\n",
            "invalid YAML"));
    add(
        c,
        invalid(
            "deep flow nesting",
            "entities: " + "[".repeat(100_000) + "\n",
            "nested more than 50 deep"));
    StringBuilder block = new StringBuilder("entities:\n");
    for (int i = 0; i < 200; i++) {
      block.append(" ".repeat(i + 2)).append("k").append(i).append(":\n");
    }
    add(c, invalid("deep block nesting", block.toString(), "nested more than 50 deep"));
    StringBuilder bomb =
        new StringBuilder("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (int i = 1; i < 10; i++) {
      bomb.append("a").append(i).append(": &a").append(i).append(" [");
      bomb.append(("*a" + (i - 1) + ", ").repeat(8)).append("*a").append(i - 1).append("]\n");
    }
    add(c, invalid("billion laughs", bomb.toString(), "aliases of lists and mappings"));
    add(
        c,
        invalid("recursive alias", "entities: &a {card: *a}\n", "aliases of lists and mappings"));
    add(
        c,
        valid(
            "scalar alias",
            BASE.replace(
                "    join_keys: {card_id: string}\n",
                "    join_keys: {card_id: string}\n    description: &d A card.\n    owner: *d\n")));
    byte[] garbage = new byte[64 * 1024];
    new Random(7).nextBytes(garbage);
    add(
        c,
        new Case(
            "binary garbage", utf8("project: p\n"), garbage, 1, "not UTF-8 text (invalid byte 0x"));
    add(
        c,
        invalid("NUL bytes", BASE + "  e: {description: a\u0000b}\n", "control character U+0000"));
    add(
        c,
        new Case(
            "encoded surrogate",
            utf8("project: p\n"),
            new byte[] {'a', ':', ' ', (byte) 0xED, (byte) 0xA0, (byte) 0x80, '\n'},
            1,
            "not UTF-8 text (invalid byte 0xED"));
    add(
        c,
        invalid(
            "escaped lone surrogate",
            BASE.replace(
                "    join_keys: {card_id: string}\n",
                "    join_keys: {card_id: string}\n    description: \"card\\udc00\"\n"),
            "lone surrogate \\uDC00"));
    add(
        c,
        invalid(
            "entities a list",
            "entities: [card, merchant]\n",
            "expected a mapping for 'entities', found a list"));
    add(
        c,
        invalid(
            "join keys a scalar",
            "entities:\n  card: {join_keys: card_id}\n",
            "expected a mapping"));
    add(
        c,
        invalid(
            "features a list",
            view("    features: [a, b]\n"),
            "expected a mapping for 'features'"));
    add(
        c,
        invalid(
            "type a mapping",
            view("    features:\n      f: {type: {x: 1}, expr: amount}\n"),
            "expected a string for 'type', found a mapping"));
    add(
        c,
        invalid(
            "ttl a boolean",
            view("    ttl: true\n    features: {f: {type: double, expr: amount}}\n"),
            "expected a duration for 'ttl', found the boolean true"));
    add(
        c,
        invalid(
            "huge version",
            view(
                "    version: 99999999999999999999999999\n    features: {f: {type: double, expr: amount}}\n"),
            "is out of range"));
    add(
        c,
        invalid(
            "ttl of 99999999999999d",
            view("    ttl: 99999999999999d\n    features: {f: {type: double, expr: amount}}\n"),
            "ttl '99999999999999d' is out of range"));
    add(
        c,
        invalid(
            "window that overflows a long",
            view(
                "    aggregations:\n      n: {function: count, window: 99999999999999999999999999w}\n"),
            "is out of range"));
    add(
        c,
        invalid(
            "huge duration text",
            view(
                "    ttl: "
                    + "1d".repeat(500_000)
                    + "\n    features: {f: {type: double, expr: amount}}\n"),
            "invalid ttl '1d1d"));
    add(
        c,
        invalid(
            "six nested comprehensions",
            view("    features:\n      f: {type: bool, expr: '" + nested(6, TEN) + "'}\n"),
            "too costly: estimated cost"));
    add(
        c,
        invalid(
            "three nested comprehensions over a list field",
            view(
                "    filter: '"
                    + nested(3, "xs")
                    + "'\n    features: {f: {type: double, expr: amount}}\n"),
            "too costly"));
    add(
        c,
        invalid(
            "huge expression",
            view(
                "    features:\n      f: {type: double, expr: '"
                    + "amount + ".repeat(200_000)
                    + "amount'}\n"),
            "invalid expression"));
    add(
        c,
        invalid(
            "deeply parenthesised expression",
            view(
                "    features:\n      f: {type: double, expr: '"
                    + "(".repeat(5000)
                    + "amount"
                    + ")".repeat(5000)
                    + "'}\n"),
            "invalid expression"));
    StringBuilder many = new StringBuilder("    features:\n");
    for (int i = 0; i < 5_000; i++) {
      many.append("      f").append(i).append(": {type: double, expr: amount * ").append(i);
      many.append(".0}\n");
    }
    add(c, valid("five thousand features", view(many.toString())));
    StringBuilder services = new StringBuilder(view(many.toString()));
    services.append("feature_services:\n  s:\n    features: [v:nope]\n");
    add(c, invalid("unknown feature among thousands", services.toString(), "(5000 in all)"));
    StringBuilder dup = new StringBuilder("entities:\n");
    for (int i = 0; i < 5000; i++) {
      dup.append("  card: {join_keys: {card_id: string}}\n");
    }
    add(c, invalid("duplicated keys", dup.toString(), "duplicate key 'card' in 'entities'"));
    add(c, invalid("empty file", "", "file holds no YAML document"));
    add(c, invalid("comments only", "# nothing here\n", "file holds no YAML document"));
    add(
        c,
        invalid(
            "top-level list",
            "- entities\n",
            "expected a mapping for a registry file, found a list"));
    add(c, invalid("top-level scalar", "just text\n", "expected a mapping for a registry file"));
    add(c, invalid("tab indentation", "entities:\n\tcard: {}\n", "a tab where YAML expects"));
    add(
        c,
        invalid(
            "ten thousand documents",
            "---\nentities: {}\n".repeat(10_000),
            "expected one YAML document per file"));
    add(
        c,
        new Case(
            "byte order marks",
            utf8("\uFEFFproject: p\n"),
            utf8("\uFEFF" + BASE),
            0,
            "valid: project p, 1 entities, 1 sources"));
    add(
        c,
        new Case(
            "binary quiver.yaml",
            new byte[] {(byte) 0xC3, 0x28, 0, 0},
            utf8(BASE),
            1,
            "not UTF-8 text (invalid byte 0xC3"));
    return c.values().stream();
  }

  private static void add(Map<String, Case> cases, Case c) {
    assertThat(cases.put(c.name(), c)).as("case names are unique").isNull();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void validateAnswersClearlyAndQuickly(Case c, @TempDir Path dir) throws IOException {
    Files.write(dir.resolve("quiver.yaml"), c.config());
    Path file = dir.resolve("hostile.yaml");
    Files.write(file, c.file());

    long start = System.nanoTime();
    CliTest.Result r = CliTest.run("validate", dir.toString());
    Duration took = Duration.ofNanos(System.nanoTime() - start);

    String all = r.out() + r.err();
    String head = all.length() > 2000 ? all.substring(0, 2000) : all;
    assertThat(r.exit()).as(head).isEqualTo(c.exit());
    assertThat(took).as("time to validate").isLessThan(TIME_BOUND);
    assertThat(all).as("no stack trace").doesNotContain("\tat ").doesNotContain("Exception");
    assertThat(all.lines())
        .as("line lengths")
        .allSatisfy(l -> assertThat(l.length()).isLessThanOrEqualTo(MAX_LINE));
    assertThat(all).as(head).contains(c.expected());
    if (c.exit() == 1) {
      String[] lines = r.err().split("\n");
      assertThat(lines[lines.length - 1]).as(head).contains("in " + dir);
      for (int i = 0; i < lines.length - 1; i++) {
        assertThat(lines[i])
            .as("error located in a file of the repo")
            .matches(
                java.util.regex.Pattern.quote(dir.toString())
                    + "/(quiver|hostile)\\.yaml:\\d+:\\d+: .+");
      }
    }
  }
}
