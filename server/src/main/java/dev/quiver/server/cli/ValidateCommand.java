package dev.quiver.server.cli;

import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.FeatureRepo;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(
    name = "validate",
    mixinStandardHelpOptions = true,
    description = {
      "Check a feature repo and report every problem.",
      "Each problem is reported with its file:line:column. Exit 1 if there is any."
    })
final class ValidateCommand implements Callable<Integer> {
  @Mixin RepoOptions options;
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    FeatureRepo repo;
    try {
      repo = options.load(spec.commandLine().getErr());
    } catch (RepoOptions.ValidationFailed e) {
      return QuiverCommand.FAILED;
    }
    RegistrySnapshot d = repo.definition();
    spec.commandLine()
        .getOut()
        .printf(
            "%s: valid: project %s, %d entities, %d sources, %d feature views, %d feature services%n",
            options.repo,
            d.getProject().getName(),
            d.getEntitiesCount(),
            d.getSourcesCount(),
            d.getFeatureViewsCount(),
            d.getFeatureServicesCount());
    return 0;
  }
}
