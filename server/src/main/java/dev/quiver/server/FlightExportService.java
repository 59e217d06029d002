package dev.quiver.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.offline.export.ArrowEntityTable;
import dev.quiver.offline.export.TrainingSetExport;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.ScalarType;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.function.Supplier;
import org.apache.arrow.flight.BackpressureStrategy;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.NoOpFlightProducer;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Training-set export over Arrow Flight, served by {@code quiver serve} on its gRPC port.
 *
 * <p>A client opens a {@code DoExchange} whose descriptor is a command holding a JSON export
 * request ({@code {"service": ...}} or {@code {"features": [...]}}, and optionally {@code
 * "timestamp_column"} and, for a service, {@code "baseline"}), writes its entity table as Arrow
 * record batches, and reads back the training set: every entity row in order with its columns
 * unchanged and one column per feature ({@code view__feature}), as {@code quiver export} writes it.
 * The request and the entity table's schema are checked before any row is read: an unknown service
 * or feature is {@code NOT_FOUND}, a malformed request or a missing or mistyped column is {@code
 * INVALID_ARGUMENT}, each naming the field at fault. The entity rows are spooled to disk and joined
 * by the same point-in-time engine as the command, so neither side has to fit in memory.
 *
 * <p>An export of a feature service records the training set's profile as a drift baseline of the
 * service, as {@code quiver export --service} does ({@link ServiceBaselines}): named by the
 * request's {@code "baseline"} or the export's time, or none for {@code "baseline": false}. It is
 * recorded once the training set is computed, before it is sent, so a failure to record it fails
 * the export.
 */
