package dev.quiver.registry;

import dev.quiver.proto.v1.FeatureService;
import dev.quiver.proto.v1.RegistrySnapshot;
import java.util.Optional;

/** Feature services of a registry version, by name. */
public final class FeatureServices {
  private FeatureServices() {}

  /** The service named {@code name} in {@code registry}, or empty when it has none of that name. */
  public static Optional<FeatureService> find(RegistrySnapshot registry, String name) {
    for (FeatureService s : registry.getFeatureServicesList()) {
      if (s.getName().equals(name)) {
        return Optional.of(s);
      }
    }
    return Optional.empty();
  }
}
