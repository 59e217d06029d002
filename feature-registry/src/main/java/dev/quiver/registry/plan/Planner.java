package dev.quiver.registry.plan;

import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.Entity;
import dev.quiver.proto.v1.Feature;
import dev.quiver.proto.v1.FeatureReference;
import dev.quiver.proto.v1.FeatureService;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.KafkaSource;
import dev.quiver.proto.v1.Metadata;
import dev.quiver.proto.v1.Project;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.SchemaContent;
import dev.quiver.proto.v1.Source;
import dev.quiver.proto.v1.ViewState;
import dev.quiver.registry.Durations;
import dev.quiver.registry.FeatureRepo;
import dev.quiver.registry.Location;
import dev.quiver.registry.Types;
import dev.quiver.registry.aggregate.AggregateParameter;
import dev.quiver.registry.logic.Aggregations;
import dev.quiver.registry.plan.Change.Action;
import dev.quiver.registry.plan.Change.Severity;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.BiFunction;
import java.util.stream.Collectors;

/**
 * Diffs a repo against the applied registry, per object and per field, and classifies each change.
 *
 * <p>Safe: adding a view, feature, aggregation, service or source field; descriptions, owners,
 * tags; a view's TTL; a source's dead-letter topic, its Avro or Protobuf schema's content and its
 * writer schemas. Breaking: a feature's type or expression; an aggregation's function, input,
 * window or hop; a view's entities, source or filter; an entity's join keys; a source's topic,
 * format, wire format, timestamps or a field's type; removing a source field; and removing a
 * feature that an applied feature service uses. A view's breaking changes are accepted only with a
 * raised {@code version:}, which keeps the old version (superseded) beside the new one; breaking
 * changes of an entity or source are accepted when every view using it is raised. Removing an
 * object, a feature or a service's feature is a removal: shown, and applied only when removals are
 * allowed.
 */
public final class Planner {
  private static final String ENTITY = "entity";
  private static final String SOURCE = "source";
  private static final String VIEW = "feature view";
  private static final String SERVICE = "feature service";
  private static final String PROJECT = "project";

  private final RegistrySnapshot applied;
  private final RegistrySnapshot repo;
  private final Map<String, Location> locations;
  private final boolean allowRemovals;
  private final List<Change> changes = new ArrayList<>();
  private final List<Plan.Refusal> refusals = new ArrayList<>();

  private Planner(
      RegistrySnapshot applied,
      RegistrySnapshot repo,
      Map<String, Location> locations,
      boolean allowRemovals) {
    this.applied = applied;
    this.repo = repo;
    this.locations = locations;
    this.allowRemovals = allowRemovals;
  }

  /**
   * Plans applying {@code repo} on top of {@code applied}.
   *
   * @param applied the latest applied snapshot, or {@link RegistrySnapshot#getDefaultInstance()}
   *     when nothing is applied yet
   * @param repo the validated repo
   * @param allowRemovals whether removals may be applied
   */
  public static Plan plan(RegistrySnapshot applied, FeatureRepo repo, boolean allowRemovals) {
    return new Planner(applied, repo.definition(), repo.locations(), allowRemovals).run();
  }

  /** Plans without source locations (for snapshots that did not come from files). */
  public static Plan plan(RegistrySnapshot applied, RegistrySnapshot repo, boolean allowRemovals) {
    return new Planner(applied, repo, Map.of(), allowRemovals).run();
  }

  private Plan run() {
    project();
    Map<String, FeatureView> appliedViews = activeViews(applied);
    Map<String, FeatureView> repoViews = byName(repo.getFeatureViewsList(), FeatureView::getName);
    Set<String> raised = new TreeSet<>();
    for (FeatureView v : repoViews.values()) {
      FeatureView old = appliedViews.get(v.getName());
      if (old == null || v.getVersion() > old.getVersion()) {
        raised.add(v.getName());
      }
    }
    entities(repoViews, raised);
    sources(repoViews, raised);
    views(appliedViews, repoViews);
    services(appliedViews);
    if (!allowRemovals) {
      for (Change c : changes) {
        if (c.severity() == Severity.REMOVAL) {
          refuse(
              c.kind(),
              c.name(),
              (c.isObjectLevel()
                      ? "removes the " + c.kind()
                      : "removes " + c.field() + " " + c.before())
                  + "; removals are applied only with --allow-removals");
        }
      }
    }
    return new Plan(
        repo.getProject().getName(), applied.getVersion(), changes, refusals, next(appliedViews));
  }

