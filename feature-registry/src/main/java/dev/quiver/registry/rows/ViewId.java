package dev.quiver.registry.rows;

import dev.quiver.proto.v1.FeatureView;
import java.util.Objects;

/**
 * One version of a feature view: the unit that stores keep apart.
 *
 * @param name the view's name
 * @param version its version, from 1
 */
public record ViewId(String name, int version) implements Comparable<ViewId> {
  public ViewId {
    Objects.requireNonNull(name, "name");
    if (version < 1) {
      throw new IllegalArgumentException("view version must be positive: " + version);
    }
  }

  public static ViewId of(FeatureView view) {
    return new ViewId(view.getName(), view.getVersion());
  }

  @Override
  public int compareTo(ViewId o) {
    int c = name.compareTo(o.name);
    return c != 0 ? c : Integer.compare(version, o.version);
  }

  /** {@code name@version}. */
  @Override
  public String toString() {
    return name + "@" + version;
  }
}
