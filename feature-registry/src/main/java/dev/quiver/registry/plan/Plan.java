package dev.quiver.registry.plan;

import dev.quiver.proto.v1.RegistrySnapshot;
import java.util.List;
import java.util.Objects;

/**
 * The difference between the applied registry and a repo, classified, with what applying it would
 * store.
 *
 * @param project the project name
 * @param baseVersion the applied version the plan was made against (0 when nothing is applied)
 * @param changes every change, objects in kind then name order, each followed by its field changes
 * @param refusals why the plan cannot be applied as it is; empty when it can
 * @param next the registry that applying the plan stores (version unset until stored)
 */
public record Plan(
    String project,
    long baseVersion,
    List<Change> changes,
    List<Refusal> refusals,
    RegistrySnapshot next) {

  /** A reason the plan cannot be applied, and how to resolve it. */
  public record Refusal(String kind, String name, String reason, String location) {}

  public Plan {
    Objects.requireNonNull(project, "project");
    changes = List.copyOf(changes);
    refusals = List.copyOf(refusals);
    Objects.requireNonNull(next, "next");
  }

  /** Whether applying would change nothing. */
  public boolean isEmpty() {
    return changes.isEmpty();
  }

  public boolean canApply() {
    return refusals.isEmpty();
  }

  public long count(Change.Action action) {
    return changes.stream().filter(c -> c.isObjectLevel() && c.action() == action).count()
        + (action == Change.Action.CHANGE ? changedObjectsWithoutObjectLevelEntry() : 0);
  }

  public long count(Change.Severity severity) {
    return changes.stream().filter(c -> c.severity() == severity).count();
  }

  private long changedObjectsWithoutObjectLevelEntry() {
    return changes.stream()
        .filter(c -> !c.isObjectLevel())
        .filter(
            c ->
                changes.stream()
                    .noneMatch(
                        o ->
                            o.isObjectLevel()
                                && o.kind().equals(c.kind())
                                && o.name().equals(c.name())))
        .map(c -> c.kind() + "\0" + c.name())
        .distinct()
        .count();
  }

  /** One line: how many objects are added, changed, versioned and removed. */
  public String summary() {
    if (isEmpty()) {
      return "no changes";
    }
    return count(Change.Action.ADD)
        + " added, "
        + count(Change.Action.CHANGE)
        + " changed, "
        + count(Change.Action.NEW_VERSION)
        + " new view versions, "
        + count(Change.Action.REMOVE)
        + " removed";
  }
}
