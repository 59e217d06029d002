package dev.quiver.server.backfill;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.offline.ParquetOfflineSink;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.Source;
import dev.quiver.registry.rows.RowBatch;
import dev.quiver.registry.rows.RowSink;
import dev.quiver.registry.rows.SourceArchive;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.rows.ViewShape;
import dev.quiver.registry.semantics.JoinKeys;
import dev.quiver.registry.semantics.OrderKey;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Backfills of history that never was in Kafka ({@code quiver backfill}). A request names a source
 * and a file of its events ({@link HistoryFile}); the server writes the file's records into the
 * source's archive as a partition of their own, {@code _backfill/<id>} (number {@code -id}, so at
 * an exact tie of event and created time a record from Kafka is the newer), with each record's
 * index in the file as its offset. Ingestion then fills every view of the source from the archive
 * as it fills a new view: through the same logic, into the same sinks, exactly once. A restart
 * resumes both steps from the recorded positions.
 *
 * <p>Files under {@code <data>/backfills/<source>/}: {@code <id>.request.json}, written by the
 * command, and {@code <id>.status.json}, written by the server: {@code state} (queued, archiving,
 * filling, done or failed), bytes read, records archived, and each view's position.
 *
 * <p>Thread-safe; the backfills run one at a time on a thread of their own.
 */