  // ---------------------------------------------------------------- project

  private void project() {
    if (applied.getVersion() == 0) {
      return;
    }
    Project a = applied.getProject();
    Project r = repo.getProject();
    if (!a.getName().equals(r.getName())) {
      changes.add(
          new Change(
              PROJECT,
              r.getName(),
              Action.CHANGE,
              "name",
              a.getName(),
              r.getName(),
              Severity.BREAKING,
              ""));
      refuse(
          PROJECT,
          r.getName(),
          "the registry belongs to project '" + a.getName() + "'; a project cannot be renamed");
    }
    diffFields(
        PROJECT, r.getName(), flatProject(a), flatProject(r), (path, kind) -> Severity.SAFE, "");
  }

  private static Map<String, String> flatProject(Project p) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("kafka.bootstrap", p.getKafkaBootstrap());
    m.put("data_dir", p.getDataDir());
    m.put("ports.grpc", String.valueOf(p.getGrpcPort()));
    m.put("ports.flight", String.valueOf(p.getFlightPort()));
    return m;
  }

  // ---------------------------------------------------------------- entities and sources

  private void entities(Map<String, FeatureView> repoViews, Set<String> raised) {
    dependedOn(
        ENTITY,
        byName(applied.getEntitiesList(), Entity::getName),
        byName(repo.getEntitiesList(), Entity::getName),
        Planner::flatEntity,
        (view, name) -> view.getEntitiesList().contains(name),
        this::entitySeverity,
        repoViews,
        raised);
  }

  private Severity entitySeverity(String path, String how) {
    return path.equals("join_keys") ? Severity.BREAKING : Severity.SAFE;
  }

  private static Map<String, String> flatEntity(Entity e) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("join_keys", fields(e.getJoinKeysList()));
    metadata(m, "", e.getMetadata());
    return m;
  }

  private void sources(Map<String, FeatureView> repoViews, Set<String> raised) {
    dependedOn(
        SOURCE,
        byName(applied.getSourcesList(), Source::getName),
        byName(repo.getSourcesList(), Source::getName),
        Planner::flatSource,
        (view, name) -> view.getSource().equals(name),
        this::sourceSeverity,
        repoViews,
        raised);
  }

  /**
   * Adds, removals and field changes of objects that views depend on (entities, sources); a
   * breaking change is accepted only when every view using the object gets a new version.
   */
  private <T> void dependedOn(
      String kind,
      Map<String, T> before,
      Map<String, T> after,
      java.util.function.Function<T, Map<String, String>> flat,
      java.util.function.BiPredicate<FeatureView, String> uses,
      BiFunction<String, String, Severity> severity,
      Map<String, FeatureView> repoViews,
      Set<String> raised) {
    for (String name : union(before.keySet(), after.keySet())) {
      T old = before.get(name);
      T now = after.get(name);
      if (old == null) {
        changes.add(objectChange(kind, name, Action.ADD, Severity.SAFE, ""));
      } else if (now == null) {
        changes.add(objectChange(kind, name, Action.REMOVE, Severity.REMOVAL, ""));
      } else {
        List<String> users =
            repoViews.values().stream()
                .filter(v -> uses.test(v, name))
                .map(FeatureView::getName)
                .toList();
        List<String> notRaised = users.stream().filter(u -> !raised.contains(u)).toList();
        String note =
            notRaised.isEmpty()
                ? (users.isEmpty()
                    ? "no view uses it"
                    : "accepted: every view using it gets a new version")
                : "";
        boolean breaking = diffFields(kind, name, flat.apply(old), flat.apply(now), severity, note);
        if (breaking && !notRaised.isEmpty()) {
          refuse(
              kind,
              name,
              "breaking change; raise the version of every feature view that uses it: "
                  + String.join(", ", notRaised));
        }
      }
    }
  }

  private Severity sourceSeverity(String path, String how) {
    if (path.startsWith("schema.")) {
      return how.equals("added") ? Severity.SAFE : Severity.BREAKING;
    }
    return switch (path) {
      // The wire format decides how every record of the topic is read, as the format does; a
      // schema's content is checked against the declared fields when validated, and Avro and
      // Protobuf evolution rules keep older records readable, so a changed schema is safe.
      case "kafka.topic",
          "kafka.format",
          "kafka.wire_format",
          "event_timestamp",
          "created_timestamp" ->
          Severity.BREAKING;
      default -> Severity.SAFE;
    };
  }

  /**
   * A schema as the plan shows it: its file, message and a digest of its content, so that an edited
   * schema file shows as a change.
   */
  private static String schema(SchemaContent c) {
    java.security.MessageDigest sha;
    try {
      sha = java.security.MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    sha.update(c.getAvroSchema().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    sha.update(c.getProtobufDescriptorSet().toByteArray());
    String digest = java.util.HexFormat.of().formatHex(sha.digest()).substring(0, 12);
    return c.getFile()
        + (c.getProtobufMessage().isEmpty() ? "" : " " + c.getProtobufMessage())
        + " (sha256 "
        + digest
        + ")";
  }

  private static Map<String, String> flatSource(Source s) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("kafka.topic", s.getKafka().getTopic());
    m.put("kafka.format", s.getKafka().getFormat());
    m.put("kafka.dead_letter_topic", s.getKafka().getDeadLetterTopic());
    KafkaSource k = s.getKafka();
    if (!k.getWireFormat().isEmpty()) {
      m.put("kafka.wire_format", k.getWireFormat());
    }
    if (k.hasSchema()) {
      m.put("kafka.schema", schema(k.getSchema()));
    }
    k.getWriterSchemasMap().entrySet().stream()
        .sorted(Map.Entry.comparingByKey())
        .forEach(e -> m.put("kafka.writer_schemas." + e.getKey(), schema(e.getValue())));
    m.put("event_timestamp", s.getEventTimestampField());
    m.put("created_timestamp", s.getCreatedTimestampField());
    m.put("archive.enabled", String.valueOf(!s.getArchive().getDisabled()));
    m.put(
        "archive.retention",
        s.getArchive().hasRetention()
            ? Durations.format(Durations.fromProto(s.getArchive().getRetention()))
            : "");
    for (Field f : s.getSchemaList()) {
      m.put("schema." + f.getName(), Types.format(f.getType()));
    }
    metadata(m, "", s.getMetadata());
    return m;
  }

  // ---------------------------------------------------------------- views

  private void views(Map<String, FeatureView> appliedViews, Map<String, FeatureView> repoViews) {
    Map<String, Set<String>> usedBy = serviceUses(applied);
    for (String name : union(appliedViews.keySet(), repoViews.keySet())) {
      FeatureView old = appliedViews.get(name);
      FeatureView now = repoViews.get(name);
      if (old == null) {
        changes.add(objectChange(VIEW, name, Action.ADD, Severity.SAFE, "v" + now.getVersion()));
        continue;
      }
      if (now == null) {
        long versions =
            applied.getFeatureViewsList().stream().filter(v -> v.getName().equals(name)).count();
        changes.add(
            objectChange(
                VIEW,
                name,
                Action.REMOVE,
                Severity.REMOVAL,
                versions > 1 ? "all " + versions + " versions" : "v" + old.getVersion()));
        continue;
      }
      if (now.getVersion() < old.getVersion()) {
        refuse(
            VIEW,
            name,
            "version "
                + now.getVersion()
                + " is lower than the applied version "
                + old.getVersion()
                + "; a view's version can only be raised");
        continue;
      }
      boolean newVersion = now.getVersion() > old.getVersion();
      if (newVersion) {
        changes.add(
            new Change(
                VIEW,
                name,
                Action.NEW_VERSION,
                "",
                "v" + old.getVersion(),
                "v" + now.getVersion(),
                Severity.SAFE,
                "v" + old.getVersion() + " is kept as superseded"));
      }
      String note = newVersion ? "accepted: new version v" + now.getVersion() : "";
      boolean breaking =
          diffFields(VIEW, name, flatView(old), flatView(now), this::viewSeverity, note);
      // Whole features and aggregations that appear or disappear are reported once each.
      Map<String, String> oldFeatures = featurePaths(old);
      Map<String, String> newFeatures = featurePaths(now);
      Map<String, String> oldDefinitions = featureDefinitions(old);
      Map<String, String> newDefinitions = featureDefinitions(now);
      for (Map.Entry<String, String> e : newFeatures.entrySet()) {
        if (!oldFeatures.containsKey(e.getKey())) {
          changes.add(
              new Change(
                  VIEW,
                  name,
                  Action.CHANGE,
                  e.getValue(),
                  "",
                  newDefinitions.get(e.getKey()),
                  Severity.SAFE,
                  ""));
        }
      }
      for (Map.Entry<String, String> e : oldFeatures.entrySet()) {
        String f = e.getKey();
        if (newFeatures.containsKey(f)) {
          continue;
        }
        Set<String> services = usedBy.getOrDefault(refKey(name, old.getVersion(), f), Set.of());
        if (!services.isEmpty()) {
          breaking = true;
          changes.add(
              new Change(
                  VIEW,
                  name,
                  Action.CHANGE,
                  e.getValue(),
                  oldDefinitions.get(f),
                  "",
                  Severity.BREAKING,
                  newVersion ? note : "used by feature service " + String.join(", ", services)));
        } else {
          changes.add(
              new Change(
                  VIEW,
                  name,
                  Action.CHANGE,
                  e.getValue(),
                  oldDefinitions.get(f),
                  "",
                  Severity.REMOVAL,
                  ""));
        }
      }
      if (breaking && !newVersion) {
        refuse(
            VIEW,
            name,
            "breaking change; to keep the current version and add a new one, set version: "
                + (old.getVersion() + 1));
      }
    }
  }

  private Severity viewSeverity(String path, String how) {
    if (path.equals("ttl")
        || path.equals("freshness")
        || path.equals("description")
        || path.equals("owner")
        || path.startsWith("tags.")
        || path.endsWith(".description")
        || path.endsWith(".owner")
        || path.contains(".tags.")
        || path.equals("version")) {
      return Severity.SAFE;
    }
    return Severity.BREAKING;
  }

  private static Map<String, String> flatView(FeatureView v) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("entities", String.join(", ", v.getEntitiesList()));
    m.put("source", v.getSource());
    m.put("filter", v.getFilter());
    m.put("ttl", Durations.format(Durations.fromProto(v.getTtl())));
    if (v.hasFreshness()) {
      m.put("freshness", Durations.format(Durations.fromProto(v.getFreshness())));
    }
    for (Feature f : v.getFeaturesList()) {
      String p = "features." + f.getName() + ".";
      m.put(p + "type", Types.format(f.getType()));
      m.put(p + "expr", f.getExpr());
      metadata(m, p, f.getMetadata());
    }
    for (Aggregation a : v.getAggregationsList()) {
      String p = "aggregations." + a.getName() + ".";
      m.put(p + "function", Aggregations.name(a.getFunction()));
      m.put(p + "input", a.getInput());
      m.put(p + "window", Durations.format(Durations.fromProto(a.getWindow())));
      m.put(p + "hop", Durations.format(Durations.fromProto(a.getHop())));
      for (AggregateParameter param : AggregateParameter.values()) {
        if (param.isSet(a)) {
          m.put(p + param.key(), param.format(param.get(a)));
        }
      }
      metadata(m, p, a.getMetadata());
    }
    metadata(m, "", v.getMetadata());
    return m;
  }

  /**
   * Each feature's definition in one line: {@code double = amount}, {@code sum(amount) over 1d}.
   */
  private static Map<String, String> featureDefinitions(FeatureView v) {
    Map<String, String> m = new LinkedHashMap<>();
    v.getFeaturesList()
        .forEach(f -> m.put(f.getName(), Types.format(f.getType()) + " = " + f.getExpr()));
    v.getAggregationsList()
        .forEach(
            a ->
                m.put(
                    a.getName(),
                    Aggregations.name(a.getFunction())
                        + "("
                        + a.getInput()
                        + ") over "
                        + Durations.format(Durations.fromProto(a.getWindow()))));
    return m;
  }

  /** Feature and aggregation names of a view, each with its path prefix in {@link #flatView}. */
  private static Map<String, String> featurePaths(FeatureView v) {
    Map<String, String> m = new LinkedHashMap<>();
    v.getFeaturesList().forEach(f -> m.put(f.getName(), "features." + f.getName()));
    v.getAggregationsList().forEach(a -> m.put(a.getName(), "aggregations." + a.getName()));
    return m;
  }

  // ---------------------------------------------------------------- services

  private void services(Map<String, FeatureView> appliedViews) {
    Map<String, FeatureService> a =
        byName(applied.getFeatureServicesList(), FeatureService::getName);
    Map<String, FeatureService> r = byName(repo.getFeatureServicesList(), FeatureService::getName);
    for (String name : union(a.keySet(), r.keySet())) {
      FeatureService old = a.get(name);
      FeatureService now = r.get(name);
      if (old == null) {
        changes.add(objectChange(SERVICE, name, Action.ADD, Severity.SAFE, ""));
        continue;
      }
      if (now == null) {
        changes.add(objectChange(SERVICE, name, Action.REMOVE, Severity.REMOVAL, ""));
        continue;
      }
      Map<String, Integer> before = refs(old);
      Map<String, Integer> after = refs(now);
      for (String ref : union(before.keySet(), after.keySet())) {
        Integer b = before.get(ref);
        Integer n = after.get(ref);
        if (b == null) {
          changes.add(
              new Change(SERVICE, name, Action.CHANGE, "features", "", ref, Severity.SAFE, ""));
        } else if (n == null) {
          changes.add(
              new Change(SERVICE, name, Action.CHANGE, "features", ref, "", Severity.REMOVAL, ""));
        } else if (!b.equals(n)) {
          changes.add(
              new Change(
                  SERVICE,
                  name,
                  Action.CHANGE,
                  "features." + ref,
                  "v" + b,
                  "v" + n,
                  Severity.SAFE,
                  "now served from the new view version"));
        }
      }
      Map<String, String> metaBefore = new LinkedHashMap<>();
      Map<String, String> metaAfter = new LinkedHashMap<>();
      metadata(metaBefore, "", old.getMetadata());
      metadata(metaAfter, "", now.getMetadata());
      monitoring(metaBefore, old);
      monitoring(metaAfter, now);
      diffFields(SERVICE, name, metaBefore, metaAfter, (p, h) -> Severity.SAFE, "");
    }
  }

  /** A service's logging and drift settings as written, for the diff: changing them is safe. */
  private static void monitoring(Map<String, String> m, FeatureService s) {
    if (s.hasLogging()) {
      m.put("logging.sample_rate", String.valueOf(s.getLogging().getSampleRate()));
    }
    if (s.hasDrift()) {
      var d = s.getDrift();
      if (d.hasPsiWarn()) {
        m.put("drift.psi_warn", String.valueOf(d.getPsiWarn()));
      }
      if (d.hasPsiAlert()) {
        m.put("drift.psi_alert", String.valueOf(d.getPsiAlert()));
      }
      if (d.getWindowsCount() > 0) {
        m.put(
            "drift.windows",
            d.getWindowsList().stream()
                .map(w -> Durations.format(Durations.fromProto(w)))
                .reduce((a, b) -> a + ", " + b)
                .orElse(""));
      }
      if (d.hasMinSamples()) {
        m.put("drift.min_samples", String.valueOf(d.getMinSamples()));
      }
      if (d.hasSampleRate()) {
        m.put("drift.sample_rate", String.valueOf(d.getSampleRate()));
      }
      if (d.hasMaxRowsPerSecond()) {
        m.put("drift.max_rows_per_second", String.valueOf(d.getMaxRowsPerSecond()));
      }
      if (!d.getBaseline().isEmpty()) {
        m.put("drift.baseline", d.getBaseline());
      }
    }
  }

  private static Map<String, Integer> refs(FeatureService s) {
    Map<String, Integer> m = new LinkedHashMap<>();
    for (FeatureReference ref : s.getFeaturesList()) {
      m.put(ref.getView() + ":" + ref.getFeature(), ref.getViewVersion());
    }
    return m;
  }

  private static Map<String, Set<String>> serviceUses(RegistrySnapshot s) {
    Map<String, Set<String>> m = new TreeMap<>();
    for (FeatureService svc : s.getFeatureServicesList()) {
      for (FeatureReference ref : svc.getFeaturesList()) {
        m.computeIfAbsent(
                refKey(ref.getView(), ref.getViewVersion(), ref.getFeature()), k -> new TreeSet<>())
            .add(svc.getName());
      }
    }
    return m;
  }

  private static String refKey(String view, int version, String feature) {
    return view + "@" + version + ":" + feature;
  }

  // ---------------------------------------------------------------- the next snapshot

  private RegistrySnapshot next(Map<String, FeatureView> appliedViews) {
    RegistrySnapshot.Builder b = repo.toBuilder().clearFeatureViews().clearVersion();
    Map<String, Integer> repoVersion = new LinkedHashMap<>();
    repo.getFeatureViewsList().forEach(v -> repoVersion.put(v.getName(), v.getVersion()));
    for (FeatureView old : applied.getFeatureViewsList()) {
      Integer current = repoVersion.get(old.getName());
      if (current != null && old.getVersion() < current) {
        b.addFeatureViews(old.toBuilder().setState(ViewState.VIEW_STATE_SUPERSEDED));
      }
    }
    for (FeatureView v : repo.getFeatureViewsList()) {
      b.addFeatureViews(v.toBuilder().setState(ViewState.VIEW_STATE_ACTIVE));
    }
    return b.build();
  }

  // ---------------------------------------------------------------- helpers

  /**
   * Adds a change per differing field, classified by {@code severity(path, how)} where how is
   * "added", "removed" or "changed". Returns whether any was breaking.
   */
  private boolean diffFields(
      String kind,
      String name,
      Map<String, String> before,
      Map<String, String> after,
      BiFunction<String, String, Severity> severity,
      String breakingNote) {
    boolean breaking = false;
    Set<String> paths = new LinkedHashSet<>(before.keySet());
    paths.addAll(after.keySet());
    for (String path : paths) {
      String b = before.get(path);
      String a = after.get(path);
      if (b != null && b.equals(a)) {
        continue;
      }
      // A field added with an empty value is no change (an optional field left unset).
      if ((b == null && a.isEmpty()) || (a == null && b.isEmpty())) {
        continue;
      }
      String how = b == null ? "added" : a == null ? "removed" : "changed";
      if (!how.equals("changed") && isPartOfWholeFeature(path, before, after)) {
        continue; // a feature added or removed as a whole is reported once, by the caller
      }
      Severity s = severity.apply(path, how);
      breaking |= s == Severity.BREAKING;
      changes.add(
          new Change(
              kind,
              name,
              Action.CHANGE,
              path,
              b == null ? "" : b,
              a == null ? "" : a,
              s,
              s == Severity.BREAKING ? breakingNote : ""));
    }
    return breaking;
  }

  private static boolean isPartOfWholeFeature(
      String path, Map<String, String> before, Map<String, String> after) {
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("((?:features|aggregations)\\.[^.]+)\\..+").matcher(path);
    if (!m.matches()) {
      return false;
    }
    String group = m.group(1) + ".";
    boolean inBefore = before.keySet().stream().anyMatch(k -> k.startsWith(group));
    boolean inAfter = after.keySet().stream().anyMatch(k -> k.startsWith(group));
    return inBefore != inAfter;
  }

  private Change objectChange(
      String kind, String name, Action action, Severity severity, String note) {
    return new Change(kind, name, action, "", "", "", severity, note);
  }

  private void refuse(String kind, String name, String reason) {
    Location at = locations.get(FeatureRepo.key(locationKind(kind), name));
    refusals.add(new Plan.Refusal(kind, name, reason, at == null ? "" : at.toString()));
  }

  private static String locationKind(String kind) {
    return switch (kind) {
      case ENTITY -> "entity";
      case SOURCE -> "source";
      case VIEW -> "view";
      case SERVICE -> "service";
      default -> kind;
    };
  }

  private static void metadata(Map<String, String> m, String prefix, Metadata md) {
    m.put(prefix + "description", md.getDescription());
    m.put(prefix + "owner", md.getOwner());
    new TreeMap<>(md.getTagsMap()).forEach((k, v) -> m.put(prefix + "tags." + k, v));
  }

  private static String fields(List<Field> fields) {
    return fields.stream()
        .map(f -> f.getName() + ": " + Types.format(f.getType()))
        .collect(Collectors.joining(", "));
  }

  private static Map<String, FeatureView> activeViews(RegistrySnapshot s) {
    Map<String, FeatureView> m = new TreeMap<>();
    for (FeatureView v : s.getFeatureViewsList()) {
      if (v.getState() != ViewState.VIEW_STATE_SUPERSEDED) {
        m.put(v.getName(), v);
      }
    }
    return m;
  }

  private static <T> Map<String, T> byName(
      List<T> items, java.util.function.Function<T, String> name) {
    Map<String, T> m = new TreeMap<>();
    items.forEach(i -> m.put(name.apply(i), i));
    return m;
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    Set<String> s = new TreeSet<>(a);
    s.addAll(b);
    return s;
  }
}
