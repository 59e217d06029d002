package dev.quiver.online;

import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.Feature;
import dev.quiver.proto.v1.FeatureReference;
import dev.quiver.proto.v1.FeatureService;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.proto.v1.ViewState;
import dev.quiver.registry.Durations;
import dev.quiver.registry.rows.ViewId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What can be served from one registry version: feature services and feature references resolved to
 * view versions, join keys, types and TTLs. {@code view:feature} names the active version of a
 * view; {@code view@N:feature} names version N, active or superseded. Immutable.
 */
public final class ServingCatalog {

  /**
   * One servable feature.
   *
   * @param reference {@code view:feature} (or {@code view@N:feature} for a pinned version)
   * @param view the view version that stores it
   * @param feature the feature's name
   * @param type its value type
   * @param ttl the view's TTL; zero for none
   * @param joinKeys the view's join keys in key order
   * @param aggregation the aggregation computing it, or null for a row-level feature
   */
  public record ServedFeature(
      String reference,
      ViewId view,
      String feature,
      ValueType type,
      Duration ttl,
      List<Field> joinKeys,
      Aggregation aggregation) {

    /** {@code view__feature}, the column name with full feature names. */
    public String fullName() {
      return dev.quiver.registry.semantics.FeatureRef.columnName(view.name(), feature);
    }
  }

  private final long version;
  private final Map<String, List<ServedFeature>> services = new HashMap<>();
  private final Map<String, ServedFeature> byReference = new HashMap<>();

  private ServingCatalog(long version) {
    this.version = version;
  }

  public static ServingCatalog of(RegistrySnapshot snapshot) {
    ServingCatalog c = new ServingCatalog(snapshot.getVersion());
    for (FeatureView v : snapshot.getFeatureViewsList()) {
      List<Field> keys = dev.quiver.registry.semantics.JoinKeys.of(snapshot, v);
      ViewId id = ViewId.of(v);
      Duration ttl = Durations.fromProto(v.getTtl());
      boolean active = v.getState() != ViewState.VIEW_STATE_SUPERSEDED;
      for (Feature f : v.getFeaturesList()) {
        c.add(
            v,
            active,
            new ServedFeature("", id, f.getName(), f.getType(), ttl, List.copyOf(keys), null));
      }
      for (Aggregation a : v.getAggregationsList()) {
        c.add(
            v,
            active,
            new ServedFeature("", id, a.getName(), a.getType(), ttl, List.copyOf(keys), a));
      }
    }
    for (FeatureService s : snapshot.getFeatureServicesList()) {
      List<ServedFeature> features = new ArrayList<>();
      for (FeatureReference ref : s.getFeaturesList()) {
        features.add(
            c.byReference.get(ref.getView() + "@" + ref.getViewVersion() + ":" + ref.getFeature()));
      }
      c.services.put(s.getName(), List.copyOf(features));
    }
    return c;
  }

  private void add(FeatureView v, boolean active, ServedFeature f) {
    String pinned =
        new dev.quiver.registry.semantics.FeatureRef(v.getName(), v.getVersion(), f.feature())
            .text();
    byReference.put(pinned, withReference(f, pinned));
    if (active) {
      String plain =
          new dev.quiver.registry.semantics.FeatureRef(v.getName(), 0, f.feature()).text();
      byReference.put(plain, withReference(f, plain));
    }
  }

  private static ServedFeature withReference(ServedFeature f, String reference) {
    return new ServedFeature(
        reference, f.view(), f.feature(), f.type(), f.ttl(), f.joinKeys(), f.aggregation());
  }

  /** The registry version this catalog was built from. */
  public long version() {
    return version;
  }

  public Optional<List<ServedFeature>> service(String name) {
    return Optional.ofNullable(services.get(name));
  }

  public Optional<ServedFeature> feature(String reference) {
    return Optional.ofNullable(byReference.get(reference));
  }

  /** Names of all feature services, for error messages. */
  public List<String> serviceNames() {
    return services.keySet().stream().sorted().toList();
  }
}
