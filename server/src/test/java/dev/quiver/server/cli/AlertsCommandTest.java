package dev.quiver.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code quiver alerts} against Prometheus' own tool: the rules it writes for the example repo pass
 * {@code promtool check rules}, the unit tests it writes pass {@code promtool test rules}, and
 * those tests fail when an alert would not fire as they expect (so they test something). promtool
 * comes with Debian's {@code prometheus} package, which {@code .ci/run} installs.
 */
class AlertsCommandTest {
  @TempDir Path dir;

  record Run(int exit, String output) {}

  static Run promtool(Path workDir, String... args) throws IOException, InterruptedException {
    List<String> command = new java.util.ArrayList<>(List.of("promtool"));
    command.addAll(List.of(args));
    Process p =
        new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return new Run(p.exitValue(), out);
  }

  @Test
  void rulesForTheExampleRepoPassPromtoolAndTheirTestsCanFail() throws Exception {
    Path repo = CliTest.checkoutRoot().resolve("examples/payments");
    Path rules = dir.resolve("rules.yml");
    Path tests = dir.resolve("rules_test.yml");
    CliTest.Result r =
        CliTest.run(
            "alerts", repo.toString(), "--out", rules.toString(), "--tests", tests.toString());
    assertThat(r.exit()).as(r.err()).isZero();

    String text = Files.readString(rules);
    // One freshness rule per view with an objective, with its owner and threshold in seconds.
    assertThat(text)
        .contains("quiver_view_freshness_seconds{view=\\\"card_activity\\\"} > 600")
        .contains("quiver_view_freshness_seconds{view=\\\"merchant_activity\\\"} > 1800")
        .contains("owner: \"risk-team@example.com\"")
        .contains("alert: QuiverDeadLetters")
        .contains("alert: QuiverIngestionFallingBehind")
        .contains("alert: QuiverViewNotFound");

    Run check = promtool(dir, "check", "rules", rules.toString());
    assertThat(check.exit()).as(check.output()).isZero();
    assertThat(check.output()).contains("SUCCESS");
    Run test = promtool(dir, "test", "rules", tests.getFileName().toString());
    assertThat(test.exit()).as(test.output()).isZero();

    // The same tests, asking for a stale view's alert a minute after it went stale (it is still
    // pending, by its for: 1m), must fail.
    Path early = dir.resolve("early_test.yml");
    Files.writeString(early, Files.readString(tests).replace("eval_time: 14m", "eval_time: 11m"));
    Run failing = promtool(dir, "test", "rules", early.getFileName().toString());
    assertThat(failing.exit()).as(failing.output()).isNotZero();
    assertThat(failing.output()).contains("QuiverViewStale");
  }

  @Test
  void testsNeedTheRulesFile() {
    CliTest.Result r =
        CliTest.run(
            "alerts",
            CliTest.checkoutRoot().resolve("examples/payments").toString(),
            "--tests",
            dir.resolve("t.yml").toString());
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("--tests needs --out");
  }
}
