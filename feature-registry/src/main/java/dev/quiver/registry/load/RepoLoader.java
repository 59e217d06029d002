package dev.quiver.registry.load;

import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.AggregationFunction;
import dev.quiver.proto.v1.DriftPolicy;
import dev.quiver.proto.v1.Entity;
import dev.quiver.proto.v1.Feature;
import dev.quiver.proto.v1.FeatureLogging;
import dev.quiver.proto.v1.FeatureReference;
import dev.quiver.proto.v1.FeatureService;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.KafkaSource;
import dev.quiver.proto.v1.Metadata;
import dev.quiver.proto.v1.Project;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.Source;
import dev.quiver.proto.v1.SourceArchiving;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.proto.v1.ViewState;
import dev.quiver.registry.Diagnostic;
import dev.quiver.registry.Durations;
import dev.quiver.registry.FeatureRepo;
import dev.quiver.registry.Location;
import dev.quiver.registry.RegistryValidationException;
import dev.quiver.registry.Types;
import dev.quiver.registry.aggregate.AggregateParameter;
import dev.quiver.registry.aggregate.ParameterRule;
import dev.quiver.registry.logic.Aggregations;
import dev.quiver.registry.logic.CelTypes;
import dev.quiver.registry.logic.ExpressionCompiler;
import dev.quiver.registry.logic.ExpressionCost;
import dev.quiver.registry.logic.FeatureLogic;
import dev.quiver.registry.semantics.FeatureRef;
import dev.quiver.registry.util.Messages;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.composer.Composer;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.events.Event;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.parser.Parser;
import org.yaml.snakeyaml.parser.ParserImpl;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * Loads a feature repo — {@code quiver.yaml} plus every {@code *.yaml} under it — and validates it
 * completely. Every problem is reported at once, each at its file, line and column.
 *
 * <p>Not thread-safe: one instance per load; use {@link #load(Path)}.
 */
public final class RepoLoader {
  public static final String CONFIG_FILE = "quiver.yaml";
  public static final String DEFAULT_BOOTSTRAP = "localhost:9092";
  public static final String DEFAULT_DATA_DIR = ".quiver";
  public static final int DEFAULT_GRPC_PORT = 6566;
  public static final int DEFAULT_FLIGHT_PORT = 8815;
  public static final int DEFAULT_METRICS_PORT = 9464;

  private static final Set<ScalarType> KEY_TYPES =
      Set.of(
          ScalarType.SCALAR_TYPE_STRING,
          ScalarType.SCALAR_TYPE_INT32,
          ScalarType.SCALAR_TYPE_INT64,
          ScalarType.SCALAR_TYPE_BYTES);

  private final Path root;
  private final Problems problems = new Problems();
  private final SourceFormats formats;
  private final Map<String, Location> locations = new HashMap<>();
  private String projectName;

  /** One named object declared somewhere in the repo. */
  private record Decl(String name, Location at, Node value, String file) {}

  private final Map<String, Map<String, Decl>> decls = new LinkedHashMap<>();
  private final Map<String, Entity> entities = new LinkedHashMap<>();
  private final Map<String, Source> sources = new LinkedHashMap<>();
  private final Map<String, ExpressionCompiler> compilers = new HashMap<>();
  private final Map<String, FeatureView> views = new LinkedHashMap<>();
  private final Map<String, FeatureService> services = new LinkedHashMap<>();

  private RepoLoader(Path root) {
    this.root = root;
    this.formats = new SourceFormats(root, problems);
    for (String section : RegistryKeys.SECTIONS) {
      decls.put(section, new LinkedHashMap<>());
    }
  }

  /**
   * Loads and validates the repo at {@code root}.
   *
   * @throws RegistryValidationException listing every problem, if there is any
   */
  public static FeatureRepo load(Path root) throws RegistryValidationException {
    return new RepoLoader(root).run();
  }

  /**
   * Loads and validates only the repo's {@code quiver.yaml}, by the same rules as {@link #load}:
   * what a process needs to start (project, Kafka bootstrap, data directory, ports) while the
   * registry files may still have errors.
   *
   * @throws RegistryValidationException listing every problem of quiver.yaml, if there is any
   */
  public static Project loadConfig(Path root) throws RegistryValidationException {
    return new RepoLoader(root).config();
  }

  private Project config() throws RegistryValidationException {
    Path config = root.resolve(CONFIG_FILE);
    String name = display(config);
    int before = problems.size();
    Node doc = parse(config, name);
    Project project = null;
    if (doc == null && problems.size() == before) {
      problems.add(new Location(name, 1, 1), "missing required key 'project' in " + CONFIG_FILE);
    } else if (doc != null) {
      YamlMap top = YamlMap.of(name, doc, CONFIG_FILE, problems);
      top.allowOnly(RegistryKeys.BY_DEFINITION.get("configFile"));
      project = project(top);
    }
    if (!problems.isEmpty()) {
      throw new RegistryValidationException(problems.all());
    }
    return project;
  }

  private FeatureRepo run() throws RegistryValidationException {
    Path config = root.resolve(CONFIG_FILE);
    if (!Files.isRegularFile(config)) {
      throw new RegistryValidationException(
          List.of(
              new Diagnostic(
                  display(config), 1, 1, "not a feature repo: " + CONFIG_FILE + " is missing")));
    }
    Project project = null;
    for (Path file : files()) {
      String name = display(file);
      int before = problems.size();
      Node doc = parse(file, name);
      boolean emptyFile = doc == null && problems.size() == before;
      boolean isConfig = file.equals(config);
      if (doc == null) {
        if (isConfig && emptyFile) {
          problems.add(
              new Location(name, 1, 1), "missing required key 'project' in " + CONFIG_FILE);
        } else if (emptyFile) {
          problems.add(
              new Location(name, 1, 1),
              "file holds no YAML document; expected a mapping with any of "
                  + String.join(", ", RegistryKeys.SECTIONS));
        }
        continue;
      }
      YamlMap top = YamlMap.of(name, doc, isConfig ? CONFIG_FILE : "a registry file", problems);
      if (isConfig) {
        top.allowOnly(RegistryKeys.BY_DEFINITION.get("configFile"));
        project = project(top);
      } else {
        top.allowOnly(RegistryKeys.BY_DEFINITION.get("registryFile"));
      }
      collect(top, name);
      if (!isConfig && top.has("project")) {
        checkProjectName(top);
      }
    }
    for (Decl d : decls.get("entities").values()) {
      entity(d);
    }
    for (Decl d : decls.get("sources").values()) {
      source(d);
    }
    for (Decl d : decls.get("feature_views").values()) {
      view(d);
    }
    for (Decl d : decls.get("feature_services").values()) {
      service(d);
    }
    if (!problems.isEmpty()) {
      throw new RegistryValidationException(problems.all());
    }
    RegistrySnapshot definition =
        RegistrySnapshot.newBuilder()
            .setProject(project)
            .addAllEntities(entities.values())
            .addAllSources(sources.values())
            .addAllFeatureViews(views.values())
            .addAllFeatureServices(services.values())
            .build();
    return new FeatureRepo(
        root, definition, locations, FeatureLogic.compile(definition, compilers));
  }

  // ---------------------------------------------------------------- files

  private List<Path> files() throws RegistryValidationException {
    List<Path> out = new ArrayList<>();
    try {
      Files.walkFileTree(
          root,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
              String n = dir.getFileName() == null ? "" : dir.getFileName().toString();
              boolean skip =
                  !dir.equals(root)
                      && (n.startsWith(".") || n.equals("target") || n.equals("node_modules"));
              return skip ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
              String n = file.getFileName().toString();
              if (attrs.isRegularFile() && (n.endsWith(".yaml") || n.endsWith(".yml"))) {
                out.add(file);
              }
              return FileVisitResult.CONTINUE;
            }
          });
    } catch (IOException e) {
      throw new RegistryValidationException(
          List.of(new Diagnostic(display(root), 1, 1, "cannot read the feature repo: " + e)));
    }
    // quiver.yaml first, then the rest in path order, so reports and duplicates are stable.
    out.sort(
        (a, b) -> {
          boolean ca = a.equals(root.resolve(CONFIG_FILE));
          boolean cb = b.equals(root.resolve(CONFIG_FILE));
          return ca != cb ? (ca ? -1 : 1) : a.compareTo(b);
        });
    return out;
  }

  private String display(Path file) {
    return file.toString();
  }

  /**
   * Parses one file into its single YAML document, or reports why it cannot be and returns null.
   * Aliases of lists and mappings are refused, so that no file can expand into more nodes than it
   * spells out; nesting is bounded by {@link #MAX_NESTING}.
   */
  private Node parse(Path file, String name) {
    RegistryText text;
    try {
      text = RegistryText.read(file, name);
    } catch (RegistryText.Unreadable e) {
      problems.add(e.at(), e.getMessage());
      return null;
    }
    LoaderOptions options = new LoaderOptions();
    options.setAllowDuplicateKeys(true); // reported with positions by YamlMap instead
    options.setCodePointLimit(Integer.MAX_VALUE); // the file's size is bounded when it is read
    options.setMaxAliasesForCollections(0);
    options.setAllowRecursiveKeys(false);
    options.setNestingDepthLimit(MAX_NESTING);
    LastEventParser parser = null;
    Composer composer;
    try {
      composer =
          new Composer(
              parser = new LastEventParser(new ParserImpl(text.reader(), options)),
              new Resolver(),
              options);
      Node first = composer.checkNode() ? composer.getNode() : null;
      if (composer.checkNode()) {
        Node second = composer.getNode();
        problems.add(
            second == null ? new Location(name, 1, 1) : YamlMap.location(name, second),
            "expected one YAML document per file, found a second one");
      }
      return first;
    } catch (MarkedYAMLException e) {
      Mark m = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
      Location at =
          m == null
              ? new Location(name, 1, 1)
              : new Location(name, m.getLine() + 1, m.getColumn() + 1);
      problems.add(at, yamlProblem(e.getProblem(), e.getContext()));
    } catch (YAMLException e) {
      // Aliases and nesting are refused without a mark: the event being composed has the place.
      Mark m = parser == null ? null : parser.lastMark();
      Location at =
          m == null
              ? new Location(name, 1, 1)
              : new Location(name, m.getLine() + 1, m.getColumn() + 1);
      problems.add(at, yamlProblem(e.getMessage(), null));
    }
    return null;
  }

  /** A parser that remembers where the last event it handed out started. */
  private static final class LastEventParser implements Parser {
    private final Parser delegate;
    private Mark last;

    LastEventParser(Parser delegate) {
      this.delegate = delegate;
    }

    Mark lastMark() {
      return last;
    }

    @Override
    public boolean checkEvent(Event.ID choice) {
      return delegate.checkEvent(choice);
    }

    @Override
    public Event peekEvent() {
      return delegate.peekEvent();
    }

    @Override
    public Event getEvent() {
      Event e = delegate.getEvent();
      if (e != null) {
        last = e.getStartMark();
      }
      return e;
    }
  }

  /** The deepest nesting of lists and mappings a registry file may use. */
  static final int MAX_NESTING = 50;

  /** SnakeYAML's description of a problem, in the words of a registry file and bounded. */
  private static String yamlProblem(String problem, String context) {
    String p = problem == null ? "" : problem;
    if (p.startsWith("Number of aliases for non-scalar nodes exceeds")) {
      return "aliases of lists and mappings (*name) are not allowed in registry files; write the"
          + " value out in full";
    }
    if (p.startsWith("Nesting Depth exceeded")) {
      return "lists and mappings are nested more than "
          + MAX_NESTING
          + " deep; registry files need far fewer";
    }
    if (p.contains("\\t(TAB)")) {
      return "invalid YAML: a tab where YAML expects indentation or a value; use spaces";
    }
    String c = context == null ? "" : " (" + Messages.clip(context) + ")";
    return "invalid YAML: " + Messages.clip(p) + c;
  }

  private void collect(YamlMap top, String file) {
    Map<String, String> kinds =
        Map.of(
            "entities", "entity",
            "sources", "source",
            "feature_views", "feature view",
            "feature_services", "feature service");
    for (String section : RegistryKeys.SECTIONS) {
      Optional<Node> node = top.node(section);
      if (node.isEmpty()) {
        continue;
      }
      YamlMap m = YamlMap.of(file, node.get(), Messages.quote(section), problems);
      for (YamlMap.Entry e : m.entries()) {
        Location at = m.at(e.keyNode());
        String kind = kinds.get(section);
        String bad = Names.problem(e.key());
        if (bad != null) {
          problems.add(at, kind + " name " + bad);
          continue;
        }
        Decl previous = decls.get(section).get(e.key());
        if (previous != null) {
          problems.add(
              at,
              "duplicate "
                  + kind
                  + " "
                  + Messages.quote(e.key())
                  + ": already defined at "
                  + previous.at());
          continue;
        }
        decls.get(section).put(e.key(), new Decl(e.key(), at, e.valueNode(), file));
        locations.put(FeatureRepo.key(locationKind(section), e.key()), at);
      }
    }
  }

  private static String locationKind(String section) {
    return switch (section) {
      case "entities" -> "entity";
      case "sources" -> "source";
      case "feature_views" -> "view";
      default -> "service";
    };
  }

  // ---------------------------------------------------------------- quiver.yaml

  private Project project(YamlMap top) {
    Project.Builder p = Project.newBuilder();
    String name = top.requiredString("project");
    if (name != null) {
      String bad = Names.problem(name);
      if (bad != null) {
        problems.add(top.valueAt("project"), "project name " + bad);
      }
      p.setName(name);
      projectName = name;
    }
    p.setKafkaBootstrap(DEFAULT_BOOTSTRAP);
    top.node("kafka")
        .ifPresent(
            n -> {
              YamlMap kafka = YamlMap.of(top.file(), n, "'kafka'", problems);
              kafka.allowOnly(RegistryKeys.CONFIG_KAFKA);
              kafka.string("bootstrap").ifPresent(p::setKafkaBootstrap);
            });
    p.setDataDir(top.string("data_dir").orElse(DEFAULT_DATA_DIR));
    p.setGrpcPort(DEFAULT_GRPC_PORT)
        .setFlightPort(DEFAULT_FLIGHT_PORT)
        .setMetricsPort(DEFAULT_METRICS_PORT);
    top.node("ports")
        .ifPresent(
            n -> {
              YamlMap ports = YamlMap.of(top.file(), n, "'ports'", problems);
              ports.allowOnly(RegistryKeys.CONFIG_PORTS);
              port(ports, "grpc").ifPresent(p::setGrpcPort);
              port(ports, "flight").ifPresent(p::setFlightPort);
              port(ports, "metrics", "0 (no metrics endpoint)").ifPresent(p::setMetricsPort);
            });
    return p.build();
  }

  private Optional<Integer> port(YamlMap ports, String key) {
    return port(ports, key, "0 (any free port)");
  }

  private Optional<Integer> port(YamlMap ports, String key, String zero) {
    return ports
        .integer(key)
        .flatMap(
            v -> {
              if (v < 0 || v > 65535) {
                problems.add(
                    ports.valueAt(key),
                    "port "
                        + Messages.quote(key)
                        + " is "
                        + v
                        + "; expected "
                        + zero
                        + " to 65535");
                return Optional.empty();
              }
              return Optional.of(v.intValue());
            });
  }

  private void checkProjectName(YamlMap top) {
    top.string("project")
        .ifPresent(
            name -> {
              Optional<String> expected = Optional.ofNullable(projectName);
              if (expected.isPresent() && !expected.get().equals(name)) {
                problems.add(
                    top.valueAt("project"),
                    "project "
                        + Messages.quote(name)
                        + " does not match project "
                        + Messages.quote(expected.get())
                        + " of "
                        + CONFIG_FILE);
              }
            });
  }

  // ---------------------------------------------------------------- objects

  private Metadata metadata(YamlMap m) {
    Metadata.Builder b = Metadata.newBuilder();
    m.string("description").ifPresent(b::setDescription);
    m.string("owner").ifPresent(b::setOwner);
    b.putAllTags(m.stringMap("tags"));
    return b.build();
  }

  private void entity(Decl d) {
    YamlMap m = YamlMap.of(d.file(), d.value(), "entity " + Messages.quote(d.name()), problems);
    m.allowOnly(RegistryKeys.ENTITY);
    Entity.Builder e = Entity.newBuilder().setName(d.name()).setMetadata(metadata(m));
    if (!m.has("join_keys")) {
      problems.add(
          d.at(), "entity " + Messages.quote(d.name()) + " is missing required key 'join_keys'");
    } else {
      List<Field> keys = fields(m, "join_keys", "join key");
      for (Field k : keys) {
        if (!k.getType().hasScalar() || !KEY_TYPES.contains(k.getType().getScalar())) {
          problems.add(
              fieldAt(m, "join_keys", k.getName()),
              "join key "
                  + Messages.quote(k.getName())
                  + " has type "
                  + Types.format(k.getType())
                  + "; expected string, int32, int64 or bytes");
        }
      }
      if (keys.isEmpty()
          && m.node("join_keys").get() instanceof org.yaml.snakeyaml.nodes.MappingNode) {
        problems.add(
            m.valueAt("join_keys"),
            "entity " + Messages.quote(d.name()) + " needs at least one join key");
      }
      e.addAllJoinKeys(keys);
    }
    entities.put(d.name(), e.build());
  }

  /** A mapping of field name to type name, in declaration order. */
  private List<Field> fields(YamlMap parent, String key, String what) {
    List<Field> out = new ArrayList<>();
    Optional<Node> node = parent.node(key);
    if (node.isEmpty()) {
      return out;
    }
    YamlMap m = YamlMap.of(parent.file(), node.get(), Messages.quote(key), problems);
    for (YamlMap.Entry e : m.entries()) {
      String bad = Names.problem(e.key());
      if (bad != null) {
        problems.add(m.at(e.keyNode()), what + " name " + bad);
        continue;
      }
      if (Names.CEL_RESERVED.contains(e.key())) {
        problems.add(
            m.at(e.keyNode()),
            what
                + " name "
                + Messages.quote(e.key())
                + " is a reserved word of the expression language");
        continue;
      }
      Optional<String> typeName =
          m.scalar(e.valueNode(), e.key(), "a type name (" + Types.NAMES + ")");
      if (typeName.isEmpty()) {
        continue;
      }
      Optional<ValueType> type = Types.parse(typeName.get());
      if (type.isEmpty()) {
        problems.add(
            m.at(e.valueNode()),
            "unknown type "
                + Messages.quote(typeName.get())
                + " for "
                + what
                + " "
                + Messages.quote(e.key())
                + "; expected "
                + Types.NAMES);
        continue;
      }
      out.add(Field.newBuilder().setName(e.key()).setType(type.get()).build());
    }
    return out;
  }

  private Location fieldAt(YamlMap parent, String key, String field) {
    return parent
        .node(key)
        .map(n -> YamlMap.of(parent.file(), n, key, new Problems()).valueAt(field))
        .orElse(parent.location());
  }

  private void source(Decl d) {
    YamlMap m = YamlMap.of(d.file(), d.value(), "source " + Messages.quote(d.name()), problems);
    m.allowOnly(RegistryKeys.SOURCE);
    Source.Builder s = Source.newBuilder().setName(d.name()).setMetadata(metadata(m));
    KafkaSource.Builder k = KafkaSource.newBuilder().setFormat("json");
    YamlMap kafkaMap = null;
    if (!m.has("kafka")) {
      problems.add(
          d.at(), "source " + Messages.quote(d.name()) + " is missing required key 'kafka'");
    } else {
      YamlMap kafka =
          YamlMap.of(
              d.file(),
              m.node("kafka").get(),
              "'kafka' of source " + Messages.quote(d.name()),
              problems);
      kafka.allowOnly(RegistryKeys.SOURCE_KAFKA);
      kafkaMap = kafka;
      String topic = kafka.requiredString("topic");
      if (topic != null) {
        if (!topic.matches("[A-Za-z0-9._-]{1,249}")) {
          problems.add(
              kafka.valueAt("topic"),
              Messages.quote(topic)
                  + " is not a valid Kafka topic name: expected 1 to 249 of A-Z a-z 0-9 . _ -");
        }
        k.setTopic(topic);
        k.setDeadLetterTopic(topic + ".dlq");
      }
      kafka.string("dead_letter_topic").ifPresent(k::setDeadLetterTopic);
    }
    if (!m.has("schema")) {
      problems.add(
          d.at(), "source " + Messages.quote(d.name()) + " is missing required key 'schema'");
    }
    List<Field> schema = fields(m, "schema", "field");
    if (kafkaMap != null) {
      formats.read(kafkaMap, d.name(), k, schema, f -> fieldAt(m, "schema", f));
    }
    s.setKafka(k);
    s.addAllSchema(schema);
    Map<String, Field> byName = new LinkedHashMap<>();
    schema.forEach(f -> byName.put(f.getName(), f));
    String event = m.requiredString("event_timestamp");
    if (event != null) {
      checkTimestampField(m, "event_timestamp", event, byName);
      s.setEventTimestampField(event);
    }
    m.string("created_timestamp")
        .ifPresent(
            c -> {
              checkTimestampField(m, "created_timestamp", c, byName);
              s.setCreatedTimestampField(c);
            });
    m.node("archive").ifPresent(n -> s.setArchive(archive(d.file(), n, d.name())));
    sources.put(d.name(), s.build());
    compilers.put(d.name(), new ExpressionCompiler(schema));
  }

  /** A source's {@code archive: {enabled, retention}}. */
  private SourceArchiving archive(String file, Node n, String source) {
    String what = "'archive' of source " + Messages.quote(source);
    YamlMap m = YamlMap.of(file, n, what, problems);
    m.allowOnly(RegistryKeys.SOURCE_ARCHIVE);
    SourceArchiving.Builder a = SourceArchiving.newBuilder();
    m.bool("enabled").ifPresent(enabled -> a.setDisabled(!enabled));
    duration(m, "retention", what)
        .ifPresent(
            r -> {
              if (!r.isZero() && a.getDisabled()) {
                problems.add(
                    m.valueAt("retention"),
                    "retention of an archive that is not enabled: remove one of them");
              }
              a.setRetention(Durations.toProto(r));
            });
    return a.build();
  }

  private void checkTimestampField(YamlMap m, String key, String field, Map<String, Field> schema) {
    Field f = schema.get(field);
    if (f == null) {
      problems.add(
          m.valueAt(key),
          key
              + " "
              + Messages.quote(field)
              + " is not a field of the schema"
              + Names.suggestion(field, schema.keySet()));
      return;
    }
    ValueType t = f.getType();
    if (!t.equals(Types.of(ScalarType.SCALAR_TYPE_TIMESTAMP))
        && !t.equals(Types.of(ScalarType.SCALAR_TYPE_INT64))) {
      problems.add(
          m.valueAt(key),
          key
              + " field "
              + Messages.quote(field)
              + " has type "
              + Types.format(t)
              + "; expected timestamp (RFC 3339) or int64 (epoch milliseconds)");
    }
  }

  private void view(Decl d) {
    String what = "feature view " + Messages.quote(d.name());
    YamlMap m = YamlMap.of(d.file(), d.value(), what, problems);
    m.allowOnly(RegistryKeys.VIEW);
    FeatureView.Builder v =
        FeatureView.newBuilder()
            .setName(d.name())
            .setMetadata(metadata(m))
            .setState(ViewState.VIEW_STATE_ACTIVE)
            .setVersion(1);
    m.integer("version")
        .ifPresent(
            n -> {
              if (n < 1 || n > Integer.MAX_VALUE) {
                problems.add(
                    m.valueAt("version"), "version is " + n + "; expected a positive integer");
              } else {
                v.setVersion(n.intValue());
              }
            });
    duration(m, "ttl", null).ifPresent(ttl -> v.setTtl(Durations.toProto(ttl)));
    duration(m, "freshness", null)
        .ifPresent(
            f -> {
              if (f.isZero()) {
                problems.add(
                    m.valueAt("freshness"),
                    "freshness of "
                        + what
                        + " must be longer than 0: it is how far behind now the newest event may"
                        + " fall, e.g. 10m");
              } else {
                v.setFreshness(Durations.toProto(f));
              }
            });

    // Source.
    String sourceName = m.requiredString("source");
    final Source source = sourceName == null ? null : sources.get(sourceName);
    if (sourceName != null) {
      v.setSource(sourceName);
      if (source == null) {
        problems.add(
            m.valueAt("source"),
            what
                + " reads unknown source "
                + Messages.quote(sourceName)
                + Names.suggestion(sourceName, sources.keySet())
                + knownList("sources", sources.keySet()));
      }
    }
    ExpressionCompiler compiler = source == null ? null : compilers.get(source.getName());

    // Entities and their join keys.
    List<Node> entityNodes = requiredList(m, "entities", d.at(), what, "entity");
    Set<String> seenEntities = new HashSet<>();
    Set<String> seenKeys = new HashSet<>();
    for (Node n : entityNodes) {
      Optional<String> name = m.scalar(n, "entities", "an entity name");
      if (name.isEmpty()) {
        continue;
      }
      Location at = m.at(n);
      Entity entity = entities.get(name.get());
      if (entity == null) {
        problems.add(
            at,
            what
                + " uses unknown entity "
                + Messages.quote(name.get())
                + Names.suggestion(name.get(), entities.keySet())
                + knownList("entities", entities.keySet()));
        continue;
      }
      if (!seenEntities.add(name.get())) {
        problems.add(at, "entity " + Messages.quote(name.get()) + " is listed twice in " + what);
        continue;
      }
      v.addEntities(name.get());
      for (Field key : entity.getJoinKeysList()) {
        if (!seenKeys.add(key.getName())) {
          problems.add(
              at,
              "join key "
                  + Messages.quote(key.getName())
                  + " of entity "
                  + Messages.quote(name.get())
                  + " is also the join key of another entity of "
                  + what);
        }
        if (source == null) {
          continue;
        }
        Optional<Field> field =
            source.getSchemaList().stream()
                .filter(f -> f.getName().equals(key.getName()))
                .findFirst();
        if (field.isEmpty()) {
          problems.add(
              at,
              "source "
                  + Messages.quote(source.getName())
                  + " has no field "
                  + Messages.quote(key.getName())
                  + ", the join key of entity "
                  + Messages.quote(name.get())
                  + "; add it to the source schema as "
                  + Types.format(key.getType()));
        } else if (!field.get().getType().equals(key.getType())) {
          problems.add(
              at,
              "join key "
                  + Messages.quote(key.getName())
                  + " of entity "
                  + Messages.quote(name.get())
                  + " is "
                  + Types.format(key.getType())
                  + " but source "
                  + Messages.quote(source.getName())
                  + " declares it "
                  + Types.format(field.get().getType()));
        }
      }
    }

    // Filter.
    m.node("filter")
        .ifPresent(
            n ->
                m.scalar(n, "filter", "a CEL expression")
                    .ifPresent(
                        expr -> {
                          v.setFilter(expr);
                          if (compiler != null) {
                            expression(m, n, compiler, source, expr, "filter of " + what)
                                .ifPresent(
                                    r -> {
                                      if (!CelTypes.fits(
                                          r.type(), Types.of(ScalarType.SCALAR_TYPE_BOOL))) {
                                        problems.add(
                                            m.at(n),
                                            "filter of "
                                                + what
                                                + " has type "
                                                + CelTypes.name(r.type())
                                                + "; expected bool");
                                      }
                                    });
                          }
                        }));

    // Features and aggregations share one namespace.
    Map<String, Location> featureNames = new HashMap<>();
    m.node("features")
        .ifPresent(
            n -> {
              YamlMap features = YamlMap.of(d.file(), n, "'features' of " + what, problems);
              for (YamlMap.Entry e : features.entries()) {
                if (!featureName(features, e, featureNames, what)) {
                  continue;
                }
                feature(features, e, compiler, source, what).ifPresent(v::addFeatures);
              }
            });
    m.node("aggregations")
        .ifPresent(
            n -> {
              YamlMap aggs = YamlMap.of(d.file(), n, "'aggregations' of " + what, problems);
              for (YamlMap.Entry e : aggs.entries()) {
                if (!featureName(aggs, e, featureNames, what)) {
                  continue;
                }
                aggregation(aggs, e, compiler, source, what).ifPresent(v::addAggregations);
              }
            });
    if (featureNames.isEmpty() && !m.has("features") && !m.has("aggregations")) {
      problems.add(d.at(), what + " declares no features: add 'features' or 'aggregations'");
    }
    views.put(d.name(), v.build());
  }

  private boolean featureName(
      YamlMap parent, YamlMap.Entry e, Map<String, Location> seen, String what) {
    Location at = parent.at(e.keyNode());
    String bad = Names.problem(e.key());
    if (bad != null) {
      problems.add(at, "feature name " + bad);
      return false;
    }
    Location previous = seen.putIfAbsent(e.key(), at);
    if (previous != null) {
      problems.add(
          at,
          "duplicate feature "
              + Messages.quote(e.key())
              + " in "
              + what
              + ": already declared at "
              + previous);
      return false;
    }
    return true;
  }

  private Optional<Feature> feature(
      YamlMap parent,
      YamlMap.Entry e,
      ExpressionCompiler compiler,
      Source source,
      String viewWhat) {
    String what = "feature " + Messages.quote(e.key()) + " of " + viewWhat;
    YamlMap m = YamlMap.of(parent.file(), e.valueNode(), what, problems);
    m.allowOnly(RegistryKeys.FEATURE);
    Feature.Builder f = Feature.newBuilder().setName(e.key()).setMetadata(metadata(m));
    String typeName = m.requiredString("type");
    ValueType type = null;
    if (typeName != null) {
      type = Types.parse(typeName).orElse(null);
      if (type == null) {
        problems.add(
            m.valueAt("type"),
            "unknown type "
                + Messages.quote(typeName)
                + " for "
                + what
                + "; expected "
                + Types.NAMES);
      } else {
        f.setType(type);
      }
    }
    String expr = m.requiredString("expr");
    if (expr != null) {
      f.setExpr(expr);
      if (compiler != null) {
        Optional<ExpressionCompiler.Result> r =
            expression(m, m.node("expr").get(), compiler, source, expr, what);
        if (r.isPresent() && type != null && !CelTypes.fits(r.get().type(), type)) {
          String hint =
              Types.isNumeric(type)
                      && CelTypes.natural(r.get().type()).map(Types::isNumeric).orElse(false)
                  ? " (convert it, e.g. "
                      + (Types.isIntegral(type) ? "int(" : "double(")
                      + expr
                      + "))"
                  : "";
          problems.add(
              m.valueAt("expr"),
              what
                  + " is declared "
                  + Types.format(type)
                  + " but its expression has type "
                  + CelTypes.name(r.get().type())
                  + hint);
        }
      }
    }
    return Optional.of(f.build());
  }

  private Optional<Aggregation> aggregation(
      YamlMap parent,
      YamlMap.Entry e,
      ExpressionCompiler compiler,
      Source source,
      String viewWhat) {
    String what = "aggregation " + Messages.quote(e.key()) + " of " + viewWhat;
    YamlMap m = YamlMap.of(parent.file(), e.valueNode(), what, problems);
    m.allowOnly(RegistryKeys.AGGREGATION);
    Aggregation.Builder a = Aggregation.newBuilder().setName(e.key()).setMetadata(metadata(m));
    String fn = m.requiredString("function");
    AggregationFunction function = null;
    if (fn != null) {
      function = Aggregations.parse(fn).orElse(null);
      if (function == null) {
        problems.add(
            m.valueAt("function"),
            "unknown aggregation function "
                + Messages.quote(fn)
                + Names.suggestion(fn, Aggregations.names())
                + "; expected one of: "
                + String.join(", ", Aggregations.names()));
      } else {
        a.setFunction(function);
      }
    }
    ValueType inputType = null;
    boolean inputOk = true;
    Optional<String> input = m.string("input");
    if (input.isPresent()) {
      a.setInput(input.get());
      if (compiler != null) {
        Optional<ExpressionCompiler.Result> r =
            expression(m, m.node("input").get(), compiler, source, input.get(), "input of " + what);
        inputOk = r.isPresent();
        if (r.isPresent()) {
          inputType = CelTypes.natural(r.get().type()).orElse(null);
          if (inputType != null) {
            a.setInputType(inputType);
          }
          if (inputType == null) {
            problems.add(
                m.valueAt("input"),
                "input of "
                    + what
                    + " has type "
                    + CelTypes.name(r.get().type())
                    + ", which cannot be aggregated");
            inputOk = false;
          }
        }
      } else {
        inputOk = false;
      }
    } else if (function != null && Aggregations.needsInput(function)) {
      problems.add(
          m.location(),
          what + " is missing required key 'input' (function " + fn + " aggregates a value)");
      inputOk = false;
    }
    if (function != null && inputOk) {
      Optional<ValueType> result = Aggregations.resultType(function, inputType);
      if (result.isEmpty()) {
        problems.add(
            m.valueAt("input"),
            "function "
                + fn
                + " cannot aggregate input of type "
                + Types.format(inputType)
                + " in "
                + what
                + "; expected "
                + Aggregations.accepts(function));
      } else {
        a.setType(result.get());
      }
    }
    if (function != null) {
      parameters(m, function, a, what);
    }
    Duration window = null;
    if (!m.has("window")) {
      problems.add(m.location(), what + " is missing required key 'window'");
    } else {
      window = duration(m, "window", what).orElse(null);
      if (window != null && window.isZero()) {
        problems.add(
            m.valueAt("window"), "window of " + what + " is 0; expected a positive duration");
        window = null;
      }
      if (window != null) {
        a.setWindow(Durations.toProto(window));
      }
    }
    Optional<Duration> hop = m.has("hop") ? duration(m, "hop", what) : Optional.empty();
    if (hop.isPresent() && hop.get().isZero()) {
      problems.add(m.valueAt("hop"), "hop of " + what + " is 0; expected a positive duration");
    } else if (hop.isPresent() && window != null && hop.get().compareTo(window) > 0) {
      problems.add(
          m.valueAt("hop"),
          "hop "
              + Durations.format(hop.get())
              + " of "
              + what
              + " is longer than its window "
              + Durations.format(window));
    } else if (window != null) {
      a.setHop(Durations.toProto(hop.orElse(Aggregations.defaultHop(window))));
    }
    return Optional.of(a.build());
  }

  /**
   * Reads the parameters of {@code function} into {@code a}, defaults filled in, so the applied
   * registry records the values its states were built with. Reports a parameter the function does
   * not take, a missing required one, and one out of its range.
   */
  private void parameters(
      YamlMap m, AggregationFunction function, Aggregation.Builder a, String what) {
    List<ParameterRule> rules = Aggregations.parameters(function);
    String fn = Aggregations.name(function);
    for (String key : m.keys()) {
      Optional<AggregateParameter> p = AggregateParameter.ofKey(key);
      if (p.isPresent() && rules.stream().noneMatch(r -> r.parameter() == p.get())) {
        problems.add(
            m.keyAt(key),
            "function "
                + fn
                + " takes no parameter "
                + Messages.quote(key)
                + " (in "
                + what
                + ")"
                + (rules.isEmpty()
                    ? "; it takes no parameters"
                    : "; it takes: "
                        + String.join(
                            ", ", rules.stream().map(r -> r.parameter().key()).toList())));
      }
    }
    for (ParameterRule rule : rules) {
      String key = rule.parameter().key();
      if (!m.has(key)) {
        if (rule.isRequired()) {
          problems.add(
              m.location(),
              what
                  + " is missing parameter "
                  + Messages.quote(key)
                  + " (function "
                  + fn
                  + " needs "
                  + rule.expected()
                  + ")");
        } else {
          rule.parameter().set(a, rule.defaultValue());
        }
        continue;
      }
      Optional<Double> value =
          rule.parameter().integral() ? m.integer(key).map(Long::doubleValue) : m.number(key);
      if (value.isEmpty()) {
        continue;
      }
      if (!rule.accepts(value.get())) {
        problems.add(
            m.valueAt(key),
            "parameter "
                + key
                + " of "
                + what
                + " is "
                + m.node(key).map(n -> ((ScalarNode) n).getValue()).orElse("?")
                + "; expected "
                + rule.expected());
      } else {
        rule.parameter().set(a, value.get());
      }
    }
  }

  /**
   * A duration value; {@code what} names the owner in messages, or is null for {@code m} itself.
   */
  private Optional<Duration> duration(YamlMap m, String key, String what) {
    return m.durationText(key)
        .flatMap(
            text -> {
              Optional<Duration> d = Durations.parse(text);
              if (d.isEmpty() && Durations.outOfRange(text)) {
                problems.add(
                    m.valueAt(key),
                    key
                        + " "
                        + Messages.quote(text)
                        + (what == null ? "" : " of " + what)
                        + " is out of range: expected "
                        + Durations.RANGE);
              } else if (d.isEmpty()) {
                problems.add(
                    m.valueAt(key),
                    "invalid "
                        + key
                        + " "
                        + Messages.quote(text)
                        + (what == null ? "" : " for " + what)
                        + "; expected "
                        + Durations.EXPECTED);
              }
              return d;
            });
  }

  /** Compiles an expression, reporting its problems at their place in the file. */
  private Optional<ExpressionCompiler.Result> expression(
      YamlMap m, Node node, ExpressionCompiler compiler, Source source, String expr, String what) {
    ExpressionCompiler.Result r = compiler.compile(expr);
    if (r.ok()) {
      Optional<String> costly = ExpressionCost.problem(r.cost());
      if (costly.isPresent()) {
        problems.add(
            expressionAt(m, node, new ExpressionCompiler.Issue(costly.get(), 1, 0)),
            "expression of " + what + " is " + costly.get());
        return Optional.empty();
      }
      return Optional.of(r);
    }
    Set<String> fields = new TreeSet<>();
    source.getSchemaList().forEach(f -> fields.add(f.getName()));
    for (ExpressionCompiler.Issue issue : r.issues()) {
      String message = issue.message();
      String hint = "";
      java.util.regex.Matcher undeclared =
          java.util.regex.Pattern.compile("undeclared reference to '([^']+)'").matcher(message);
      if (undeclared.find()) {
        message = "undeclared reference to " + Messages.quote(undeclared.group(1));
        hint =
            Names.suggestion(undeclared.group(1), fields)
                + "; source "
                + Messages.quote(source.getName())
                + " has fields: "
                + Messages.list(fields);
      }
      problems.add(
          expressionAt(m, node, issue), "invalid expression in " + what + ": " + message + hint);
    }
    return Optional.empty();
  }

  /** The file position of an issue inside a scalar: exact for one-line plain or quoted scalars. */
  private static Location expressionAt(YamlMap m, Node node, ExpressionCompiler.Issue issue) {
    Location start = m.at(node);
    if (!(node instanceof ScalarNode s) || !s.getTag().equals(Tag.STR)) {
      return start;
    }
    boolean oneLine = s.getStartMark().getLine() == s.getEndMark().getLine();
    int width = s.getEndMark().getColumn() - s.getStartMark().getColumn();
    DumperOptions.ScalarStyle style = s.getScalarStyle();
    int offset =
        switch (style) {
          case PLAIN -> width == s.getValue().length() ? 0 : -1;
          case SINGLE_QUOTED, DOUBLE_QUOTED -> width == s.getValue().length() + 2 ? 1 : -1;
          default -> -1;
        };
    if (oneLine && issue.line() == 1 && offset >= 0) {
      return new Location(start.file(), start.line(), start.column() + offset + issue.column());
    }
    return start;
  }

  private void service(Decl d) {
    String what = "feature service " + Messages.quote(d.name());
    YamlMap m = YamlMap.of(d.file(), d.value(), what, problems);
    m.allowOnly(RegistryKeys.SERVICE);
    FeatureService.Builder s =
        FeatureService.newBuilder().setName(d.name()).setMetadata(metadata(m));
    List<Node> refs = requiredList(m, "features", d.at(), what, "feature");
    Set<String> seen = new HashSet<>();
    for (Node n : refs) {
      Optional<String> ref = m.scalar(n, "features", "a feature reference 'view:feature'");
      if (ref.isEmpty()) {
        continue;
      }
      Location at = m.at(n);
      Optional<FeatureRef> parsed = FeatureRef.parse(ref.get());
      if (parsed.isEmpty()) {
        problems.add(
            at,
            "invalid feature reference "
                + Messages.quote(ref.get())
                + "; expected 'view:feature' or 'view:*'");
        continue;
      }
      if (parsed.get().version() != 0) {
        problems.add(
            at,
            "feature reference "
                + Messages.quote(ref.get())
                + " pins a view version; feature services follow each view's newest version, so"
                + " write '"
                + parsed.get().view()
                + ":"
                + parsed.get().feature()
                + "'");
        continue;
      }
      String viewName = parsed.get().view();
      String featureName = parsed.get().feature();
      FeatureView view = views.get(viewName);
      if (view == null) {
        problems.add(
            at,
            what
                + " references unknown feature view "
                + Messages.quote(viewName)
                + Names.suggestion(viewName, views.keySet())
                + knownList("feature views", views.keySet()));
        continue;
      }
      List<String> names = featureNames(view);
      List<String> selected = parsed.get().isAll() ? names : List.of(featureName);
      if (!parsed.get().isAll() && !names.contains(featureName)) {
        problems.add(
            at,
            what
                + " references unknown feature "
                + Messages.quote(featureName)
                + " of view "
                + Messages.quote(viewName)
                + Names.suggestion(featureName, names)
                + knownList("features", names));
        continue;
      }
      for (String f : selected) {
        if (!seen.add(viewName + ":" + f)) {
          problems.add(at, "feature '" + viewName + ":" + f + "' is listed twice in " + what);
          continue;
        }
        s.addFeatures(
            FeatureReference.newBuilder()
                .setView(viewName)
                .setViewVersion(view.getVersion())
                .setFeature(f));
      }
    }
    m.node("logging").ifPresent(n -> s.setLogging(logging(m.file(), n, what)));
    m.node("drift").ifPresent(n -> s.setDrift(drift(m.file(), n, what)));
    services.put(d.name(), s.build());
  }

  private FeatureLogging logging(String file, Node n, String what) {
    YamlMap m = YamlMap.of(file, n, "'logging' of " + what, problems);
    m.allowOnly(RegistryKeys.SERVICE_LOGGING);
    FeatureLogging.Builder b = FeatureLogging.newBuilder();
    if (!m.has("sample_rate")) {
      problems.add(
          m.location(),
          "'logging' of "
              + what
              + " is missing required key 'sample_rate' (the share of entities logged, e.g. 0.01)");
    }
    m.number("sample_rate")
        .ifPresent(
            r -> {
              if (!(r > 0 && r <= 1)) {
                problems.add(
                    m.valueAt("sample_rate"),
                    "sample_rate of 'logging' is "
                        + r
                        + "; expected a share of entities over 0 and at most 1, e.g. 0.01");
              } else {
                b.setSampleRate(r);
              }
            });
    return b.build();
  }

  private DriftPolicy drift(String file, Node n, String what) {
    String where = "'drift' of " + what;
    YamlMap m = YamlMap.of(file, n, where, problems);
    m.allowOnly(RegistryKeys.SERVICE_DRIFT);
    DriftPolicy.Builder b = DriftPolicy.newBuilder();
    m.number("psi_warn").ifPresent(v -> positive(m, "psi_warn", v).ifPresent(b::setPsiWarn));
    m.number("psi_alert").ifPresent(v -> positive(m, "psi_alert", v).ifPresent(b::setPsiAlert));
    double warn =
        b.hasPsiWarn() ? b.getPsiWarn() : dev.quiver.registry.monitor.DriftSettings.PSI_WARN;
    double alert =
        b.hasPsiAlert() ? b.getPsiAlert() : dev.quiver.registry.monitor.DriftSettings.PSI_ALERT;
    if ((b.hasPsiWarn() || b.hasPsiAlert()) && warn > alert) {
      problems.add(
          m.valueAt(b.hasPsiAlert() ? "psi_alert" : "psi_warn"),
          "psi_alert ("
              + alert
              + ") is below psi_warn ("
              + warn
              + ") in "
              + where
              + "; a feature warns before it alerts");
    }
    for (Node w : m.sequence("windows")) {
      m.scalar(w, "windows", "a duration such as 1h")
          .ifPresent(
              text -> {
                Optional<Duration> d = Durations.parse(text);
                if (d.isEmpty() || d.get().toMinutes() < 1) {
                  problems.add(
                      m.at(w),
                      "window "
                          + Messages.quote(text)
                          + " of "
                          + where
                          + " is not a duration of at least 1m; expected e.g. 1h or 24h");
                } else {
                  b.addWindows(Durations.toProto(d.get()));
                }
              });
    }
    m.integer("min_samples")
        .ifPresent(
            v -> {
              if (v < 1) {
                problems.add(
                    m.valueAt("min_samples"), "min_samples is " + v + "; expected at least 1");
              } else {
                b.setMinSamples(v);
              }
            });
    m.number("sample_rate")
        .ifPresent(
            r -> {
              if (!(r >= 0 && r <= 1)) {
                problems.add(
                    m.valueAt("sample_rate"),
                    "sample_rate of 'drift' is "
                        + r
                        + "; expected a share of served entity rows from 0 (off) to 1");
              } else {
                b.setSampleRate(r);
              }
            });
    m.integer("max_rows_per_second")
        .ifPresent(
            v -> {
              if (v < 0) {
                problems.add(
                    m.valueAt("max_rows_per_second"),
                    "max_rows_per_second is " + v + "; expected at least 0 (0: no bound)");
              } else {
                b.setMaxRowsPerSecond(v);
              }
            });
    m.string("baseline").ifPresent(b::setBaseline);
    return b.build();
  }

  private Optional<Double> positive(YamlMap m, String key, double v) {
    if (v <= 0) {
      problems.add(m.valueAt(key), key + " is " + v + "; expected a PSI over 0, e.g. 0.1");
      return Optional.empty();
    }
    return Optional.of(v);
  }

  /** The items of a required, non-empty list; reports it missing (at {@code declared}) or empty. */
  private List<Node> requiredList(
      YamlMap m, String key, Location declared, String what, String noun) {
    if (!m.has(key)) {
      problems.add(declared, what + " is missing required key " + Messages.quote(key));
      return List.of();
    }
    List<Node> items = m.sequence(key);
    if (items.isEmpty() && m.node(key).get() instanceof org.yaml.snakeyaml.nodes.SequenceNode) {
      problems.add(m.valueAt(key), what + " needs at least one " + noun);
    }
    return items;
  }

  /** Names of a view's features and aggregations, in declaration order. */
  public static List<String> featureNames(FeatureView view) {
    List<String> names = new ArrayList<>();
    view.getFeaturesList().forEach(f -> names.add(f.getName()));
    view.getAggregationsList().forEach(a -> names.add(a.getName()));
    return names;
  }

  private static String knownList(String what, Set<String> known) {
    return knownList(what, List.copyOf(new TreeSet<>(known)));
  }

  private static String knownList(String what, List<String> known) {
    return known.isEmpty()
        ? "; no " + what + " are declared"
        : "; declared " + what + ": " + Messages.list(known);
  }
}
