package dev.quiver.registry.plan;

import java.util.Objects;

/**
 * One difference between the applied registry and the repo: an object added, removed, given a new
 * version, or one of its fields changed.
 *
 * @param kind entity, source, feature view, feature service or project
 * @param name the object's name
 * @param action what happens to the object
 * @param field the field path for a field change (e.g. {@code features.last_amount.expr}), else ""
 * @param before the applied value ("" when added)
 * @param after the repo's value ("" when removed)
 * @param severity safe, breaking, or a removal
 * @param note why it is classified so, or how it is resolved ("" when nothing to add)
 */
public record Change(
    String kind,
    String name,
    Action action,
    String field,
    String before,
    String after,
    Severity severity,
    String note) {

  /** What a change does to its object. */
  public enum Action {
    ADD,
    CHANGE,
    NEW_VERSION,
    REMOVE
  }

  /** How a change affects consumers of the registry. */
  public enum Severity {
    /** Cannot change a value any consumer already relies on. */
    SAFE,
    /** Changes the meaning of stored or served values; needs a new view version. */
    BREAKING,
    /** Deletes something; applied only when removals are allowed explicitly. */
    REMOVAL
  }

  public Change {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(action, "action");
    field = Objects.requireNonNullElse(field, "");
    before = Objects.requireNonNullElse(before, "");
    after = Objects.requireNonNullElse(after, "");
    Objects.requireNonNull(severity, "severity");
    note = Objects.requireNonNullElse(note, "");
  }

  /** Whether this is an object-level change (add, remove, new version) rather than a field's. */
  public boolean isObjectLevel() {
    return field.isEmpty();
  }
}
