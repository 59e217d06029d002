package dev.quiver.server.cli;

import com.google.protobuf.Timestamp;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.FeatureRepo;
import dev.quiver.registry.plan.Plan;
import dev.quiver.registry.plan.PlanPrinter;
import dev.quiver.registry.plan.Planner;
import dev.quiver.registry.store.RegistryConflictException;
import dev.quiver.registry.store.RegistryStore;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
    name = "apply",
    mixinStandardHelpOptions = true,
    description = {
      "Apply the repo as a new registry version.",
      "Breaking changes need a raised view version; removals need --allow-removals. "
          + "With --base-version, the apply fails with a conflict if anyone applied since "
          + "the plan you reviewed."
    })
final class ApplyCommand implements Callable<Integer> {
  @Mixin RepoOptions options;
  @Spec CommandSpec spec;

  @Option(names = "--allow-removals", description = "Apply removals shown in the plan.")
  boolean allowRemovals;

  @Option(
      names = "--base-version",
      paramLabel = "N",
      description = "The registry version the reviewed plan was made against (0: empty registry).")
  Long baseVersion;

  @Option(
      names = "--applied-by",
      paramLabel = "NAME",
      description = "Recorded with the version. Default: the user name.")
  String appliedBy = System.getProperty("user.name", "unknown");

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    FeatureRepo repo;
    try {
      repo = options.load(err);
    } catch (RepoOptions.ValidationFailed e) {
      return QuiverCommand.FAILED;
    }
    RegistryStore store = options.store(repo);
    RegistrySnapshot applied = store.latest().orElse(RegistrySnapshot.getDefaultInstance());
    if (baseVersion != null && baseVersion != applied.getVersion()) {
      err.println(
          "error: "
              + new RegistryConflictException(baseVersion, applied.getVersion()).getMessage());
      return QuiverCommand.FAILED;
    }
    Plan plan = Planner.plan(applied, repo, allowRemovals);
    out.print(PlanPrinter.human(plan));
    if (!plan.canApply()) {
      err.println("Nothing was applied.");
      return QuiverCommand.FAILED;
    }
    if (plan.isEmpty()) {
      out.println("Nothing to apply; the registry stays at version " + applied.getVersion() + ".");
      return 0;
    }
    Instant now = Instant.now();
    RegistrySnapshot next =
        plan.next().toBuilder()
            .setAppliedAt(
                Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()))
            .setAppliedBy(appliedBy)
            .setSummary(plan.summary())
            .build();
    try {
      RegistrySnapshot stored = store.apply(plan.baseVersion(), next);
      out.println("Applied registry version " + stored.getVersion() + ".");
      return 0;
    } catch (RegistryConflictException e) {
      err.println("error: " + e.getMessage());
      return QuiverCommand.FAILED;
    }
  }
}
