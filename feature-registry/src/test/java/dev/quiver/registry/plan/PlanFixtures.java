package dev.quiver.registry.plan;

import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.FeatureRepo;
import dev.quiver.registry.RegistryValidationException;
import dev.quiver.registry.TestRepos;
import dev.quiver.registry.load.RepoLoader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Feature repos for plan tests: the plan base fixture, and edits of it. */
final class PlanFixtures {
  static final String BASE = TestRepos.resource("plan/base.yaml");

  private PlanFixtures() {}

  /** Loads a repo made of quiver.yaml (project test) and one registry file with {@code text}. */
  static FeatureRepo repo(Path dir, String text) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    TestRepos.write(dir, "quiver.yaml", "project: test\n");
    TestRepos.write(dir, "features.yaml", text);
    try {
      return RepoLoader.load(dir);
    } catch (RegistryValidationException e) {
      throw new AssertionError("fixture does not validate:\n" + e.getMessage(), e);
    }
  }

  /** What applying {@code text} to an empty registry stores, as version 1. */
  static RegistrySnapshot applied(Path dir, String text) {
    Plan first = Planner.plan(RegistrySnapshot.getDefaultInstance(), repo(dir, text), false);
    if (!first.canApply()) {
      throw new AssertionError("first apply refused: " + first.refusals());
    }
    return first.next().toBuilder().setVersion(1).build();
  }

  /** Replaces exactly one occurrence of {@code from}. */
  static String edit(String text, String from, String to) {
    int at = text.indexOf(from);
    if (at < 0 || text.indexOf(from, at + 1) >= 0) {
      throw new IllegalArgumentException("'" + from + "' must occur exactly once");
    }
    return text.substring(0, at) + to + text.substring(at + from.length());
  }
}
