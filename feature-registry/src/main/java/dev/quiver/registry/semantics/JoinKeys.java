package dev.quiver.registry.semantics;

import dev.quiver.proto.v1.Entity;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.RegistrySnapshot;
import java.util.ArrayList;
import java.util.List;

/**
 * The join keys of a feature view: the keys of its entities, entity by entity in the view's order,
 * each entity's keys in their declared order. That order is the order of the encoded entity key
 * online and of the key columns offline, so ingestion, serving and export all take it from here.
 *
 * <p>Stateless and thread-safe.
 */
public final class JoinKeys {
  private JoinKeys() {}

  /**
   * @throws IllegalArgumentException if the snapshot lacks one of the view's entities (an applied
   *     registry never does)
   */
  public static List<Field> of(RegistrySnapshot snapshot, FeatureView view) {
    List<Field> keys = new ArrayList<>();
    for (String name : view.getEntitiesList()) {
      Entity entity =
          snapshot.getEntitiesList().stream()
              .filter(e -> e.getName().equals(name))
              .findFirst()
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(
                          "feature view " + view.getName() + " uses unknown entity " + name));
      keys.addAll(entity.getJoinKeysList());
    }
    return List.copyOf(keys);
  }

  /**
   * The fields every record of {@code source} must carry, present and non-null: the join keys of
   * the views that read it, in view then key order.
   */
  public static java.util.Set<String> required(RegistrySnapshot snapshot, String source) {
    java.util.Set<String> keys = new java.util.LinkedHashSet<>();
    for (FeatureView v : snapshot.getFeatureViewsList()) {
      if (v.getSource().equals(source)) {
        for (Field f : of(snapshot, v)) {
          keys.add(f.getName());
        }
      }
    }
    return keys;
  }
}
