package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.client.OnlineRequest;
import dev.quiver.client.QuiverClient;
import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.offline.ParquetFiles;
import dev.quiver.offline.export.TrainingSetExport;
import dev.quiver.proto.v1.FeatureColumn;
import dev.quiver.proto.v1.FeatureStatus;
import dev.quiver.proto.v1.GetOnlineFeaturesResponse;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.Value;
import dev.quiver.registry.semantics.FutureEvents;
import dev.quiver.server.SkewReference.Cell;
import dev.quiver.server.SkewReference.Feature;
import dev.quiver.server.SkewStreams.Entity;
import dev.quiver.server.SkewStreams.Event;
import dev.quiver.server.SkewStreams.Round;
import io.micrometer.core.instrument.Counter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.parquet.hadoop.ParquetReader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The no-skew contract, on streams built to break it: for many random rounds, each with its own
 * instant t and its own entities, a lookup with the request clock at t and an export of the same
 * entities at t give the same bits for every entity and feature (a value is the serialized {@code
 * quiver.v1.Value}; an export null is an online status other than {@code PRESENT}), and both give
 * what the Semantics of the design say, worked out from the events by {@link SkewReference}:
 * status, value and event timestamp in microseconds, sums, means, variances and standard deviations
 * correctly rounded. Every aggregation function is covered; where a function has no exact reference
 * ({@code approx_count_distinct}, {@code approx_percentile} over more than k rows), only online and
 * export are compared.
 *
 * <p>One server and one broker serve every round; the events of all rounds are sent shuffled
 * together, then each round is looked up with the clock at its t, and one export holds a row per
 * entity and round (an Arrow file, and a Parquet file for the lists of timestamps Arrow export does
 * not write). {@code -Dquiver.skew.seed=N} replays a seed (the streams relative to every window and
 * hop boundary are the same on any date) and {@code -Dquiver.skew.rounds=N} sets the number of
 * rounds. A failure gives counts by problem, feature and kind of stream, then the first differences
 * with the seed, round, t, entity, feature, both answers, the expected one and the entity's events;
 * {@code -Dquiver.skew.report=PREFIX} writes every difference to files.
 */
class SkewContractTest {
  private static final long SEED = Long.getLong("quiver.skew.seed", 20261202L);
  private static final int ROUNDS = Integer.getInteger("quiver.skew.rounds", 30);
  private static final String TOPIC = "skew.events";
  private static final int SHOWN = 12;

  @TempDir static Path dir;

  /** One answer for one entity and feature of one round, from each side. */
  record Observation(
      Round round, Entity entity, Feature feature, Cell online, Value exported, Cell expected) {}

  private static final List<Observation> observations = new ArrayList<>();

  /** The most the ingesting clock stands before a round's t. */
  static final Duration MAX_LEAD_DURATION = Duration.ofMinutes(10);

  static final long MAX_LEAD = MAX_LEAD_DURATION.toNanos() / 1000;

  /** A clock whose instant the test sets: a lookup's request time is exactly the round's t. */
  static final class SettableClock extends Clock {
    private volatile Instant now;

    SettableClock(Instant now) {
      this.now = now;
    }