final class FlightExportService extends NoOpFlightProducer {
  private static final Logger LOG = LoggerFactory.getLogger(FlightExportService.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> FIELDS =
      Set.of("service", "features", "timestamp_column", "baseline", "refuse_past_watermark");

  /**
   * The key of the training set's schema metadata that reports entity rows later than the offline
   * store's watermark of a view they read; absent when there are none.
   */
  static final String PAST_WATERMARK_METADATA = "quiver.past_watermark";

  /** The entity table's timestamp column when the request names none (as for quiver export). */
  static final String DEFAULT_TIMESTAMP_COLUMN = "event_timestamp";

  private final Supplier<RegistrySnapshot> registry;
  private final Supplier<Path> offlineRoot;
  private final Path workDir;
  private final BufferAllocator allocator;
  private final Semaphore slots;
  private final Limits limits;
  private final MeterRegistry meters;
  private final ServiceBaselines baselines;
  private final java.util.concurrent.ScheduledExecutorService watchdog =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "quiver-flight-watchdog");
            t.setDaemon(true);
            return t;
          });

  /**
   * What one server allows.
   *
   * @param concurrent exports that may run at once; more get {@code RESOURCE_EXHAUSTED}
   * @param entityRows rows an entity table may have; a larger one gets {@code INVALID_ARGUMENT}
   * @param memoryRows rows a sort keeps in memory before spilling
   * @param idleTimeout the longest the server waits for the next message of a client (the request,
   *     the entity table's schema, its next batch, or reading the result) before it ends the export
   *     with {@code DEADLINE_EXCEEDED}
   * @param totalTimeout the longest one export may take, upload to last batch; past it the export
   *     ends with {@code RESOURCE_EXHAUSTED}
   */
  record Limits(
      int concurrent,
      long entityRows,
      int memoryRows,
      java.time.Duration idleTimeout,
      java.time.Duration totalTimeout) {
    /** The idle timeout unless configured otherwise. */
    static final java.time.Duration DEFAULT_IDLE = java.time.Duration.ofSeconds(60);

    /** The total time limit unless configured otherwise. */
    static final java.time.Duration DEFAULT_TOTAL = java.time.Duration.ofHours(1);

    Limits {
      checkTimeouts(idleTimeout, totalTimeout);
    }

    /** Refuses timeouts that are not positive, naming the setting. */
    static void checkTimeouts(java.time.Duration idle, java.time.Duration total) {
      if (idle.isNegative() || idle.isZero()) {
        throw new IllegalArgumentException(IDLE_SETTING + " must be positive, got " + idle);
      }
      if (total.isNegative() || total.isZero()) {
        throw new IllegalArgumentException(TOTAL_SETTING + " must be positive, got " + total);
      }
    }
  }

  /**
   * @param registry the registry version being served
   * @param offlineRoot the offline store of the served project
   * @param workDir where entity tables and results are spooled, one directory per export
   * @param baselines where exports of a feature service record its baselines, or null to record
   *     none (a request naming a baseline is then refused)
   */
  FlightExportService(
      Supplier<RegistrySnapshot> registry,
      Supplier<Path> offlineRoot,
      Path workDir,
      BufferAllocator allocator,
      Limits limits,
      MeterRegistry meters,
      ServiceBaselines baselines)
      throws IOException {
    this.baselines = baselines;
    this.registry = registry;
    this.offlineRoot = offlineRoot;
    this.workDir = workDir;
    this.allocator = allocator;
    this.slots = new Semaphore(limits.concurrent());
    this.limits = limits;
    this.meters = meters;
    // Spools of exports that a crash interrupted.
    delete(workDir);
    Files.createDirectories(workDir);
  }

  /** An export service that records no baselines. */
  FlightExportService(
      Supplier<RegistrySnapshot> registry,
      Supplier<Path> offlineRoot,
      Path workDir,
      BufferAllocator allocator,
      Limits limits,
      MeterRegistry meters)
      throws IOException {
    this(registry, offlineRoot, workDir, allocator, limits, meters, null);
  }

  /**
   * A checked export request.
   *
   * @param baseline the name to record the service's baseline under, or null for the default
   * @param recordBaseline false when the request asks for no baseline
   * @param refusePastWatermark refuse with {@code UNAVAILABLE} when an entity row is later than the
   *     offline watermark of a view it reads
   */
  record ExportRequest(
      String service,
      List<String> features,
      String timestampColumn,
      String baseline,
      boolean recordBaseline,
      boolean refusePastWatermark) {}

  @Override
  public void doExchange(CallContext context, FlightStream reader, ServerStreamListener writer) {
    Timer.Sample sample = Timer.start(meters);
    String outcome = "ok";
    Path work = null;
    boolean acquired = false;
    Watch watch = new Watch();
    try {
      ExportRequest request = parse(watch.waitFor(reader::getDescriptor));
      if (baselines == null && request.baseline() != null) {
        throw invalid("baseline: this server records no baselines; leave out the baseline field");
      }
      RegistrySnapshot snapshot = registry.get();
      if (snapshot.getVersion() == 0) {
        throw CallStatus.UNAVAILABLE
            .withDescription("nothing has been applied to the registry yet; run quiver apply")
            .toRuntimeException();
      }
      Map<String, ScalarType> keys;
      try {
        keys = TrainingSetExport.joinKeys(snapshot, request.service(), request.features());
      } catch (TrainingSetExport.UnknownFeatureException e) {
        throw CallStatus.NOT_FOUND
            .withDescription(
                (request.service() != null ? "service: " : "features: ") + e.getMessage())
            .toRuntimeException();
      } catch (IllegalArgumentException e) {
        throw invalid("features: " + e.getMessage());
      }
      try {
        org.apache.arrow.vector.types.pojo.Schema schema = watch.waitFor(reader::getSchema);
        ArrowEntityTable.check(schema, request.timestampColumn(), keys);
        TrainingSetExport.checkColumns(
            null,
            schema.getFields().stream()
                .map(org.apache.arrow.vector.types.pojo.Field::getName)
                .toList(),
            TrainingSetExport.featureColumns(snapshot, request.service(), request.features()));
      } catch (IllegalArgumentException e) {
        throw invalid("entity table: " + e.getMessage());
      }
      if (!slots.tryAcquire()) {
        throw CallStatus.RESOURCE_EXHAUSTED
            .withDescription("too many training-set exports are running; try again later")
            .toRuntimeException();
      }
      acquired = true;
      work = Files.createTempDirectory(workDir, "export-");
      Path entities = work.resolve("entities.arrow");
      long rows = spool(reader, entities, context, limits.entityRows(), watch);
      Path out = work.resolve("training-set.arrow");
      TrainingSetExport.Summary summary;
      try {
        summary =
            TrainingSetExport.run(
                snapshot,
                offlineRoot.get(),
                new TrainingSetExport.Request(
                    entities,
                    request.timestampColumn(),
                    request.service(),
                    request.features(),
                    out,
                    limits.memoryRows(),
                    work,
                    request.refusePastWatermark()),
                done -> {
                  if (context.isCancelled()) {
                    throw CallStatus.CANCELLED
                        .withDescription("the client cancelled the export")
                        .toRuntimeException();
                  }
                });
      } catch (TrainingSetExport.UnknownFeatureException e) {
        throw CallStatus.NOT_FOUND.withDescription(e.getMessage()).toRuntimeException();
      } catch (TrainingSetExport.PastWatermarkException e) {
        // Flight has no FAILED_PRECONDITION; the state fixes itself as ingestion commits, so the
        // call can be retried later, as when nothing is applied yet.
        throw CallStatus.UNAVAILABLE
            .withDescription("entity table: " + e.getMessage())
            .toRuntimeException();
      } catch (IllegalArgumentException e) {
        throw invalid("entity table: " + e.getMessage());
      }
      ServiceBaselines.Recorded recorded = null;
      if (summary.baseline() != null && request.recordBaseline() && baselines != null) {
        recorded = baselines.record(summary.baseline(), request.baseline());
      }
      Map<String, String> metadata = Map.of();
      if (!summary.pastWatermark().isEmpty()) {
        String past = summary.pastWatermark().describe();
        metadata = Map.of(PAST_WATERMARK_METADATA, past);
        LOG.warn("flight export: {}", past);
      }
      send(out, writer, watch, metadata);
      if (recorded != null) {
        LOG.info(
            "recorded baseline {} of service {}: {}",
            recorded.name(),
            request.service(),
            recorded.file());
      }
      LOG.info(
          "flight export of {} entity rows ({}) in {} ms",
          rows,
          request.service() != null ? "service " + request.service() : request.features(),
          summary.took().toMillis());
    } catch (FlightRuntimeException e) {
      FlightRuntimeException error = watch.stop() != null ? watch.stop() : e;
      outcome = error.status().code().name().toLowerCase(java.util.Locale.ROOT);
      writer.error(error);
    } catch (IOException | RuntimeException e) {
      FlightRuntimeException expired = watch.stop();
      if (expired != null) {
        outcome = expired.status().code().name().toLowerCase(java.util.Locale.ROOT);
        writer.error(expired);
        return;
      }
      outcome = "internal";
      LOG.error("flight export failed", e);
      writer.error(
          CallStatus.INTERNAL
              .withDescription("the export failed: " + e.getMessage())
              .withCause(e)
              .toRuntimeException());
    } finally {
      watch.stop();
      if (acquired) {
        slots.release();
      }
      if (work != null) {
        delete(work);
      }
      sample.stop(meters.timer("quiver.flight.exports", "outcome", outcome));
    }
  }

  /** Parses and checks the JSON request of a command descriptor. */
  static ExportRequest parse(FlightDescriptor descriptor) {
    if (descriptor == null || !descriptor.isCommand()) {
      throw invalid(
          "descriptor: expected a command descriptor holding a JSON export request, such as"
              + " {\"service\": \"fraud_model_v1\"}");
    }
    JsonNode json;
    try {
      json = JSON.readTree(new String(descriptor.getCommand(), StandardCharsets.UTF_8));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw invalid("descriptor: the command is not JSON: " + e.getOriginalMessage());
    }
    if (json == null || !json.isObject()) {
      throw invalid("descriptor: the command must be a JSON object");
    }
    for (Iterator<String> names = json.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!FIELDS.contains(name)) {
        throw invalid(
            name
                + ": unknown field; expected service, features, timestamp_column, baseline or"
                + " refuse_past_watermark");
      }
    }
    JsonNode service = json.get("service");
    JsonNode features = json.get("features");
    if ((service == null) == (features == null)) {
      throw invalid("service: give either service or features, not both and not neither");
    }
    if (service != null && (!service.isTextual() || service.asText().isEmpty())) {
      throw invalid("service: expected the name of a feature service");
    }
    List<String> refs = null;
    if (features != null) {
      if (!features.isArray() || features.isEmpty()) {
        throw invalid("features: expected a non-empty list of view:feature references");
      }
      refs = new ArrayList<>();
      for (int i = 0; i < features.size(); i++) {
        if (!features.get(i).isTextual()) {
          throw invalid("features[" + i + "]: expected a view:feature reference");
        }
        refs.add(features.get(i).asText());
      }
    }
    JsonNode ts = json.get("timestamp_column");
    if (ts != null && (!ts.isTextual() || ts.asText().isEmpty())) {
      throw invalid("timestamp_column: expected a column name");
    }
    JsonNode baseline = json.get("baseline");
    String baselineName = null;
    boolean recordBaseline = true;
    if (baseline != null) {
      if (baseline.isBoolean() && !baseline.asBoolean()) {
        recordBaseline = false;
      } else if (!baseline.isTextual()) {
        throw invalid(
            "baseline: expected the name to record the baseline under, or false for none");
      } else if (service == null) {
        throw invalid(
            "baseline: only an export of a feature service records a baseline; this one names"
                + " features");
      } else {
        try {
          baselineName = ServiceBaselines.checkName(baseline.asText());
        } catch (IllegalArgumentException e) {
          throw invalid("baseline " + e.getMessage());
        }
      }
    }
    JsonNode refuse = json.get("refuse_past_watermark");
    if (refuse != null && !refuse.isBoolean()) {
      throw invalid("refuse_past_watermark: expected true or false");
    }
    return new ExportRequest(
        service == null ? null : service.asText(),
        refs,
        ts == null ? DEFAULT_TIMESTAMP_COLUMN : ts.asText(),
        baselineName,
        recordBaseline,
        refuse != null && refuse.asBoolean());
  }

  /** Writes the client's batches to an Arrow IPC file; returns the number of rows. */
  private static long spool(
      FlightStream reader, Path file, CallContext context, long maxRows, Watch watch)
      throws IOException {
    long rows = 0;
    VectorSchemaRoot root = reader.getRoot();
    try (FileChannel ch =
            FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        ArrowFileWriter out = new ArrowFileWriter(root, null, ch)) {
      out.start();
      while (watch.waitFor(reader::next)) {
        if (context.isCancelled()) {
          throw CallStatus.CANCELLED
              .withDescription("the client cancelled the export")
              .toRuntimeException();
        }
        rows += root.getRowCount();
        if (rows > maxRows) {
          throw invalid(
              "entity table: more than "
                  + maxRows
                  + " rows, the most this server takes in one export (quiver serve"
                  + " --max-export-rows); split the table");
        }
        out.writeBatch();
      }
      out.end();
    }
    return rows;
  }

  /** Streams an Arrow IPC file to the client, batch by batch, as fast as it reads. */
  private void send(
      Path file, ServerStreamListener writer, Watch watch, Map<String, String> metadata)
      throws IOException {
    try (SeekableByteChannel ch = Files.newByteChannel(file);
        ArrowFileReader in = new ArrowFileReader(ch, allocator)) {
      VectorSchemaRoot batch = in.getVectorSchemaRoot();
      // The same vectors under a schema that carries the metadata, if any.
      VectorSchemaRoot root =
          metadata.isEmpty()
              ? batch
              : new VectorSchemaRoot(
                  new org.apache.arrow.vector.types.pojo.Schema(
                      batch.getSchema().getFields(), metadata),
                  batch.getFieldVectors(),
                  0);
      BackpressureStrategy backpressure = new BackpressureStrategy.CallbackBackpressureStrategy();
      backpressure.register(writer);
      writer.start(root);
      while (in.loadNextBatch()) {
        BackpressureStrategy.WaitResult ready =
            backpressure.waitForListener(limits.idleTimeout().toMillis());
        if (ready == BackpressureStrategy.WaitResult.CANCELLED) {
          return;
        }
        if (ready != BackpressureStrategy.WaitResult.READY) {
          if (watch.stop() != null) {
            throw watch.stop();
          }
          throw CallStatus.TIMED_OUT
              .withDescription(
                  "the client read nothing of the training set for "
                      + seconds(limits.idleTimeout())
                      + ", the server's export idle timeout ("
                      + IDLE_SETTING
                      + ")")
              .toRuntimeException();
        }
        if (root != batch) {
          root.setRowCount(batch.getRowCount());
        }
        writer.putNext();
      }
      writer.completed();
    }
  }

  /** The setting of the idle timeout, as error messages name it. */
  static final String IDLE_SETTING = "quiver serve --export-idle-seconds";

  /** The setting of the total time limit, as error messages name it. */
  static final String TOTAL_SETTING = "quiver serve --export-max-seconds";

  private static String seconds(java.time.Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }

  /** Stops the watchdog: exports still running are no longer timed. */
  void close() {
    watchdog.shutdownNow();
  }

  /**
   * Times one export on the thread that runs it: while the export waits for its client (for the
   * request, the schema, the next batch), more than the idle timeout without a message ends it;
   * whatever it is doing, more than the total limit ends it. A watchdog thread ends an export by
   * interrupting the export's thread, which is blocked or working, and the export then answers with
   * the status {@link #stop} returns. Only the watchdog and the export's own thread use it.
   */
  private final class Watch {
    private final Thread thread = Thread.currentThread();
    private final long started = System.nanoTime();
    private final java.util.concurrent.ScheduledFuture<?> task;
    private volatile long heard = started;
    private volatile boolean waiting;
    private FlightRuntimeException expired; // guarded by this
    private boolean stopped; // guarded by this

    Watch() {
      long period =
          Math.max(
              10,
              Math.min(
                  1000,
                  Math.min(limits.idleTimeout().toMillis(), limits.totalTimeout().toMillis())
                      / 10));
      task =
          watchdog.scheduleAtFixedRate(
              this::check, period, period, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /** Waits for the client; the idle timeout runs while it does. */
    <T> T waitFor(Supplier<T> read) {
      heard = System.nanoTime();
      waiting = true;
      try {
        return read.get();
      } finally {
        waiting = false;
        heard = System.nanoTime();
      }
    }

    private synchronized void check() {
      if (stopped || expired != null) {
        return;
      }
      long now = System.nanoTime();
      if (now - started > limits.totalTimeout().toNanos()) {
        expire(
            CallStatus.RESOURCE_EXHAUSTED
                .withDescription(
                    "the export took longer than "
                        + seconds(limits.totalTimeout())
                        + ", the most one export may take on this server ("
                        + TOTAL_SETTING
                        + "); split the entity table")
                .toRuntimeException());
      } else if (waiting && now - heard > limits.idleTimeout().toNanos()) {
        expire(
            CallStatus.TIMED_OUT
                .withDescription(
                    "the client sent nothing for "
                        + seconds(limits.idleTimeout())
                        + " while the export waited for its entity table, the server's export"
                        + " idle timeout ("
                        + IDLE_SETTING
                        + ")")
                .toRuntimeException());
      }
    }

    private void expire(FlightRuntimeException why) {
      expired = why;
      LOG.info("flight export ended: {}", why.status().description());
      thread.interrupt();
    }

    /**
     * Stops timing (idempotent; on the export's thread only) and clears an interrupt the watchdog
     * made, so cleanup runs normally.
     *
     * @return the status a timeout ended the export with, or null
     */
    FlightRuntimeException stop() {
      FlightRuntimeException why;
      synchronized (this) {
        stopped = true;
        why = expired;
      }
      task.cancel(false);
      if (why != null) {
        Thread.interrupted();
      }
      return why;
    }
  }

  private static FlightRuntimeException invalid(String message) {
    return CallStatus.INVALID_ARGUMENT.withDescription(message).toRuntimeException();
  }

  private static void delete(Path dir) {
    try {
      WorkDirs.delete(dir);
    } catch (IOException e) {
      LOG.warn("could not delete {}", dir, e);
    }
  }
}
