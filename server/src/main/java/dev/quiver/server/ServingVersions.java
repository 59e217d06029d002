package dev.quiver.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.ViewState;
import dev.quiver.registry.rows.ViewId;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which version of each feature view the feature services (and {@code view:feature}) read: the
 * version it served before until a newer one has caught up, so a new version builds in the
 * background — filled from the source archive, then Kafka — while the one before it keeps serving,
 * and takes over only once its lag behind the log end is within a bound on every partition. The
 * choice survives restarts: it is kept in {@code <data>/serving/versions.json}, which {@code quiver
 * registry show} reads to say how far a building version is. A new view serves its only version.
 *
 * <p>Metrics: {@code quiver_view_version_lag_records{view,version}} and {@code
 * quiver_view_serving_version{view}}. Thread-safe.
 */
public final class ServingVersions {
  private static final Logger LOG = LoggerFactory.getLogger(ServingVersions.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The file of the choice under a data directory. */
  static Path file(Path dataDir) {
    return dataDir.resolve("serving").resolve("versions.json");
  }

  private final Path file;
  private final long maxLag;
  private final Clock clock;
  private final MeterRegistry meters;

  /** The version each view serves; guarded by this. */
  private final Map<String, Integer> serving = new HashMap<>();

  private final Map<ViewId, AtomicLong> lagGauges = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> servingGauges = new ConcurrentHashMap<>();
  private String written = "";

  /**
   * @param maxLag the most records a version may still have to apply on any partition to take over
   */
  ServingVersions(Path dataDir, long maxLag, Clock clock, MeterRegistry meters) {
    this.file = file(dataDir);
    this.maxLag = maxLag;
    this.clock = clock;
    this.meters = meters;
    read(file)
        .ifPresent(
            root ->
                root.path("views")
                    .properties()
                    .forEach(
                        view ->
                            serving.put(view.getKey(), view.getValue().path("serving").asInt())));
  }

  /**
   * The versions to serve in place of the active ones, given each version's lag; records the choice
   * and the lags. A view keeps the version it serves until a newer one has caught up; a view seen
   * for the first time serves the newest version before its active one if it has one (it was the
   * active one before), else its active one.
   */
  synchronized Map<String, Integer> choose(RegistrySnapshot snapshot, Map<ViewId, Long> lag) {
    Map<String, TreeMap<Integer, FeatureView>> byName = new TreeMap<>();
    for (FeatureView v : snapshot.getFeatureViewsList()) {
      byName.computeIfAbsent(v.getName(), n -> new TreeMap<>()).put(v.getVersion(), v);
    }
    Map<String, Integer> instead = new HashMap<>();
    ObjectNode root = JSON.createObjectNode();
    ObjectNode views = root.putObject("views");
    byName.forEach(
        (name, versions) -> {
          int active = versions.lastKey();
          for (FeatureView v : versions.values()) {
            if (v.getState() != ViewState.VIEW_STATE_SUPERSEDED) {
              active = v.getVersion();
            }
          }
          Integer current = serving.get(name);
          if (current == null || !versions.containsKey(current)) {
            Integer before = versions.lowerKey(active);
            current = before != null ? before : active;
          }
          for (int version : versions.descendingKeySet()) {
            if (version <= current) {
              break;
            }
            Long behind = lag.get(new ViewId(name, version));
            if (behind != null && behind <= maxLag) {
              LOG.info(
                  "view {} has caught up ({} records behind): it takes over from v{}",
                  new ViewId(name, version),
                  behind,
                  current);
              current = version;
              break;
            }
          }
          serving.put(name, current);
          ObjectNode node = views.putObject(name);
          node.put("serving", current);
          ObjectNode perVersion = node.putObject("versions");
          for (int version : versions.descendingKeySet()) {
            ViewId id = new ViewId(name, version);
            Long behind = lag.get(id);
            ObjectNode vn = perVersion.putObject(String.valueOf(version));
            if (behind != null) {
              vn.put("lag_records", behind);
              lagGauge(id).set(behind);
            }
          }
          servingGauge(name).set(current);
          if (current != active) {
            instead.put(name, current);
          }
        });
    serving.keySet().retainAll(byName.keySet());
    lagGauges.keySet().removeIf(id -> !byName.containsKey(id.name()));
    write(root);
    return Map.copyOf(instead);
  }

  private AtomicLong lagGauge(ViewId id) {
    return lagGauges.computeIfAbsent(
        id,
        v -> {
          AtomicLong a = new AtomicLong();
          Gauge.builder("quiver.view.version.lag.records", a, AtomicLong::get)
              .description("Records a view version has still to apply on its most behind partition")
              .tag("view", v.name())
              .tag("version", String.valueOf(v.version()))
              .register(meters);
          return a;
        });
  }

  private AtomicLong servingGauge(String view) {
    return servingGauges.computeIfAbsent(
        view,
        v -> {
          AtomicLong a = new AtomicLong();
          Gauge.builder("quiver.view.serving.version", a, AtomicLong::get)
              .description("The version of a view that feature services read")
              .tag("view", v)
              .register(meters);
          return a;
        });
  }

  /** Writes the choice when it changed (the time it was made is not a change). */
  private void write(ObjectNode root) {
    String body = root.toString();
    if (body.equals(written)) {
      return;
    }
    root.put("updated_at", clock.instant().toString());
    try {
      Files.createDirectories(file.getParent());
      Path tmp = file.resolveSibling(".versions.json.tmp");
      Files.write(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      written = body;
    } catch (IOException e) {
      LOG.warn("the serving versions could not be written to {}: {}", file, e.toString());
    }
  }

  /**
   * What the last server recorded of each view version, for {@code quiver registry show}: "serving"
   * for the version services read, "kept" for older ones, "building: N records behind" for newer
   * ones; empty when no server recorded a choice.
   */
  public static Map<ViewId, String> describe(Path dataDir) {
    Map<ViewId, String> out = new HashMap<>();
    read(file(dataDir))
        .ifPresent(
            root ->
                root.path("views")
                    .properties()
                    .forEach(
                        view -> {
                          int serving = view.getValue().path("serving").asInt();
                          view.getValue()
                              .path("versions")
                              .properties()
                              .forEach(
                                  v -> {
                                    int version = Integer.parseInt(v.getKey());
                                    JsonNode n = v.getValue();
                                    String text;
                                    if (version == serving) {
                                      text = "serving";
                                    } else if (version < serving) {
                                      text = "kept: the version before v" + serving;
                                    } else {
                                      text =
                                          "building"
                                              + (n.has("lag_records")
                                                  ? ": "
                                                      + String.format(
                                                          "%,d", n.get("lag_records").asLong())
                                                      + " records behind"
                                                  : "")
                                              + "; services read v"
                                              + serving
                                              + " until it has caught up";
                                    }
                                    out.put(new ViewId(view.getKey(), version), text);
                                  });
                        }));
    return out;
  }

  /** The recorded choice, if any: {@code {views: {name: {serving, versions: {N: {...}}}}}}. */
  static Optional<JsonNode> read(Path file) {
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    try {
      return Optional.of(JSON.readTree(file.toFile()));
    } catch (IOException e) {
      LOG.warn("{} could not be read ({}); every version counts as building", file, e.toString());
      return Optional.empty();
    }
  }
}