    void set(Instant instant) {
      now = instant;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException("the test clock is UTC");
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  @BeforeAll
  static void runRounds() throws Exception {
    Path repo = dir.resolve("repo");
    RegistrySnapshot registry =
        TestCluster.apply(repo, "skew", SkewReference.registryYaml(TOPIC), false);
    List<Feature> features = SkewReference.features();
    List<String> references = features.stream().map(Feature::reference).toList();

    Instant started = Instant.now();
    SettableClock clock = new SettableClock(started);
    long notAfter = micros(started);
    Random seeds = new Random(SEED);
    List<Round> rounds = new ArrayList<>();
    for (int i = 0; i < ROUNDS; i++) {
      long seed = seeds.nextLong();
      rounds.add(SkewStreams.round(i, seed, SkewStreams.chooseT(new Random(seed), notAfter)));
    }
    // Time only moves forward, as on a real server: the rounds are ingested in the order of their
    // instants, each while the clock stands a random lead before its t (so some of its events are
    // ahead of the ingesting clock, held apart online, and visible at t or not), then looked up
    // with the clock at t.
    rounds.sort(Comparator.comparingLong(Round::t));
    Random leads = new Random(SEED);
    List<Event> events = new ArrayList<>();

    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        KafkaProducer<byte[], byte[]> producer = TestCluster.producer(kafka);
        QuiverServer server = serve(repo, kafka, clock);
        QuiverClient client = TestCluster.client(server)) {
      Map<Round, GetOnlineFeaturesResponse> online = new LinkedHashMap<>();
      long previousT = Long.MIN_VALUE;
      for (Round round : rounds) {
        long lead =
            Math.min(
                leads.nextInt(4) == 0 ? 0 : (long) (leads.nextDouble() * MAX_LEAD),
                Math.max(0, round.t() - previousT));
        previousT = round.t();
        clock.set(instant(round.t() - lead));
        // Out of order: the round's events shuffled.
        List<Event> roundEvents = new ArrayList<>();
        round.entities().forEach(e -> roundEvents.addAll(e.events()));
        Collections.shuffle(roundEvents, new Random(round.seed()));
        List<Long> offsets =
            TestCluster.send(producer, TOPIC, roundEvents.stream().map(e -> e.json).toList());
        for (int i = 0; i < roundEvents.size(); i++) {
          roundEvents.get(i).offset = offsets.get(i);
        }
        events.addAll(roundEvents);
        TestCluster.awaitApplied(server, "events", offsets.get(offsets.size() - 1) + 1);
        clock.set(instant(round.t()));
        online.put(
            round,
            client
                .getOnlineFeatures(
                    OnlineRequest.forFeatures(references)
                        .entity(
                            "user_id", round.entities().stream().map(e -> (Object) e.id()).toList())
                        .fullFeatureNames())
                .toProto());
      }
      double deadLetters =
          server.meters().find("quiver.ingest.dead_letters").counters().stream()
              .mapToDouble(Counter::count)
              .sum();
      assertThat(deadLetters)
          .as(
              "dead letters: every event of these streams is valid, and the expectations count them all")
          .isZero();
      server.offlineStore().commitAll();

      StringBuilder table = new StringBuilder("user_id,event_timestamp\n");
      for (Round round : rounds) {
        for (Entity e : round.entities()) {
          table.append(e.id()).append(',').append(SkewStreams.text(round.t())).append('\n');
        }
      }
      Path entities = dir.resolve("entities.csv");
      Files.writeString(entities, table);
      Path out = dir.resolve("training.arrow");
      // The Arrow export writes lists of strings, numbers and booleans; the other features go
      // through a Parquet export of the same table.
      List<Feature> inParquet = features.stream().filter(f -> !inArrow(f)).toList();
      export(
          registry,
          repo,
          entities,
          features.stream().filter(SkewContractTest::inArrow).map(Feature::reference).toList(),
          out);
      List<Map<String, Object>> exported = readArrow(out);
      assertThat(exported).as("export rows").hasSize(table.toString().split("\n").length - 1);
      if (!inParquet.isEmpty()) {
        Path parquet = dir.resolve("training.parquet");
        export(
            registry, repo, entities, inParquet.stream().map(Feature::reference).toList(), parquet);
        List<String> columns = new ArrayList<>(List.of("user_id"));
        inParquet.forEach(f -> columns.add(f.column()));
        List<Map<String, Object>> more = readParquet(parquet, columns);
        assertThat(more).as("Parquet export rows").hasSize(exported.size());
        for (int i = 0; i < more.size(); i++) {
          assertThat(more.get(i).get("user_id")).isEqualTo(exported.get(i).get("user_id"));
          exported.get(i).putAll(more.get(i));
        }
      }

      int row = 0;
      for (Round round : rounds) {
        Map<String, FeatureColumn> columns = new HashMap<>();
        online.get(round).getFeaturesList().forEach(c -> columns.put(c.getName(), c));
        for (int i = 0; i < round.entities().size(); i++, row++) {
          Entity entity = round.entities().get(i);
          assertThat(exported.get(row).get("user_id")).isEqualTo(entity.id());
          for (Feature f : features) {
            FeatureColumn c = columns.get(f.column());
            assertThat(c).as("online column %s", f.column()).isNotNull();
            Cell served = new Cell(c.getStatuses(i), c.getValues(i), c.getEventTimestamps(i));
            Object cell = exported.get(row).get(f.column());
            observations.add(
                new Observation(
                    round,
                    entity,
                    f,
                    served,
                    cell == null ? null : SkewReference.exported(cell, f),
                    f.expected(entity.events(), round.t())));
          }
        }
      }
    }
  }