public final class Backfills implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Backfills.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Records written to the archive per batch. */
  static final int BATCH = 10_000;

  /** One requested backfill. */
  public record Request(String source, int id, Path file, long size, long modifiedMillis) {
    /** The archive partition of the backfill's records. */
    public SourcePartition partition() {
      return new SourcePartition("_backfill/" + id, -id);
    }
  }

  private final Path dir;
  private final ParquetOfflineSink offline;
  private final RowSink online;
  private final Supplier<RegistrySnapshot> snapshot;
  private final ExecutorService runner =
      Executors.newSingleThreadExecutor(
          r -> {
            Thread t = new Thread(r, "quiver-backfill");
            t.setDaemon(true);
            return t;
          });
  private final Set<String> started = ConcurrentHashMap.newKeySet();
  private final Map<String, ObjectNode> archived = new ConcurrentHashMap<>();

  /**
   * @param online the online store, whose positions say how far each view is
   * @param offline the offline store holding the archive
   */
  public Backfills(
      Path dataDir,
      RowSink online,
      ParquetOfflineSink offline,
      Supplier<RegistrySnapshot> snapshot) {
    this.dir = dir(dataDir);
    this.online = online;
    this.offline = offline;
    this.snapshot = snapshot;
  }

  static Path dir(Path dataDir) {
    return dataDir.resolve("backfills");
  }

  // ---------------------------------------------------------------- the command's side

  /**
   * Requests a backfill of {@code file} into {@code source}; a file requested before (same path,
   * size and modification time) gets its earlier request back, so running the command again resumes
   * or confirms it rather than loading the file twice.
   */
  public static Request submit(Path dataDir, String source, Path file) throws IOException {
    Path abs = file.toAbsolutePath().normalize();
    long size = Files.size(abs);
    long modified = Files.getLastModifiedTime(abs).toMillis();
    int next = 1;
    for (Request r : requests(dataDir)) {
      if (r.source().equals(source)) {
        if (r.file().equals(abs) && r.size() == size && r.modifiedMillis() == modified) {
          return r;
        }
      }
      next = Math.max(next, r.id() + 1);
    }
    Request r = new Request(source, next, abs, size, modified);
    ObjectNode n = JSON.createObjectNode();
    n.put("source", source);
    n.put("id", r.id());
    n.put("file", abs.toString());
    n.put("size", size);
    n.put("modified_millis", modified);
    writeAtomically(requestFile(dataDir, r), n);
    return r;
  }

  /** The status the server last wrote of {@code r}, if any. */
  public static Optional<JsonNode> status(Path dataDir, Request r) {
    Path f = statusFile(dataDir, r);
    if (!Files.isRegularFile(f)) {
      return Optional.empty();
    }
    try {
      return Optional.of(JSON.readTree(f.toFile()));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** Every request under a data directory, ids ascending per source. */
  static List<Request> requests(Path dataDir) throws IOException {
    List<Request> out = new ArrayList<>();
    Path root = dir(dataDir);
    if (!Files.isDirectory(root)) {
      return out;
    }
    try (DirectoryStream<Path> sources = Files.newDirectoryStream(root)) {
      for (Path s : sources) {
        if (!Files.isDirectory(s)) {
          continue;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(s, "*.request.json")) {
          for (Path f : files) {
            JsonNode n = JSON.readTree(f.toFile());
            out.add(
                new Request(
                    n.get("source").asText(),
                    n.get("id").asInt(),
                    Path.of(n.get("file").asText()),
                    n.get("size").asLong(),
                    n.get("modified_millis").asLong()));
          }
        }
      }
    }
    out.sort(java.util.Comparator.comparing(Request::source).thenComparingInt(Request::id));
    return out;
  }

  private static Path requestFile(Path dataDir, Request r) {
    return dir(dataDir).resolve(r.source()).resolve(r.id() + ".request.json");
  }

  private static Path statusFile(Path dataDir, Request r) {
    return dir(dataDir).resolve(r.source()).resolve(r.id() + ".status.json");
  }

  // ---------------------------------------------------------------- the server's side

  /**
   * Starts the requests not started yet (in this process) and writes the status of every request
   * not done: called by the server every second or so.
   */
  public void poll() {
    Path dataDir = dir.getParent();
    List<Request> all;
    try {
      all = requests(dataDir);
    } catch (IOException | RuntimeException e) {
      LOG.warn("backfill requests in {} could not be read: {}", dir, e.toString());
      return;
    }
    for (Request r : all) {
      String key = r.source() + "/" + r.id();
      Optional<JsonNode> s = status(dataDir, r);
      String state = s.map(n -> n.path("state").asText()).orElse("queued");
      if (state.equals("done") || state.equals("failed")) {
        continue;
      }
      if (started.add(key)) {
        runner.submit(() -> archive(r));
      } else if (state.equals("filling")) {
        progress(r);
      }
    }
  }

  /** Writes the file's records into the archive, resuming after those already there. */
  private void archive(Request r) {
    Path dataDir = dir.getParent();
    ObjectNode status = JSON.createObjectNode();
    status.put("source", r.source());
    status.put("id", r.id());
    status.put("file", r.file().toString());
    status.put("size", r.size());
    try {
      RegistrySnapshot s = snapshot.get();
      Source source =
          s.getSourcesList().stream()
              .filter(x -> x.getName().equals(r.source()))
              .findFirst()
              .orElseThrow(() -> new IOException("no source " + r.source() + " is applied"));
      if (!SourceArchive.enabled(source)) {
        throw new IOException(
            "source " + r.source() + " has no archive (archive: {enabled: false})");
      }
      ViewId archive = SourceArchive.id(source.getName());
      ViewShape shape = SourceArchive.shape(source);
      SourcePartition sp = r.partition();
      long resume = offline.committed(archive).getOrDefault(sp, 0L);
      Optional<JsonNode> before = status(dataDir, r);
      if (before.isPresent()
          && before.get().path("state").asText().equals("filling")
          && resume >= before.get().path("archived_to").asLong(Long.MAX_VALUE)) {
        // Archived before a restart: only the views are left.
        progress(r);
        return;
      }
      status.put("state", "archiving");
      long records = 0;
      long bad = 0;
      var problems = status.putArray("problems");
      try (HistoryFile file =
          HistoryFile.open(r.file(), source, JoinKeys.required(s, source.getName()))) {
        List<ViewRow> rows = new ArrayList<>(BATCH);
        long next = resume;
        for (HistoryFile.Entry e = file.next(); e != null; e = file.next()) {
          if (e.index() < resume) {
            continue;
          }
          next = e.index() + 1;
          if (e.problem() != null) {
            bad++;
            if (problems.size() < 20) {
              problems.add(e.problem());
            }
            continue;
          }
          rows.add(
              SourceArchive.row(
                  source,
                  shape,
                  e.record().fields(),
                  new OrderKey(
                      e.record().eventTimeMicros(),
                      e.record().createdTimeMicros(),
                      sp.partition(),
                      e.index())));
          records++;
          if (rows.size() >= BATCH) {
            offline.write(new RowBatch(rows, Map.of(archive, Map.of(sp, next))));
            rows.clear();
            counts(status, file, records, bad);
            write(dataDir, r, status);
          }
        }
        offline.write(new RowBatch(rows, Map.of(archive, Map.of(sp, next))));
        offline.commitAll();
        counts(status, file, records, bad);
        status.put("archived_to", next);
        status.put("state", "filling");
        write(dataDir, r, status);
      }
      archived.put(r.source() + "/" + r.id(), status);
      LOG.info(
          "backfill {} of source {}: {} records of {} archived{}; filling the views",
          r.id(),
          r.source(),
          records,
          r.file(),
          resume > 0 ? " (resumed at index " + resume + ")" : "");
      progress(r);
    } catch (IOException | RuntimeException e) {
      LOG.warn("backfill {} of source {} failed: {}", r.id(), r.source(), e.toString());
      status.put("state", "failed");
      status.put("error", e.getMessage() == null ? e.toString() : e.getMessage());
      write(dataDir, r, status);
    }
  }

  private static void counts(ObjectNode status, HistoryFile file, long records, long bad) {
    status.put("bytes_read", file.bytesRead());
    status.put("records", records);
    status.put("bad", bad);
  }

  /** Writes how far each view of the source is with the backfill's records. */
  private synchronized void progress(Request r) {
    Path dataDir = dir.getParent();
    ObjectNode status =
        archived.computeIfAbsent(
            r.source() + "/" + r.id(),
            k ->
                status(dataDir, r)
                    .filter(ObjectNode.class::isInstance)
                    .map(ObjectNode.class::cast)
                    .orElse(JSON.createObjectNode()));
    long to = status.path("archived_to").asLong(-1);
    if (to < 0) {
      return;
    }
    ObjectNode views = status.putObject("views");
    boolean done = true;
    try {
      for (FeatureView v : snapshot.get().getFeatureViewsList()) {
        if (!v.getSource().equals(r.source())) {
          continue;
        }
        long p = online.position(ViewId.of(v), r.partition());
        views.put(ViewId.of(v).toString(), p);
        done &= p >= to;
      }
    } catch (IOException e) {
      return;
    }
    if (done) {
      status.put("state", "done");
      LOG.info("backfill {} of source {}: every view is filled", r.id(), r.source());
    }
    write(dataDir, r, status);
  }

  private static void write(Path dataDir, Request r, ObjectNode status) {
    try {
      writeAtomically(statusFile(dataDir, r), status);
    } catch (IOException e) {
      LOG.warn("backfill {} of {}: its status could not be written: {}", r.id(), r.source(), e);
    }
  }

  private static void writeAtomically(Path file, JsonNode node) throws IOException {
    Files.createDirectories(file.getParent());
    Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
    Files.write(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(node));
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  @Override
  public void close() {
    runner.shutdownNow();
  }
}
