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

  /** The catalog serving every view's active version. */
  public static ServingCatalog of(RegistrySnapshot snapshot) {
    return of(snapshot, Map.of());
  }

  /**
   * The catalog serving, for each view named in {@code serving}, that version instead of the active
   * one: {@code view:feature} and feature services read it. A service's features of a view follow
   * it only if that version has every one of them with the same type; otherwise the service keeps
   * the versions it names (it is never served a mix of two versions of one view). {@code
   * view@N:feature} always reads version N.
   *
   * @param serving view name to the version served in place of the active one
   */
  public static ServingCatalog of(RegistrySnapshot snapshot, Map<String, Integer> serving) {
    ServingCatalog c = new ServingCatalog(snapshot.getVersion());
    for (FeatureView v : snapshot.getFeatureViewsList()) {
      List<Field> keys = dev.quiver.registry.semantics.JoinKeys.of(snapshot, v);
      ViewId id = ViewId.of(v);
      Duration ttl = Durations.fromProto(v.getTtl());
      Integer instead = serving.get(v.getName());
      boolean active =
          instead != null
              ? instead == v.getVersion()
              : v.getState() != ViewState.VIEW_STATE_SUPERSEDED;
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
      Map<String, Integer> versions = c.serviceVersions(s, serving);
      List<ServedFeature> features = new ArrayList<>();
      for (FeatureReference ref : s.getFeaturesList()) {
        features.add(
            c.byReference.get(
                ref.getView() + "@" + versions.get(ref.getView()) + ":" + ref.getFeature()));
      }
      c.services.put(s.getName(), List.copyOf(features));
    }
    return c;
  }

  /**
   * The version of each view a service reads: the served one when it has every feature the service
   * names of that view, with the same type; else the one the service names.
   */
  private Map<String, Integer> serviceVersions(FeatureService s, Map<String, Integer> serving) {
    Map<String, Integer> named = new HashMap<>();
    for (FeatureReference ref : s.getFeaturesList()) {
      named.put(ref.getView(), ref.getViewVersion());
    }
    Map<String, Integer> out = new HashMap<>(named);
    named.forEach(
        (view, version) -> {
          Integer instead = serving.get(view);
          if (instead == null || instead.equals(version)) {
            return;
          }
          for (FeatureReference ref : s.getFeaturesList()) {
            if (!ref.getView().equals(view)) {
              continue;
            }
            ServedFeature want = byReference.get(view + "@" + version + ":" + ref.getFeature());
            ServedFeature have = byReference.get(view + "@" + instead + ":" + ref.getFeature());
            if (want == null || have == null || !want.type().equals(have.type())) {
              return;
            }
          }
          out.put(view, instead);
        });
    return out;
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