  @Test
  void onlineAndExportAgreeBitForBitAtTheSameInstant() {
    check(
        "skew",
        "online and export at the same t disagree",
        o -> true,
        o -> {
          FeatureStatus served = o.online().status();
          if (served == FeatureStatus.PRESENT) {
            if (o.exported() == null) {
              return "online PRESENT, export null";
            }
            return SkewReference.sameBits(o.online().value(), o.exported())
                ? null
                : "different values";
          }
          return o.exported() == null ? null : "online " + served + ", export a value";
        });
  }

  @Test
  void onlineAnswersAreWhatTheSemanticsSay() {
    check(
        "online",
        "online differs from the semantics (status, value bits, event timestamp in µs)",
        o -> o.expected() != null,
        o -> {
          Cell want = o.expected();
          Cell got = o.online();
          List<String> wrong = new ArrayList<>();
          if (got.status() != want.status()) {
            wrong.add(want.status() + " served as " + got.status());
          } else if (!SkewReference.sameBits(got.value(), want.value())) {
            wrong.add("value");
          }
          if (!got.eventTime().equals(want.eventTime())) {
            wrong.add("event timestamp");
          }
          return wrong.isEmpty() ? null : String.join(" + ", wrong);
        });
  }

  @Test
  void exportIsWhatTheSemanticsSay() {
    check(
        "export",
        "export differs from the semantics (value bits; null where a lookup is not PRESENT)",
        o -> o.expected() != null,
        o -> offlineProblem(o, o.expected()));
  }

  @Test
  void doubleSumsMeansAndSpreadsAreTheExactValueRoundedOnceOnBothPaths() {
    check(
        "rounding",
        "a double sum, mean, variance or standard deviation is not the correctly rounded exact"
            + " value (online or export)",
        o ->
            o.expected() != null
                && o.feature() instanceof SkewReference.Aggregation a
                && a.roundedOnce(),
        o -> {
          Cell want = o.expected();
          boolean online =
              o.online().status() == want.status()
                  && SkewReference.sameBits(o.online().value(), want.value());
          boolean offline = offlineProblem(o, want) == null;
          if (online && offline) {
            return null;
          }
          return (online ? "" : "online")
              + (online || offline ? "" : " + ")
              + (offline ? "" : "export");
        });
  }

  /** What is wrong with the export's value against {@code want}, or null. */
  private static String offlineProblem(Observation o, Cell want) {
    if (want.status() == FeatureStatus.PRESENT) {
      if (o.exported() == null) {
        return "PRESENT exported as null";
      }
      return SkewReference.sameBits(o.exported(), want.value()) ? null : "different values";
    }
    return o.exported() == null ? null : want.status() + " exported as a value";
  }

