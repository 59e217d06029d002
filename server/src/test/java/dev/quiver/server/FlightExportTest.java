package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import dev.quiver.client.QuiverClient;
import dev.quiver.client.TrainingSet;
import dev.quiver.client.TrainingSetRequest;
import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.offline.export.TrainingSetExport;
import dev.quiver.proto.v1.RegistrySnapshot;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightGrpcUtils;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.TimeStampNanoVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training-set export over Arrow Flight on a running {@code quiver serve}: the Java client's {@code
 * exportTrainingSet} returns exactly what {@code quiver export} writes for the same entity table,
 * and bad requests get {@code NOT_FOUND} or {@code INVALID_ARGUMENT} naming the field.
 */
class FlightExportTest {
  static final List<String> FEATURES =
      List.of("card:amount", "card:country", "card:per_item", "card:n_1h");

  static final int MAX_ROWS = 10_000;

  @TempDir static Path dir;
  static EmbeddedKafka kafka;
  static QuiverServer server;
  static QuiverClient client;
  static RegistrySnapshot registry;
  static BufferAllocator memory;
  static Path repo;
  static Instant now;

  /** The newest event time ingested and committed offline: the offline watermark of view card. */
  static Instant newestEvent = Instant.MIN;

  @BeforeAll
  static void start() throws Exception {
    repo = dir.resolve("repo");
    registry = TestCluster.apply(repo, "flight", OnlinePathTest.REGISTRY, false);
    kafka = EmbeddedKafka.start(dir.resolve("kafka"));
    server =
        QuiverServer.start(
            QuiverServer.Options.defaults(RepoSettings.read(repo))
                .withMetricsPort(0)
                .withBootstrap(kafka.bootstrapServers())
                .withGrpcPort(0)
                .withFlightPort(0)
                .withHost("127.0.0.1")
                .withMaxExportRows(MAX_ROWS));
    client = TestCluster.client(server);
    memory = new RootAllocator();
    Random random = new Random(5);
    now = Instant.now();
    List<String> events = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      String card = "c" + random.nextInt(30);
      Instant ts = now.minusSeconds(random.nextInt(7200));
      if (ts.isAfter(newestEvent)) {
        newestEvent = ts;
      }
      StringBuilder e =
          new StringBuilder(
              "{\"card_id\":\""
                  + card
                  + "\",\"ts\":\""
                  + ts
                  + "\",\"cents\":"
                  + random.nextInt(1000)
                  + ",\"qty\":"
                  + (1 + random.nextInt(4)));
      if (random.nextInt(5) != 0) {
        e.append(",\"amount\":").append(random.nextInt(10_000) / 100.0);
      }
      if (random.nextInt(3) != 0) {
        e.append(",\"country\":\"").append(random.nextBoolean() ? "US" : "FR").append('"');
      }
      events.add(e.append('}').toString());
    }
    try (KafkaProducer<byte[], byte[]> producer = TestCluster.producer(kafka)) {
      List<Long> offsets = TestCluster.send(producer, "txns", events);
      TestCluster.awaitApplied(server, "txns", offsets.get(offsets.size() - 1) + 1);
    }
    server.offlineStore().commitAll();
  }

  @AfterAll
  static void stop() throws Exception {
    client.close();
    server.close();
    kafka.close();
    memory.close();
  }

  /** Entity rows: cards (some unknown) at times spread over the last two hours. */
  static List<String[]> entityRows(int n) {
    Random random = new Random(n);
    List<String[]> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      rows.add(
          new String[] {
            "c" + random.nextInt(33), now.minusSeconds(random.nextInt(8000)).toString(), "" + i
          });
    }
    return rows;
  }

  static VectorSchemaRoot table(List<String[]> rows) {
    Schema schema =
        new Schema(
            List.of(
                Field.nullable("card_id", ArrowType.Utf8.INSTANCE),
                Field.nullable(
                    "event_timestamp", new ArrowType.Timestamp(TimeUnit.NANOSECOND, null)),
                Field.nullable("label", new ArrowType.Int(64, true))));
    VectorSchemaRoot root = VectorSchemaRoot.create(schema, memory);
    root.allocateNew();
    VarCharVector card = (VarCharVector) root.getVector(0);
    TimeStampNanoVector ts = (TimeStampNanoVector) root.getVector(1);
    BigIntVector label = (BigIntVector) root.getVector(2);
    for (int i = 0; i < rows.size(); i++) {
      card.setSafe(i, rows.get(i)[0].getBytes(StandardCharsets.UTF_8));
      Instant t = Instant.parse(rows.get(i)[1]);
      ts.setSafe(i, t.getEpochSecond() * 1_000_000_000L + t.getNano());
      label.setSafe(i, Long.parseLong(rows.get(i)[2]));
    }
    root.setRowCount(rows.size());
    return root;
  }

  /** What quiver export writes for the same rows, as text per cell. */
  static List<List<String>> exportedByCommand(List<String[]> rows) throws Exception {
    Path csv = Files.createTempFile(dir, "entities", ".csv");
    StringBuilder text = new StringBuilder("card_id,event_timestamp,label\n");
    for (String[] r : rows) {
      text.append(String.join(",", r)).append('\n');
    }
    Files.writeString(csv, text);
    Path out = Files.createTempFile(dir, "training", ".csv");
    Files.delete(out);
    TrainingSetExport.run(
        registry,
        repo.resolve("data/offline/flight"),
        new TrainingSetExport.Request(
            csv, "event_timestamp", null, FEATURES, out, 1000, dir.resolve("spill")),
        n -> {});
    List<List<String>> result = new ArrayList<>();
    try (MappingIterator<String[]> it =
        new CsvMapper()
            .enable(CsvParser.Feature.WRAP_AS_ARRAY)
            .readerFor(String[].class)
            .readValues(out.toFile())) {
      it.next();
      it.forEachRemaining(
          r -> {
            List<String> row = new ArrayList<>();
            row.add(r[0]);
            row.add(r[2]);
            for (int i = 3; i < r.length; i++) {
              row.add(r[i]);
            }
            result.add(row);
          });
    }
    return result;
  }

  /** The training set's rows as text per cell: card, label, then the features. */
  static List<List<String>> rows(TrainingSet set) {
    List<List<String>> out = new ArrayList<>();
    assertThat(set.schema().getFields().stream().map(Field::getName).toList())
        .containsExactly(
            "card_id",
            "event_timestamp",
            "label",
            "card__amount",
            "card__country",
            "card__per_item",
            "card__n_1h");
    while (set.next()) {
      VectorSchemaRoot root = set.root();
      for (int i = 0; i < root.getRowCount(); i++) {
        List<String> row = new ArrayList<>();
        for (int c = 0; c < root.getFieldVectors().size(); c++) {
          if (c == 1) {
            continue;
          }
          FieldVector v = root.getVector(c);
          Object value = v.getObject(i);
          row.add(value == null ? "" : value.toString());
        }
        out.add(row);
      }
    }
    return out;
  }

  @Test
  void theClientGetsWhatTheExportCommandWrites() throws Exception {
    List<String[]> entities = entityRows(300);
    List<List<String>> got;
    try (VectorSchemaRoot table = table(entities);
        TrainingSet set =
            client.exportTrainingSet(TrainingSetRequest.forFeatures(FEATURES), table)) {
      got = rows(set);
      assertThat(set.rowsRead()).isEqualTo(300);
    }
    List<List<String>> want = exportedByCommand(entities);
    assertThat(got).hasSize(300).isEqualTo(want);
    // Not all null: the events really reached the training set.
    assertThat(got.stream().filter(r -> !r.get(2).isEmpty()).count()).isGreaterThan(100);
    for (int i = 0; i < got.size(); i++) {
      assertThat(got.get(i).get(1)).as("input order").isEqualTo(String.valueOf(i));
    }
  }

  @Test
  void aTableReadInBatchesComesBackInOrder() throws Exception {
    List<String[]> entities = entityRows(250);
    Path file = dir.resolve("entities.arrow");
    try (VectorSchemaRoot first = table(entities.subList(0, 100));
        VectorSchemaRoot second = table(entities.subList(100, 250));
        VectorSchemaRoot root = VectorSchemaRoot.create(first.getSchema(), memory);
        var ch =
            java.nio.channels.FileChannel.open(
                file,
                java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE);
        ArrowFileWriter writer = new ArrowFileWriter(root, null, ch)) {
      writer.start();
      for (VectorSchemaRoot batch : List.of(first, second)) {
        try (var records = new org.apache.arrow.vector.VectorUnloader(batch).getRecordBatch()) {
          new org.apache.arrow.vector.VectorLoader(root).load(records);
        }
        writer.writeBatch();
      }
      writer.end();
    }
    List<List<String>> got;
    try (var ch = Files.newByteChannel(file);
        ArrowFileReader reader = new ArrowFileReader(ch, memory);
        TrainingSet set =
            client.exportTrainingSet(TrainingSetRequest.forFeatures(FEATURES), reader)) {
      got = rows(set);
    }
    assertThat(got).isEqualTo(exportedByCommand(entities));
  }

  @Test
  void aRefusedRequestDoesNotWaitForTheWholeTable() throws Exception {
    Path file = dir.resolve("large.arrow");
    List<String[]> rows = entityRows(20_000);
    try (VectorSchemaRoot batch = table(rows);
        var ch =
            java.nio.channels.FileChannel.open(
                file,
                java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE);
        ArrowFileWriter writer = new ArrowFileWriter(batch, null, ch)) {
      writer.start();
      for (int i = 0; i < 100; i++) {
        writer.writeBatch(); // 2M rows in all
      }
      writer.end();
    }
    org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
        java.time.Duration.ofSeconds(60),
        () -> {
          try (var ch = Files.newByteChannel(file);
              ArrowFileReader reader = new ArrowFileReader(ch, memory)) {
            assertThatThrownBy(
                    () -> client.exportTrainingSet(TrainingSetRequest.forService("nope"), reader))
                .isInstanceOfSatisfying(
                    StatusRuntimeException.class,
                    e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
          }
        });
  }

  @Test
  void anEntityTableOverTheServersLimitIsRefused() {
    try (VectorSchemaRoot table = table(entityRows(MAX_ROWS + 1))) {
      assertThatThrownBy(
              () -> client.exportTrainingSet(TrainingSetRequest.forService("svc"), table))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                assertThat(e.getStatus().getDescription())
                    .contains("entity table", "more than " + MAX_ROWS + " rows");
              });
    }
    try (VectorSchemaRoot table = table(entityRows(MAX_ROWS));
        TrainingSet set = client.exportTrainingSet(TrainingSetRequest.forService("svc"), table)) {
      long rows = 0;
      while (set.next()) {
        rows += set.root().getRowCount();
      }
      assertThat(rows).as("exactly the limit is allowed").isEqualTo(MAX_ROWS);
    }
  }

  @Test
  void aServiceExportsItsFeatures() throws Exception {
    try (VectorSchemaRoot table = table(entityRows(20));
        TrainingSet set = client.exportTrainingSet(TrainingSetRequest.forService("svc"), table)) {
      assertThat(set.schema().getFields().stream().map(Field::getName).toList())
          .containsExactly(
              "card_id", "event_timestamp", "label", "card__amount", "card__country", "card__n_1h");
      long rows = 0;
      while (set.next()) {
        rows += set.root().getRowCount();
      }
      assertThat(rows).isEqualTo(20);
      assertThat(set.schema().findField("event_timestamp").getType())
          .isEqualTo(new ArrowType.Timestamp(TimeUnit.MICROSECOND, "UTC"));
    }
  }

  @Test
  void rowsPastTheOfflineWatermarkAreReportedInTheSchemaOrRefused() throws Exception {
    String watermark = newestEvent.truncatedTo(java.time.temporal.ChronoUnit.MICROS).toString();
    List<String[]> rows =
        List.of(
            new String[] {"c1", newestEvent.minusSeconds(60).toString(), "0"},
            new String[] {"c2", newestEvent.plusSeconds(3600).toString(), "1"},
            new String[] {"c3", newestEvent.plusSeconds(7200).toString(), "2"});
    try (VectorSchemaRoot table = table(rows);
        TrainingSet set =
            client.exportTrainingSet(TrainingSetRequest.forFeatures(FEATURES), table)) {
      assertThat(set.pastWatermark())
          .hasValueSatisfying(
              past ->
                  assertThat(past)
                      .contains("2 of 3 entity rows are later than the offline store's watermark")
                      .contains("card v1: watermark " + watermark + " (its newest committed event)")
                      .contains("2 rows later"));
      long n = 0;
      while (set.next()) {
        n += set.root().getRowCount();
      }
      assertThat(n).as("the rows are still exported").isEqualTo(3);
    }
    try (VectorSchemaRoot table = table(rows)) {
      assertThatThrownBy(
              () ->
                  client.exportTrainingSet(
                      TrainingSetRequest.forFeatures(FEATURES).refusePastWatermark(), table))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                assertThat(e.getStatus().getDescription())
                    .contains("entity table: 2 of 3 entity rows are later")
                    .contains("card v1: watermark " + watermark)
                    .contains("nothing was written");
              });
    }
    try (VectorSchemaRoot table = table(rows.subList(0, 1));
        TrainingSet set =
            client.exportTrainingSet(
                TrainingSetRequest.forFeatures(FEATURES).refusePastWatermark(), table)) {
      assertThat(set.pastWatermark()).isEmpty();
      assertThat(set.next()).isTrue();
      assertThat(set.root().getRowCount()).isEqualTo(1);
    }
  }

  /**
   * An entity column named like a feature's output column, exactly or in another case, would make
   * the training set's columns ambiguous: refused before any row is read, naming the column.
   */
  @Test
  void anEntityColumnNamedLikeAFeatureColumnIsRefused() {
    for (String name : List.of("card__amount", "CARD__Amount")) {
      Schema schema =
          new Schema(
              List.of(
                  Field.nullable("card_id", ArrowType.Utf8.INSTANCE),
                  Field.nullable(
                      "event_timestamp", new ArrowType.Timestamp(TimeUnit.MICROSECOND, "UTC")),
                  Field.nullable(
                      name, new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))));
      try (VectorSchemaRoot root = VectorSchemaRoot.create(schema, memory)) {
        root.setRowCount(0);
        assertThatThrownBy(
                () -> client.exportTrainingSet(TrainingSetRequest.forFeatures(FEATURES), root))
            .as(name)
            .isInstanceOfSatisfying(
                StatusRuntimeException.class,
                e -> {
                  assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                  assertThat(e.getStatus().getDescription())
                      .contains("entity table")
                      .contains("column '" + name + "' (column 3)")
                      .contains("card:amount")
                      .contains("rename or drop it");
                });
      }
    }
  }

  @Test
  void badRequestsNameTheFieldAtFault() {
    assertStatus(TrainingSetRequest.forService("nope"), Status.Code.NOT_FOUND, "service", "'nope'");
    assertStatus(
        TrainingSetRequest.forFeatures("card:amount", "card:nope"),
        Status.Code.NOT_FOUND,
        "card:nope");
    assertStatus(TrainingSetRequest.forFeatures("nope:amount"), Status.Code.NOT_FOUND, "'nope'");
    assertStatus(
        TrainingSetRequest.forFeatures("amount"),
        Status.Code.INVALID_ARGUMENT,
        "features",
        "view:feature");
    assertStatus(
        TrainingSetRequest.forFeatures(FEATURES).timestampColumn("when"),
        Status.Code.INVALID_ARGUMENT,
        "entity table",
        "'when'");
  }

  @Test
  void entityTablesWithMissingOrMistypedColumnsAreRefused() {
    Schema noKey =
        new Schema(
            List.of(
                Field.nullable(
                    "event_timestamp", new ArrowType.Timestamp(TimeUnit.MICROSECOND, "UTC"))));
    Schema intKey =
        new Schema(
            List.of(
                Field.nullable("card_id", new ArrowType.Int(64, true)),
                Field.nullable(
                    "event_timestamp", new ArrowType.Timestamp(TimeUnit.MICROSECOND, "UTC"))));
    Schema boolTime =
        new Schema(
            List.of(
                Field.nullable("card_id", ArrowType.Utf8.INSTANCE),
                Field.nullable("event_timestamp", ArrowType.Bool.INSTANCE)));
    Schema nested =
        new Schema(
            List.of(
                Field.nullable("card_id", ArrowType.Utf8.INSTANCE),
                Field.nullable(
                    "event_timestamp", new ArrowType.Timestamp(TimeUnit.MICROSECOND, "UTC")),
                new Field(
                    "extra",
                    FieldType.nullable(ArrowType.Struct.INSTANCE),
                    List.of(Field.nullable("x", new ArrowType.Int(32, true))))));
    for (Object[] c :
        new Object[][] {
          {noKey, "card_id"}, {intKey, "card_id"}, {boolTime, "event_timestamp"}, {nested, "extra"}
        }) {
      try (VectorSchemaRoot root = VectorSchemaRoot.create((Schema) c[0], memory)) {
        root.setRowCount(0);
        assertThatThrownBy(
                () -> client.exportTrainingSet(TrainingSetRequest.forFeatures(FEATURES), root))
            .isInstanceOfSatisfying(
                StatusRuntimeException.class,
                e -> {
                  assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                  assertThat(e.getStatus().getDescription())
                      .contains("entity table")
                      .contains("'" + c[1] + "'");
                });
      }
    }
  }

  @Test
  void malformedCommandsFromAnyFlightClientAreInvalidArguments() throws Exception {
    ManagedChannel channel =
        ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
    FlightClient flight = FlightGrpcUtils.createFlightClient(memory, channel);
    try {
      for (String[] c :
          new String[][] {
            {"not json", "descriptor"},
            {"[1]", "descriptor"},
            {"{\"service\":\"svc\",\"label\":\"y\"}", "label: unknown field"},
            {"{\"service\":\"svc\",\"features\":[\"card:amount\"]}", "service"},
            {"{}", "service"},
            {"{\"features\":[\"card:amount\", 3]}", "features[1]"},
            {"{\"features\":[]}", "features"},
            {"{\"service\":\"svc\",\"timestamp_column\":\"\"}", "timestamp_column"},
            {"{\"service\":\"svc\",\"baseline\":\"../up\"}", "baseline must be letters"},
            {"{\"service\":\"svc\",\"baseline\":true}", "baseline: expected the name"},
            {"{\"service\":\"svc\",\"baseline\":3}", "baseline: expected the name"},
            {"{\"features\":[\"card:amount\"],\"baseline\":\"b\"}", "baseline: only"},
          }) {
        FlightClient.ExchangeReaderWriter x =
            flight.doExchange(FlightDescriptor.command(c[0].getBytes(StandardCharsets.UTF_8)));
        try {
          x.getWriter().completed(); // the request is refused before any table is read
          assertThatThrownBy(() -> x.getReader().next())
              .as(c[0])
              .isInstanceOfSatisfying(
                  FlightRuntimeException.class,
                  e -> {
                    assertThat(e.status().code()).isEqualTo(FlightStatusCode.INVALID_ARGUMENT);
                    assertThat(e.getMessage()).contains(c[1]);
                  });
        } finally {
          x.close();
        }
      }
      FlightClient.ExchangeReaderWriter path = flight.doExchange(FlightDescriptor.path("a", "b"));
      path.getWriter().completed();
      assertThatThrownBy(() -> path.getReader().next())
          .isInstanceOfSatisfying(
              FlightRuntimeException.class,
              e -> assertThat(e.status().code()).isEqualTo(FlightStatusCode.INVALID_ARGUMENT));
      path.close();
    } finally {
      flight.close();
      channel.shutdownNow().awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
    }
    // The server goes on serving exports after all of these.
    try (VectorSchemaRoot table = table(entityRows(5));
        TrainingSet set = client.exportTrainingSet(TrainingSetRequest.forService("svc"), table)) {
      assertThat(set.next()).isTrue();
      assertThat(set.root().getRowCount()).isEqualTo(5);
    }
  }

  static final java.time.Duration IDLE = java.time.Duration.ofSeconds(3);
  static final java.time.Duration TOTAL = java.time.Duration.ofSeconds(12);

  /** A second server, with short export time limits, on the same broker. */
  static QuiverServer timedServer() throws Exception {
    Path timedRepo = dir.resolve("timed-repo");
    if (!Files.exists(timedRepo)) {
      TestCluster.apply(timedRepo, "timed", OnlinePathTest.REGISTRY, false);
    }
    return QuiverServer.start(
        QuiverServer.Options.defaults(RepoSettings.read(timedRepo))
            .withMetricsPort(0)
            .withBootstrap(kafka.bootstrapServers())
            .withGrpcPort(0)
            .withFlightPort(0)
            .withHost("127.0.0.1")
            .withExportTimeouts(IDLE, TOTAL));
  }

  /**
   * An export service of its own on a gRPC port of its own, over the served registry version and
   * offline store, recording baselines through {@code baselines} (or none when null).
   */
  static final class ExportEndpoint implements AutoCloseable {
    final io.grpc.Server grpc;
    final FlightExportService service;
    final java.util.concurrent.ExecutorService threads =
        java.util.concurrent.Executors.newCachedThreadPool();
    final ManagedChannel channel;
    final QuiverClient client;

    ExportEndpoint(ServiceBaselines baselines, Path work) throws Exception {
      service =
          new FlightExportService(
              () -> registry,
              () -> repo.resolve("data/offline/flight"),
              work,
              memory,
              new FlightExportService.Limits(
                  2,
                  MAX_ROWS,
                  1000,
                  FlightExportService.Limits.DEFAULT_IDLE,
                  FlightExportService.Limits.DEFAULT_TOTAL),
              new io.micrometer.core.instrument.simple.SimpleMeterRegistry(),
              baselines);
      grpc =
          io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder.forAddress(
                  new java.net.InetSocketAddress("127.0.0.1", 0))
              .addService(
                  FlightGrpcUtils.createFlightService(
                      memory,
                      service,
                      org.apache.arrow.flight.auth.ServerAuthHandler.NO_OP,
                      threads))
              .build()
              .start();
      channel =
          ManagedChannelBuilder.forAddress("127.0.0.1", grpc.getPort()).usePlaintext().build();
      client = QuiverClient.forChannel(channel, java.time.Duration.ofSeconds(30));
    }

    /** Exports {@code rows}; returns the nulls of each feature column of the training set. */
    java.util.Map<String, Long> export(TrainingSetRequest request, List<String[]> rows) {
      java.util.Map<String, Long> nulls = new java.util.LinkedHashMap<>();
      try (VectorSchemaRoot table = table(rows);
          TrainingSet set = client.exportTrainingSet(request, table)) {
        long read = 0;
        while (set.next()) {
          VectorSchemaRoot root = set.root();
          read += root.getRowCount();
          for (FieldVector v : root.getFieldVectors()) {
            if (v.getName().contains("__")) {
              nulls.merge(v.getName(), (long) v.getNullCount(), Long::sum);
            }
          }
        }
        assertThat(read).isEqualTo(rows.size());
      }
      return nulls;
    }

    @Override
    public void close() throws Exception {
      client.close();
      channel.shutdownNow().awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
      grpc.shutdownNow().awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
      service.close();
      threads.shutdownNow();
    }
  }

  @Test
  void aServiceExportRecordsTheTrainingSetsProfileAsABaseline() throws Exception {
    Path data = dir.resolve("baselines-recorded");
    Instant at = Instant.parse("2026-12-02T02:30:00.750Z");
    ServiceBaselines baselines =
        new ServiceBaselines(data, "flight", java.time.Clock.fixed(at, java.time.ZoneOffset.UTC));
    try (ExportEndpoint endpoint = new ExportEndpoint(baselines, dir.resolve("work-recorded"))) {
      List<String[]> rows = entityRows(300);
      java.util.Map<String, Long> nulls =
          endpoint.export(TrainingSetRequest.forService("svc").baseline("flight-1"), rows);
      dev.quiver.registry.monitor.Baseline named =
          dev.quiver.registry.monitor.Baseline.read(
              dev.quiver.registry.monitor.Baseline.path(data, "flight", "svc", "flight-1"));
      assertThat(named.service()).isEqualTo("svc");
      assertThat(named.rows()).isEqualTo(300);
      assertThat(named.features().keySet())
          .containsExactly("card__amount", "card__country", "card__n_1h");
      assertThat(named.features().values()).allSatisfy(f -> assertThat(f.count()).isEqualTo(300));
      // Some entity rows are of unknown cards or before any event: their nulls are profiled.
      assertThat(nulls.get("card__amount")).isPositive();
      named
          .features()
          .forEach((column, profile) -> assertThat(profile.nulls()).isEqualTo(nulls.get(column)));
      Instant earliest =
          rows.stream().map(r -> Instant.parse(r[1])).min(Instant::compareTo).orElseThrow();
      assertThat(named.from()).isEqualTo(dev.quiver.registry.semantics.Micros.truncate(earliest));

      // Unnamed, the baseline takes the export's time; a second export in the same second does not
      // overwrite the first.
      endpoint.export(TrainingSetRequest.forService("svc"), rows.subList(0, 50));
      endpoint.export(TrainingSetRequest.forService("svc"), rows.subList(0, 20));
      assertThat(
              dev.quiver.registry.monitor.Baseline.read(
                      dev.quiver.registry.monitor.Baseline.path(
                          data, "flight", "svc", "2026-12-02T02-30-00Z"))
                  .rows())
          .isEqualTo(50);
      assertThat(
              dev.quiver.registry.monitor.Baseline.read(
                      dev.quiver.registry.monitor.Baseline.path(
                          data, "flight", "svc", "2026-12-02T02-30-00Z-2"))
                  .rows())
          .isEqualTo(20);
    }
  }

  @Test
  void noBaselineIsRecordedWhenTheRequestAsksForNoneOrNamesFeatures() throws Exception {
    Path data = dir.resolve("baselines-skipped");
    Path svc = dev.quiver.registry.monitor.Baseline.path(data, "flight", "svc", "x").getParent();
    try (ExportEndpoint endpoint =
        new ExportEndpoint(
            new ServiceBaselines(data, "flight", java.time.Clock.systemUTC()),
            dir.resolve("work-skipped"))) {
      endpoint.export(TrainingSetRequest.forService("svc").noBaseline(), entityRows(30));
      endpoint.export(TrainingSetRequest.forFeatures(FEATURES), entityRows(30));
      assertThat(data.resolve("monitoring")).doesNotExist();
      // The same endpoint records one when asked nothing: the option, not the server, skipped it.
      endpoint.export(TrainingSetRequest.forService("svc"), entityRows(30));
      try (var files = Files.list(svc)) {
        assertThat(files.map(f -> f.getFileName().toString()).toList())
            .singleElement()
            .asString()
            .endsWith("Z.baseline");
      }
    }
    // A server that records no baselines refuses a request naming one, and exports the others.
    try (ExportEndpoint endpoint = new ExportEndpoint(null, dir.resolve("work-off"))) {
      try (VectorSchemaRoot table = table(entityRows(5))) {
        assertThatThrownBy(
                () ->
                    endpoint.client.exportTrainingSet(
                        TrainingSetRequest.forService("svc").baseline("b"), table))
            .isInstanceOfSatisfying(
                StatusRuntimeException.class,
                e -> {
                  assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                  assertThat(e.getMessage()).contains("baseline: this server records no baselines");
                });
      }
      assertThat(endpoint.export(TrainingSetRequest.forService("svc"), entityRows(5)))
          .containsOnlyKeys("card__amount", "card__country", "card__n_1h");
    }
  }

  static FlightClient.ExchangeReaderWriter open(FlightClient flight, VectorSchemaRoot schemaOnly) {
    FlightClient.ExchangeReaderWriter x =
        flight.doExchange(
            FlightDescriptor.command("{\"service\":\"svc\"}".getBytes(StandardCharsets.UTF_8)));
    if (schemaOnly != null) {
      x.getWriter().start(schemaOnly);
    }
    return x;
  }

  static FlightRuntimeException failure(FlightClient.ExchangeReaderWriter x) {
    try {
      while (x.getReader().next()) {}
    } catch (FlightRuntimeException e) {
      return e;
    }
    throw new AssertionError("the exchange ended without an error");
  }

  @Test
  void idleClientsLoseTheirSlotsAfterTheIdleTimeoutAndOthersExportAgain() throws Exception {
    try (QuiverServer timed = timedServer();
        QuiverClient timedClient = TestCluster.client(timed);
        VectorSchemaRoot schema = table(entityRows(5));
        VectorSchemaRoot schema2 = table(entityRows(5))) {
      ManagedChannel channel =
          ManagedChannelBuilder.forAddress("127.0.0.1", timed.grpcPort()).usePlaintext().build();
      FlightClient flight = FlightGrpcUtils.createFlightClient(memory, channel);
      try {
        // Two clients send a schema and a batch, then nothing: they hold both export slots.
        FlightClient.ExchangeReaderWriter first = open(flight, schema);
        first.getWriter().putNext();
        FlightClient.ExchangeReaderWriter second = open(flight, schema2);
        second.getWriter().putNext();
        long opened = System.nanoTime();
        TestCluster.await(
            () -> {
              try (VectorSchemaRoot t = table(entityRows(3));
                  TrainingSet probe =
                      timedClient.exportTrainingSet(TrainingSetRequest.forService("svc"), t)) {
                while (probe.next()) {}
                return false;
              } catch (StatusRuntimeException e) {
                return e.getStatus().getCode() == Status.Code.RESOURCE_EXHAUSTED;
              } catch (Exception e) {
                return false;
              }
            },
            "both slots held by the idle clients");
        for (FlightClient.ExchangeReaderWriter idle : List.of(first, second)) {
          FlightRuntimeException e = failure(idle);
          assertThat(e.status().code()).isEqualTo(FlightStatusCode.TIMED_OUT);
          assertThat(e.getMessage())
              .contains("sent nothing for 3 s")
              .contains("export idle timeout")
              .contains("--export-idle-seconds");
          idle.close();
        }
        assertThat(java.time.Duration.ofNanos(System.nanoTime() - opened))
            .as("not cut off before the idle timeout")
            .isGreaterThanOrEqualTo(IDLE.minusMillis(500));
        // Their slots are free again: a third client exports.
        try (VectorSchemaRoot t = table(entityRows(7));
            TrainingSet set =
                timedClient.exportTrainingSet(TrainingSetRequest.forService("svc"), t)) {
          long rows = 0;
          while (set.next()) {
            rows += set.root().getRowCount();
          }
          assertThat(rows).isEqualTo(7);
        }
      } finally {
        flight.close();
        channel.shutdownNow().awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void anExchangeThatNeverSendsASchemaIsCutOffAfterTheIdleTimeout() throws Exception {
    try (QuiverServer timed = timedServer()) {
      ManagedChannel channel =
          ManagedChannelBuilder.forAddress("127.0.0.1", timed.grpcPort()).usePlaintext().build();
      FlightClient flight = FlightGrpcUtils.createFlightClient(memory, channel);
      try {
        long started = System.nanoTime();
        FlightClient.ExchangeReaderWriter silent = open(flight, null);
        FlightRuntimeException e =
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                java.time.Duration.ofSeconds(30), () -> failure(silent));
        assertThat(e.status().code()).isEqualTo(FlightStatusCode.TIMED_OUT);
        assertThat(e.getMessage()).contains("export idle timeout");
        assertThat(java.time.Duration.ofNanos(System.nanoTime() - started))
            .isGreaterThanOrEqualTo(IDLE.minusMillis(500));
        silent.close();
      } finally {
        flight.close();
        channel.shutdownNow().awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void anExportThatTricklesPastTheTotalLimitIsEnded() throws Exception {
    try (QuiverServer timed = timedServer();
        VectorSchemaRoot batch = table(entityRows(10))) {
      ManagedChannel channel =
          ManagedChannelBuilder.forAddress("127.0.0.1", timed.grpcPort()).usePlaintext().build();
      FlightClient flight = FlightGrpcUtils.createFlightClient(memory, channel);
      try {
        long started = System.nanoTime();
        FlightClient.ExchangeReaderWriter slow = open(flight, batch);
        // A batch a second: never idle for long, but never done.
        try {
          for (int i = 0; i < 40 && !slow.getReader().hasRoot(); i++) {
            slow.getWriter().putNext();
            Thread.sleep(1000);
            if (System.nanoTime() - started > TOTAL.plusSeconds(10).toNanos()) {
              break;
            }
          }
        } catch (RuntimeException ended) {
          // the server ended the call; its status is read below
        }
        FlightRuntimeException e = failure(slow);
        assertThat(e.status().code()).isEqualTo(FlightStatusCode.RESOURCE_EXHAUSTED);
        assertThat(e.getMessage())
            .contains("took longer than 12 s")
            .contains("--export-max-seconds");
        assertThat(java.time.Duration.ofNanos(System.nanoTime() - started))
            .isGreaterThanOrEqualTo(TOTAL.minusMillis(500));
        slow.close();
      } finally {
        flight.close();
        channel.shutdownNow().awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
      }
    }
  }

  private static void assertStatus(TrainingSetRequest request, Status.Code code, String... parts) {
    try (VectorSchemaRoot table = table(entityRows(4))) {
      assertThatThrownBy(() -> client.exportTrainingSet(request, table))
          .as(request.toString())
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(code);
                assertThat(e.getStatus().getDescription()).contains(parts);
              });
    }
  }
}
