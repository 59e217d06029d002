package dev.quiver.registry.monitor;

import com.google.protobuf.ByteString;
import dev.quiver.proto.v1.Entity;
import dev.quiver.proto.v1.Feature;
import dev.quiver.proto.v1.FeatureReference;
import dev.quiver.proto.v1.FeatureService;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.KafkaSource;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.Source;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.proto.v1.ViewState;
import dev.quiver.registry.Types;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.semantics.FeatureRef;
import dev.quiver.registry.semantics.JoinKeys;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.datasketches.hash.MurmurHash3;

/**
 * The feature log: what {@code quiver serve} records of the vectors it answers for a feature
 * service with {@code logging}, and how those records become offline rows. Serving writes one JSON
 * record per logged entity row to the service's log topic; ingestion reads the topic like any
 * source, into a view of its own in the feature-log store, exactly once; {@code quiver export
 * --logged} and {@code quiver verify} read it back. The names, the sampling and the shape of that
 * view live here, for all three.
 *
 * <p>A record holds the join keys, {@value #REQUEST_TIME} (the instant every value was read as of),
 * {@value #REGISTRY_VERSION}, {@value #LAYOUT}, and {@value #VECTOR}: a {@code
 * quiver.v1.LoggedVector} (base64 of its bytes) with, per feature, the value served (so every
 * value, NaN included, comes back bit for bit), its status and the event time of the row it came
 * from, and per view the newest event time the online store had applied to it when the request was
 * served, which tells a lagging store from a wrong value. One field for the whole vector keeps what
 * ingesting and storing a logged vector costs independent of the number of features.
 */
public final class FeatureLog {
  private FeatureLog() {}

  public static final String REQUEST_TIME = "_request_time";
  public static final String REGISTRY_VERSION = "_registry_version";
  public static final String LAYOUT = "_layout";
  public static final String VECTOR = "_vector";
  private static final long SEED = 0x51756976L;

  /** One logged feature: its column ({@code view__feature}), its view and its served type. */
  public record Column(String name, String view, String feature, ValueType type) {}

  /**
   * What a service's log records hold.
   *
   * @param service the feature service
   * @param keys the join keys of all its views, in the order features first name them
   * @param columns its features, in service order
   * @param viewIds the view versions read, in first-use order
   * @param version the layout's number: a hash of all of the above, so a changed service logs to a
   *     new version of its log view and an unchanged one keeps its own across registry versions
   * @param sampleRate the share of entities logged
   */
  public record Layout(
      String service,
      List<Field> keys,
      List<Column> columns,
      List<ViewId> viewIds,
      int version,
      double sampleRate) {
    /** The names of the views read, in first-use order. */
    public List<String> views() {
      return viewIds.stream().map(ViewId::name).toList();
    }

    /** The name of the view that holds the service's log. */
    public String viewName() {
      return FeatureLog.viewName(service);
    }

    public List<String> keyNames() {
      return keys.stream().map(Field::getName).toList();
    }

    /** The features of the log view, in stored order. */
    public List<Field> storedFeatures() {
      return List.of(
          field(REGISTRY_VERSION, Types.of(ScalarType.SCALAR_TYPE_INT64)),
          field(VECTOR, Types.of(ScalarType.SCALAR_TYPE_BYTES)));
    }
  }

  /** The name of the view and source of a service's log. */
  public static String viewName(String service) {
    return "_log_" + service;
  }

  /** The Kafka topic of a service's log. */
  public static String topic(String project, String service) {
    return project + ".feature_log." + service;
  }

  /** The layout of {@code service}'s log, or empty when it has no {@code logging}. */
  public static Optional<Layout> layout(RegistrySnapshot snapshot, FeatureService service) {
    if (!service.hasLogging()) {
      return Optional.empty();
    }
    Map<String, FeatureView> views = new LinkedHashMap<>();
    for (FeatureView v : snapshot.getFeatureViewsList()) {
      views.put(v.getName() + "@" + v.getVersion(), v);
    }
    Map<String, Field> keys = new LinkedHashMap<>();
    Set<ViewId> viewIds = new LinkedHashSet<>();
    List<Column> columns = new ArrayList<>();
    for (FeatureReference ref : service.getFeaturesList()) {
      FeatureView v = views.get(ref.getView() + "@" + ref.getViewVersion());
      if (v == null) {
        throw new IllegalArgumentException("service " + service.getName() + ": no view " + ref);
      }
      JoinKeys.of(snapshot, v).forEach(k -> keys.putIfAbsent(k.getName(), k));
      viewIds.add(ViewId.of(v));
      columns.add(
          new Column(
              FeatureRef.columnName(v.getName(), ref.getFeature()),
              v.getName(),
              ref.getFeature(),
              typeOf(v, ref.getFeature())));
    }
    StringBuilder fingerprint = new StringBuilder(service.getName());
    keys.values()
        .forEach(
            k ->
                fingerprint
                    .append('|')
                    .append(k.getName())
                    .append(':')
                    .append(Types.format(k.getType())));
    columns.forEach(
        c -> fingerprint.append('|').append(c.name()).append(':').append(Types.format(c.type())));
    long[] h = MurmurHash3.hash(fingerprint.toString().getBytes(StandardCharsets.UTF_8), SEED);
    int version = (int) Math.floorMod(h[0], (long) Integer.MAX_VALUE - 1) + 1;
    return Optional.of(
        new Layout(
            service.getName(),
            List.copyOf(keys.values()),
            List.copyOf(columns),
            List.copyOf(viewIds),
            version,
            service.getLogging().getSampleRate()));
  }

