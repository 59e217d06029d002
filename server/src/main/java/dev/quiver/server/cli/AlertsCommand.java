package dev.quiver.server.cli;

import dev.quiver.registry.FeatureRepo;
import dev.quiver.server.alerts.AlertRules;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code quiver alerts}: Prometheus alerting rules from a feature repo's registry. */
@Command(
    name = "alerts",
    mixinStandardHelpOptions = true,
    description = {
      "Write Prometheus alerting rules for a feature repo.",
      "Rules cover views over their freshness objective, ingestion falling behind, "
          + "dead letters and lookups that find nothing; each has the owner as a label and "
          + "says what to do. Check them with promtool check rules."
    })
final class AlertsCommand implements Callable<Integer> {
  @Mixin RepoOptions options;
  @Spec CommandSpec spec;

  @Option(
      names = "--out",
      paramLabel = "FILE",
      description = "Where to write the rules. Default: standard output.")
  Path out;

  @Option(
      names = "--tests",
      paramLabel = "FILE",
      description =
          "Also write promtool unit tests of the rules (promtool test rules FILE); needs --out.")
  Path tests;

  @Override
  public Integer call() throws IOException {
    FeatureRepo repo;
    try {
      repo = options.load(spec.commandLine().getErr());
    } catch (RepoOptions.ValidationFailed e) {
      return QuiverCommand.FAILED;
    }
    String rules = AlertRules.rules(repo.definition());
    if (out == null) {
      if (tests != null) {
        throw new picocli.CommandLine.ParameterException(
            spec.commandLine(), "--tests needs --out: the tests name the rules file");
      }
      spec.commandLine().getOut().print(rules);
      return 0;
    }
    Files.writeString(out, rules);
    if (tests != null) {
      Path relative = tests.toAbsolutePath().getParent().relativize(out.toAbsolutePath());
      Files.writeString(tests, AlertRules.tests(repo.definition(), relative.toString()));
    }
    return 0;
  }
}
