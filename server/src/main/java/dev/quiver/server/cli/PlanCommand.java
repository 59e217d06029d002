package dev.quiver.server.cli;

import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.FeatureRepo;
import dev.quiver.registry.plan.Plan;
import dev.quiver.registry.plan.PlanPrinter;
import dev.quiver.registry.plan.Planner;
import dev.quiver.registry.store.RegistryStore;
import java.io.IOException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
    name = "plan",
    mixinStandardHelpOptions = true,
    description = {
      "Show what apply would change.",
      "Per object and field, each change is classified safe, BREAKING or removal. "
          + "Exit 0 when the plan can be applied, 1 when the repo is invalid or the plan "
          + "would be refused."
    })
final class PlanCommand implements Callable<Integer> {
  enum Format {
    human,
    json
  }

  @Mixin RepoOptions options;
  @Spec CommandSpec spec;

  @Option(
      names = {"-o", "--output"},
      paramLabel = "FORMAT",
      description = "human (default) or json.")
  Format output = Format.human;

  @Option(
      names = "--allow-removals",
      description = "Plan as apply --allow-removals would: removals do not refuse the plan.")
  boolean allowRemovals;

  @Override
  public Integer call() throws IOException {
    FeatureRepo repo;
    try {
      repo = options.load(spec.commandLine().getErr());
    } catch (RepoOptions.ValidationFailed e) {
      return QuiverCommand.FAILED;
    }
    RegistryStore store = options.store(repo);
    RegistrySnapshot applied = store.latest().orElse(RegistrySnapshot.getDefaultInstance());
    Plan plan = Planner.plan(applied, repo, allowRemovals);
    spec.commandLine()
        .getOut()
        .print(output == Format.json ? PlanPrinter.json(plan) : PlanPrinter.human(plan));
    return plan.canApply() ? 0 : QuiverCommand.FAILED;
  }
}
