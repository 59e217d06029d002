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
 * "timestamp_column"}), writes its entity table as Arrow record batches, and reads back the
 * training set: every entity row in order with its columns unchanged and one column per feature
 * ({@code view__feature}), as {@code quiver export} writes it. The request and the entity table's
 * schema are checked before any row is read: an unknown service or feature is {@code NOT_FOUND}, a
 * malformed request or a missing or mistyped column is {@code INVALID_ARGUMENT}, each naming the
 * field at fault. The entity rows are spooled to disk and joined by the same point-in-time engine
 * as the command, so neither side has to fit in memory.
 */
final class FlightExportService extends NoOpFlightProducer {
  private static final Logger LOG = LoggerFactory.getLogger(FlightExportService.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> FIELDS = Set.of("service", "features", "timestamp_column");

  /** The entity table's timestamp column when the request names none (as for quiver export). */
  static final String DEFAULT_TIMESTAMP_COLUMN = "event_timestamp";

  private final Supplier<RegistrySnapshot> registry;
  private final Supplier<Path> offlineRoot;
  private final Path workDir;
  private final BufferAllocator allocator;
  private final Semaphore slots;
  private final Limits limits;
  private final MeterRegistry meters;

  /**
   * What one server allows.
   *
   * @param concurrent exports that may run at once; more get {@code RESOURCE_EXHAUSTED}
   * @param entityRows rows an entity table may have; a larger one gets {@code INVALID_ARGUMENT}
   * @param memoryRows rows a sort keeps in memory before spilling
   */
  record Limits(int concurrent, long entityRows, int memoryRows) {}

  /**
   * @param registry the registry version being served
   * @param offlineRoot the offline store of the served project
   * @param workDir where entity tables and results are spooled, one directory per export
   */
  FlightExportService(
      Supplier<RegistrySnapshot> registry,
      Supplier<Path> offlineRoot,
      Path workDir,
      BufferAllocator allocator,
      Limits limits,
      MeterRegistry meters)
      throws IOException {
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

  /** A checked export request. */
  record ExportRequest(String service, List<String> features, String timestampColumn) {}

  @Override
  public void doExchange(CallContext context, FlightStream reader, ServerStreamListener writer) {
    Timer.Sample sample = Timer.start(meters);
    String outcome = "ok";
    Path work = null;
    boolean acquired = false;
    try {
      ExportRequest request = parse(reader.getDescriptor());
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
        ArrowEntityTable.check(reader.getSchema(), request.timestampColumn(), keys);
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
      long rows = spool(reader, entities, context, limits.entityRows());
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
                    work),
                done -> {
                  if (context.isCancelled()) {
                    throw CallStatus.CANCELLED
                        .withDescription("the client cancelled the export")
                        .toRuntimeException();
                  }
                });
      } catch (TrainingSetExport.UnknownFeatureException e) {
        throw CallStatus.NOT_FOUND.withDescription(e.getMessage()).toRuntimeException();
      } catch (IllegalArgumentException e) {
        throw invalid("entity table: " + e.getMessage());
      }
      send(out, writer);
      LOG.info(
          "flight export of {} entity rows ({}) in {} ms",
          rows,
          request.service() != null ? "service " + request.service() : request.features(),
          summary.took().toMillis());
    } catch (FlightRuntimeException e) {
      outcome = e.status().code().name().toLowerCase(java.util.Locale.ROOT);
      writer.error(e);
    } catch (IOException | RuntimeException e) {
      outcome = "internal";
      LOG.error("flight export failed", e);
      writer.error(
          CallStatus.INTERNAL
              .withDescription("the export failed: " + e.getMessage())
              .withCause(e)
              .toRuntimeException());
    } finally {
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
        throw invalid(name + ": unknown field; expected service, features or timestamp_column");
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
    return new ExportRequest(
        service == null ? null : service.asText(),
        refs,
        ts == null ? DEFAULT_TIMESTAMP_COLUMN : ts.asText());
  }

  /** Writes the client's batches to an Arrow IPC file; returns the number of rows. */
  private static long spool(FlightStream reader, Path file, CallContext context, long maxRows)
      throws IOException {
    long rows = 0;
    VectorSchemaRoot root = reader.getRoot();
    try (FileChannel ch =
            FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        ArrowFileWriter out = new ArrowFileWriter(root, null, ch)) {
      out.start();
      while (reader.next()) {
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
  private void send(Path file, ServerStreamListener writer) throws IOException {
    try (SeekableByteChannel ch = Files.newByteChannel(file);
        ArrowFileReader in = new ArrowFileReader(ch, allocator)) {
      VectorSchemaRoot root = in.getVectorSchemaRoot();
      BackpressureStrategy backpressure = new BackpressureStrategy.CallbackBackpressureStrategy();
      backpressure.register(writer);
      writer.start(root);
      while (in.loadNextBatch()) {
        BackpressureStrategy.WaitResult ready = backpressure.waitForListener(60_000);
        if (ready == BackpressureStrategy.WaitResult.CANCELLED) {
          return;
        }
        if (ready != BackpressureStrategy.WaitResult.READY) {
          throw CallStatus.TIMED_OUT
              .withDescription("the client stopped reading the training set")
              .toRuntimeException();
        }
        writer.putNext();
      }
      writer.completed();
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