  private static ValueType typeOf(FeatureView v, String feature) {
    for (Feature f : v.getFeaturesList()) {
      if (f.getName().equals(feature)) {
        return f.getType();
      }
    }
    for (var a : v.getAggregationsList()) {
      if (a.getName().equals(feature)) {
        return a.getType();
      }
    }
    throw new IllegalArgumentException("view " + v.getName() + " has no feature " + feature);
  }

  /** The layouts of every service of {@code snapshot} that logs. */
  public static List<Layout> layouts(RegistrySnapshot snapshot) {
    List<Layout> out = new ArrayList<>();
    for (FeatureService s : snapshot.getFeatureServicesList()) {
      layout(snapshot, s).ifPresent(out::add);
    }
    return out;
  }

  /**
   * The registry ingestion follows to read the logs of {@code snapshot}'s services: per logging
   * service an entity, a JSON source on its topic and a view whose features are the record's fields
   * as they are, keeping only records of the current layout ({@code _layout == version}).
   */
  public static RegistrySnapshot registry(RegistrySnapshot snapshot) {
    RegistrySnapshot.Builder r =
        RegistrySnapshot.newBuilder()
            .setVersion(snapshot.getVersion())
            .setProject(snapshot.getProject());
    for (Layout l : layouts(snapshot)) {
      String name = l.viewName();
      r.addEntities(Entity.newBuilder().setName(name).addAllJoinKeys(l.keys()));
      List<Field> fields = new ArrayList<>(l.keys());
      List<Field> features = l.storedFeatures();
      fields.add(field(REQUEST_TIME, Types.of(ScalarType.SCALAR_TYPE_TIMESTAMP)));
      fields.add(field(LAYOUT, Types.of(ScalarType.SCALAR_TYPE_INT64)));
      fields.addAll(features);
      String topic = topic(snapshot.getProject().getName(), l.service());
      r.addSources(
          Source.newBuilder()
              .setName(name)
              .setKafka(
                  KafkaSource.newBuilder()
                      .setTopic(topic)
                      .setFormat("json")
                      .setDeadLetterTopic(topic + ".dlq"))
              .setEventTimestampField(REQUEST_TIME)
              // The log is stored as its own views; an archive would hold it twice.
              .setArchive(dev.quiver.proto.v1.SourceArchiving.newBuilder().setDisabled(true))
              .addAllSchema(fields));
      FeatureView.Builder v =
          FeatureView.newBuilder()
              .setName(name)
              .setVersion(l.version())
              .addEntities(name)
              .setSource(name)
              .setState(ViewState.VIEW_STATE_ACTIVE)
              .setFilter(LAYOUT + " == " + l.version());
      for (Field f : features) {
        v.addFeatures(
            Feature.newBuilder().setName(f.getName()).setType(f.getType()).setExpr(f.getName()));
      }
      r.addFeatureViews(v);
    }
    return r.build();
  }

  private static Field field(String name, ValueType type) {
    return Field.newBuilder().setName(name).setType(type).build();
  }

  /**
   * Whether the entity with these join key values (String, Long or ByteString, in the layout's key
   * order) is logged at {@code rate}: by a hash of the key, so an entity is logged always or never
   * and its history is whole.
   */
  public static boolean sampled(List<Object> key, double rate) {
    if (rate >= 1) {
      return true;
    }
    if (rate <= 0) {
      return false;
    }
    // Each key value hashed on from the hash of those before it, its kind in the seed, so that
    // "7" and 7 are different entities; no string is built per row.
    long h = SEED;
    for (Object k : key) {
      long[] r;
      if (k instanceof Number n) {
        r = MurmurHash3.hash(n.longValue(), h ^ 'n');
      } else if (k instanceof ByteString bs) {
        r =
            bs.isEmpty()
                ? MurmurHash3.hash(0L, h ^ 'B')
                : MurmurHash3.hash(bs.toByteArray(), h ^ 'b');
      } else {
        String text = String.valueOf(k);
        r =
            text.isEmpty()
                ? MurmurHash3.hash(0L, h ^ 'S')
                : MurmurHash3.hash(text.toCharArray(), h ^ 's');
      }
      h = r[0];
    }
    // The top 53 bits as a uniform number in [0, 1).
    return (h >>> 11) * 0x1.0p-53 < rate;
  }
}