  /**
   * Fails listing how many observations break {@code holds}, by feature and kind, and the first.
   */
  private static void check(
      String name,
      String what,
      Predicate<Observation> applies,
      java.util.function.Function<Observation, String> problem) {
    List<Observation> checked = observations.stream().filter(applies).toList();
    assertThat(checked).as("observations").isNotEmpty();
    Map<Observation, String> problems = new LinkedHashMap<>();
    for (Observation o : checked) {
      String p = problem.apply(o);
      if (p != null) {
        problems.put(o, p);
      }
    }
    List<Observation> wrong = new ArrayList<>(problems.keySet());
    if (wrong.isEmpty()) {
      return;
    }
    StringBuilder m = new StringBuilder();
    m.append(what)
        .append(": ")
        .append(wrong.size())
        .append(" of ")
        .append(checked.size())
        .append(" (seed ")
        .append(SEED)
        .append(", ")
        .append(ROUNDS)
        .append(" rounds)\n  by problem: ")
        .append(counts(wrong, problems::get))
        .append("\n  by feature: ")
        .append(counts(wrong, o -> o.feature().column()))
        .append("\n  by kind of stream: ")
        .append(counts(wrong, o -> o.entity().kind()))
        .append('\n');
    // One example of each kind of stream and problem first, so that each kind of mistake shows.
    List<Observation> examples = new ArrayList<>();
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (Observation o : wrong) {
      if (examples.size() < SHOWN && seen.add(o.entity().kind() + "|" + problems.get(o))) {
        examples.add(o);
      }
    }
    for (Observation o : wrong) {
      if (examples.size() < SHOWN && !examples.contains(o)) {
        examples.add(o);
      }
    }
    examples.forEach(o -> m.append(describe(o, problems.get(o))));
    System.out.println(m);
    String all = System.getProperty("quiver.skew.report");
    if (all != null) {
      StringBuilder every = new StringBuilder(m);
      wrong.forEach(o -> every.append(describe(o, problems.get(o))));
      try {
        Files.writeString(Path.of(all + "-" + name + ".txt"), every);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
    throw new AssertionError(m.toString());
  }

  private static String counts(
      List<Observation> wrong, java.util.function.Function<Observation, String> by) {
    Map<String, Long> n =
        wrong.stream()
            .collect(Collectors.groupingBy(by, LinkedHashMap::new, Collectors.counting()));
    return n.entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .map(e -> e.getKey() + "=" + e.getValue())
        .collect(Collectors.joining(", "));
  }

  private static String describe(Observation o, String problem) {
    long t = o.round().t();
    StringBuilder m = new StringBuilder();
    m.append("- round ")
        .append(o.round().number())
        .append(" (round seed ")
        .append(o.round().seed())
        .append("), t=")
        .append(SkewStreams.text(t))
        .append(" (")
        .append(t)
        .append(" µs), entity ")
        .append(o.entity().id())
        .append(", feature ")
        .append(o.feature().reference())
        .append(": ")
        .append(problem)
        .append('\n');
    m.append("    online:   ").append(o.online()).append('\n');
    m.append("    export:   ")
        .append(o.exported() == null ? "null" : SkewReference.toString(o.exported()))
        .append('\n');
    m.append("    expected: ")
        .append(o.expected() == null ? "(no exact reference)" : o.expected())
        .append('\n');
    if (o.feature() instanceof SkewReference.Aggregation a) {
      long start = a.window().start(t);
      m.append("    window:   [")
          .append(SkewStreams.text(start))
          .append(" = t")
          .append(relative(start - t))
          .append(", t]\n");
    }
    m.append("    events (by order key; * = after t):\n");
    List<Event> events = new ArrayList<>(o.entity().events());
    events.sort(
        Comparator.<Event>comparingLong(e -> e.eventMicros)
            .thenComparingLong(e -> e.createdMicros)
            .thenComparingLong(e -> e.offset));
    for (Event e : events) {
      m.append("      ")
          .append(e.eventMicros > t ? "* " : "  ")
          .append("t")
          .append(relative(e.eventMicros - t))
          .append(" offset ")
          .append(e.offset)
          .append(' ')
          .append(e.json)
          .append('\n');
    }
    return m.toString();
  }

  /** A signed duration in microseconds, as {@code +1µs}, {@code -10m0.000001s}. */
  private static String relative(long micros) {
    if (micros == 0) {
      return "";
    }
    String sign = micros < 0 ? "-" : "+";
    long a = Math.abs(micros);
    if (a < 1000) {
      return sign + a + "µs";
    }
    Duration d = Duration.ofNanos(a * 1000);
    return sign + d.toString().substring(2).toLowerCase(java.util.Locale.ROOT);
  }

  private static QuiverServer serve(Path repo, EmbeddedKafka kafka, Clock clock) throws Exception {
    return QuiverServer.start(
        QuiverServer.Options.defaults(RepoSettings.read(repo))
            .withMetricsPort(0)
            .withBootstrap(kafka.bootstrapServers())
            .withGrpcPort(0)
            .withFlightPort(0)
            .withHost("127.0.0.1")
            .withRegistryPoll(Duration.ofMillis(100))
            .withFutureEvents(FutureEvents.allowing(MAX_LEAD_DURATION.plusMinutes(5)))
            .withClock(clock));
  }

  /**
   * Whether the Arrow export writes {@code f}: it writes lists of strings, numbers and booleans.
   */
  private static boolean inArrow(Feature f) {
    return !f.list() || f.type() != ScalarType.SCALAR_TYPE_TIMESTAMP;
  }

  private static void export(
      RegistrySnapshot registry, Path repo, Path entities, List<String> references, Path out)
      throws Exception {
    Path spill = Files.createDirectories(dir.resolve("spill"));
    TrainingSetExport.run(
        registry,
        repo.resolve("data/offline/skew"),
        new TrainingSetExport.Request(
            entities, "event_timestamp", null, references, out, 100_000, spill),
        n -> {});
  }

  /**
   * A Parquet export's rows, in the Arrow reading's forms: column name to value (Long micros for
   * timestamps, also in lists).
   */
  private static List<Map<String, Object>> readParquet(Path file, List<String> columns)
      throws Exception {
    List<Map<String, Object>> rows = new ArrayList<>();
    try (ParquetReader<Object[]> reader = ParquetFiles.reader(file, columns)) {
      for (Object[] record = reader.read(); record != null; record = reader.read()) {
        Map<String, Object> row = new HashMap<>();
        for (int c = 0; c < columns.size(); c++) {
          Object value = record[c];
          if (value instanceof List<?> list) {
            value = list.stream().map(SkewContractTest::fromParquet).toList();
          }
          row.put(columns.get(c), fromParquet(value));
        }
        rows.add(row);
      }
    }
    return rows;
  }

  private static Object fromParquet(Object value) {
    return value instanceof Instant i ? micros(i) : value;
  }

  /** The export's rows: column name to value (Long micros for timestamps, String for text). */
  private static List<Map<String, Object>> readArrow(Path file) throws Exception {
    List<Map<String, Object>> rows = new ArrayList<>();
    try (RootAllocator allocator = new RootAllocator();
        ArrowFileReader reader = new ArrowFileReader(Files.newByteChannel(file), allocator)) {
      VectorSchemaRoot root = reader.getVectorSchemaRoot();
      while (reader.loadNextBatch()) {
        for (int i = 0; i < root.getRowCount(); i++) {
          Map<String, Object> row = new HashMap<>();
          for (FieldVector v : root.getFieldVectors()) {
            Object value = v.getObject(i);
            row.put(
                v.getName(),
                value instanceof org.apache.arrow.vector.util.Text text ? text.toString() : value);
          }
          rows.add(row);
        }
      }
    }
    return rows;
  }

  private static long micros(Instant i) {
    return Math.addExact(Math.multiplyExact(i.getEpochSecond(), 1_000_000L), i.getNano() / 1000);
  }

  private static Instant instant(long micros) {
    return Instant.ofEpochSecond(
        Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1000);
  }
}
