package dev.quiver.registry;

import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.logic.FeatureLogic;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A validated feature repo: its definition in the form the registry stores (a snapshot not yet
 * applied, version 0), where each object was declared, and its compiled feature logic.
 *
 * @param root the repo directory
 * @param definition every object of the repo; views at their declared versions
 * @param locations where each object was declared, keyed by {@link #key(String, String)}
 * @param logic compiled feature logic of {@code definition}
 */
public record FeatureRepo(
    Path root, RegistrySnapshot definition, Map<String, Location> locations, FeatureLogic logic) {

  public FeatureRepo {
    Objects.requireNonNull(root, "root");
    Objects.requireNonNull(definition, "definition");
    locations = Map.copyOf(locations);
    Objects.requireNonNull(logic, "logic");
  }

  /** The key of an object in {@link #locations()}: kind is entity, source, view or service. */
  public static String key(String kind, String name) {
    return kind + ":" + name;
  }

  public Optional<Location> locationOf(String kind, String name) {
    return Optional.ofNullable(locations.get(key(kind, name)));
  }
}
