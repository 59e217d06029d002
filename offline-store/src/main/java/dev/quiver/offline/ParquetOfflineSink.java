package dev.quiver.offline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.registry.rows.RowBatch;
import dev.quiver.registry.rows.RowSink;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.rows.ViewShape;
import dev.quiver.registry.semantics.OfflineLayout;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.schema.MessageType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The offline store's writer: every view version's rows as Parquet files under {@code
 * <root>/<view>/v<version>/date=YYYY-MM-DD/}, one date directory per event date (UTC).
 *
 * <p>Rows go to open files written under hidden temporary names ({@code .part-....tmp}, which
 * Parquet readers skip). A commit of a view closes and forces all its open files, then atomically
 * writes a commit record {@code _commits/<seq>.json} naming the files and the source positions they
 * bring the view to, and only then renames the files to their final names. A crash before the
 * record leaves temporaries that are deleted on restart and records that ingestion reads again from
 * the recorded positions; a crash after it is rolled forward by finishing the renames. So a restart
 * resumes exactly after the last committed record: no row lost, none written twice.
 *
 * <p>Files roll when they exceed {@link Limits#maxFileBytes()} or have been open {@link
 * Limits#maxFileAge()}; {@link #close()} commits everything. Thread-safe: views commit
 * independently.
 */
public final class ParquetOfflineSink implements RowSink, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ParquetOfflineSink.class);

  /** A full disk fails every commit until space is freed: one line a minute, not one a commit. */
  private final dev.quiver.registry.util.RepeatingFailureLog commitFailures =
      new dev.quiver.registry.util.RepeatingFailureLog(
          LOG, "offline store", java.time.Duration.ofMinutes(1));

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * When files roll.
   *
   * @param maxFileBytes commit a view when one of its open files holds about this much data
   * @param maxFileAge commit a view whose oldest uncommitted change is this old
   */
  public record Limits(long maxFileBytes, Duration maxFileAge) {
    public static Limits defaults() {
      return new Limits(128L * 1024 * 1024, Duration.ofMinutes(1));
    }
  }

  /** Points of a commit where a test can inject a crash. */
  public enum Step {
    /** Files closed and forced under temporary names; no commit record yet. */
    FILES_WRITTEN,
    /** Commit record written; files not yet renamed. */
    RECORD_WRITTEN
  }

  /** Fault injection for tests: called at each {@link Step}; may throw to simulate a crash. */
  @FunctionalInterface
  public interface StepHook {
    void reached(Step step) throws IOException;
  }

  private final Path root;
  private final Limits limits;
  private final StepHook hook;
  private final Clock clock;
  private final Map<ViewId, ViewFiles> views = new ConcurrentHashMap<>();

  /**
   * Views whose uncommitted rows were dropped after a failed commit, until their writer reads their
   * committed positions again: a write before that would leave a gap in the files.
   */
  private final Set<ViewId> stale = ConcurrentHashMap.newKeySet();

  private final ScheduledExecutorService roller;
  private volatile boolean closed;

  /**
   * @param root the project's offline directory, {@code <data_dir>/offline/<project>}
   */
  public ParquetOfflineSink(Path root, Limits limits, Clock clock) throws IOException {
    this(root, limits, clock, step -> {});
  }

  /** A sink that calls {@code hook} at each step of a commit, for fault-injection tests. */
  public ParquetOfflineSink(Path root, Limits limits, Clock clock, StepHook hook)
      throws IOException {
    this.root = Objects.requireNonNull(root, "root");
    this.hook = Objects.requireNonNull(hook, "hook");
    this.limits = Objects.requireNonNull(limits, "limits");
    this.clock = Objects.requireNonNull(clock, "clock");
    Files.createDirectories(root);
    this.roller =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "quiver-offline-roller");
              t.setDaemon(true);
              return t;
            });
    long period = Math.max(100, Math.min(1000, limits.maxFileAge().toMillis() / 2));
    roller.scheduleWithFixedDelay(this::commitExpired, period, period, TimeUnit.MILLISECONDS);
  }

  @Override
  public String name() {
    return "offline";
  }

  /** Every view version, source archives too. */
  @Override
  public boolean accepts(ViewId view) {
    return true;
  }

  /** The directory of a view version's files. */
  public Path directory(ViewId view) {
    return OfflineLayout.viewDir(root, view.name(), view.version());
  }

  @Override
  public long position(ViewId view, SourcePartition partition) throws IOException {
    stale.remove(view);
    return files(view).position(partition);
  }

  @Override
  public boolean rewindNeeded(ViewId view) {
    return stale.contains(view);
  }

  /**
   * The committed positions of a view, for monitoring: unlike {@link #position} it does not tell
   * the sink that its writer has caught up after a failure.
   */
  public Map<SourcePartition, Long> committed(ViewId view) throws IOException {
    return files(view).committed();
  }

  @Override
  public void prepare(Collection<ViewId> ids) throws IOException {
    for (ViewId v : ids) {
      files(v);
    }
  }

  @Override
  public void write(RowBatch batch) throws IOException {
    checkOpen();
    for (ViewId v : batch.positions().keySet()) {
      if (stale.contains(v)) {
        throw new IOException(
            "the uncommitted rows of "
                + v
                + " were dropped after a failed commit; read its committed positions and write"
                + " again from there");
      }
    }
    Map<ViewId, List<ViewRow>> byView = new LinkedHashMap<>();
    for (ViewRow r : batch.rows()) {
      byView.computeIfAbsent(r.view(), v -> new ArrayList<>()).add(r);
    }
    for (ViewId v : batch.positions().keySet()) {
      byView.putIfAbsent(v, List.of());
    }
    for (Map.Entry<ViewId, List<ViewRow>> e : byView.entrySet()) {
      ViewFiles f = files(e.getKey());
      try {
        f.write(e.getValue(), batch.positions().getOrDefault(e.getKey(), Map.of()));
      } catch (IOException | RuntimeException failure) {
        discard(f);
        throw failure;
      }
    }
  }

  /**
   * Deletes the committed files of {@code view} in date directories before {@code first} (a
   * retention): files still being written are left alone, and commit records keep their positions,
   * so nothing is read again. Returns the number of files deleted.
   */
  public int deleteDatesBefore(ViewId view, LocalDate first) throws IOException {
    Path dir = directory(view);
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    int deleted = 0;
    try (DirectoryStream<Path> dates = Files.newDirectoryStream(dir, "date=*")) {
      for (Path date : dates) {
        LocalDate d;
        try {
          d = LocalDate.parse(date.getFileName().toString().substring("date=".length()));
        } catch (java.time.format.DateTimeParseException e) {
          continue;
        }
        if (!d.isBefore(first)) {
          continue;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(date, "part-*.parquet")) {
          for (Path f : files) {
            Files.deleteIfExists(f);
            deleted++;
          }
        }
        try (DirectoryStream<Path> left = Files.newDirectoryStream(date)) {
          if (!left.iterator().hasNext()) {
            Files.deleteIfExists(date);
          }
        }
      }
    }
    if (deleted > 0) {
      LOG.info("offline {}: deleted {} files dated before {}", view, deleted, first);
    }
    return deleted;
  }

  /**
   * One commit record of a view version: its sequence number, the files it names (resolved in the
   * view's directory; they may since have been deleted by a retention) and the positions it brings
   * the view to.
   */
  public record Commit(long seq, List<Path> files, Map<SourcePartition, Long> positions) {}

  /** The commit records of the view version in {@code viewDir}, in commit order. */
  public static List<Commit> commits(Path viewDir) throws IOException {
    List<Path> records = new ArrayList<>();
    Path dir = viewDir.resolve("_commits");
    if (Files.isDirectory(dir)) {
      try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "*.json")) {
        s.forEach(records::add);
      }
    }
    records.sort(null);
    List<Commit> out = new ArrayList<>(records.size());
    for (Path record : records) {
      JsonNode r = JSON.readTree(record.toFile());
      List<Path> files = new ArrayList<>();
      for (JsonNode f : r.get("files")) {
        files.add(viewDir.resolve(f.asText()));
      }
      Map<SourcePartition, Long> positions = new HashMap<>();
      r.get("positions")
          .properties()
          .forEach(
              e -> {
                int slash = e.getKey().lastIndexOf('/');
                positions.put(
                    new SourcePartition(
                        e.getKey().substring(0, slash),
                        Integer.parseInt(e.getKey().substring(slash + 1))),
                    e.getValue().asLong());
              });
      out.add(new Commit(r.get("seq").asLong(), List.copyOf(files), Map.copyOf(positions)));
    }
    return out;
  }

  /** Commits every view with uncommitted rows or positions. */
  public void commitAll() throws IOException {
    for (ViewFiles f : views.values()) {
      try {
        f.commit();
      } catch (IOException | RuntimeException failure) {
        discard(f);
        throw failure;
      }
    }
  }

  /**
   * Forgets a view's in-memory state after a failure; its next use recovers from the files and
   * commit records on disk, as a restart would.
   */
  private void discard(ViewFiles f) {
    f.abandon();
  }

  private void commitExpired() {
    boolean failed = false;
    for (ViewFiles f : views.values()) {
      try {
        f.commitIfDue();
      } catch (IOException | RuntimeException e) {
        failed = true;
        commitFailures.failure(
            "offline commit of " + f.view + " failed (" + e + "); recovering from disk", e);
        discard(f);
      }
    }
    if (!failed) {
      commitFailures.success();
    }
  }

  private ViewFiles files(ViewId view) throws IOException {
    ViewFiles f = views.get(view);
    if (f != null) {
      return f;
    }
    synchronized (views) {
      f = views.get(view);
      if (f == null) {
        f = new ViewFiles(view, directory(view));
        views.put(view, f);
      }
      return f;
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the offline store in " + root + " is closed");
    }
  }

  /** Commits what is open and stops the roller. Idempotent. */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    // A commit the roller has begun runs to its end: interrupting it would drop its files.
    roller.shutdown();
    try {
      if (!roller.awaitTermination(2, TimeUnit.MINUTES)) {
        LOG.warn("offline store in {}: a commit is still running after 2 minutes", root);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      commitAll();
    } finally {
      closed = true;
    }
  }

  /** The files of one view version: committed positions, and the open files of the next commit. */
  private final class ViewFiles {
    final ViewId view;
    final Path dir;
    final Path commits;
    final Map<SourcePartition, Long> committed = new HashMap<>();
    final Map<SourcePartition, Long> pending = new HashMap<>();
    final List<OpenFile> open = new ArrayList<>();
    long nextSeq;
    Instant dirtySince;
    boolean abandoned;

    ViewFiles(ViewId view, Path dir) throws IOException {
      this.view = view;
      this.dir = dir;
      this.commits = dir.resolve("_commits");
      Files.createDirectories(commits);
      recover();
    }

    /** Rolls committed files forward, deletes uncommitted ones, and loads positions. */
    private void recover() throws IOException {
      for (Commit r : commits(dir)) {
        nextSeq = Math.max(nextSeq, r.seq() + 1);
        for (Path target : r.files()) {
          Path temp = target.resolveSibling("." + target.getFileName() + ".tmp");
          if (!Files.exists(target) && Files.exists(temp)) {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            LOG.info("offline {}: finished committing {}", view, target);
          }
        }
        committed.clear();
        committed.putAll(r.positions());
      }
      try (var walk = Files.walk(dir)) {
        for (Path p : walk.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList()) {
          Files.deleteIfExists(p);
          LOG.info("offline {}: discarded uncommitted {}", view, p);
        }
      }
    }

    /**
     * Drops the open files and marks the view stale. Only the first call does anything: a later one
     * (the writer and the roller may both see the same failure) must not mark the view stale again
     * after its writer has already read the committed positions.
     */
    synchronized void abandon() {
      if (abandoned) {
        return;
      }
      abandoned = true;
      stale.add(view);
      views.remove(view, this);
      for (OpenFile f : open) {
        f.abandon();
      }
      open.clear();
    }

    synchronized Map<SourcePartition, Long> committed() {
      return Map.copyOf(committed);
    }

    /**
     * The next offset to write: rows up to it are committed or held in the open files, which are
     * either committed with their positions or dropped (and the view marked stale) as a whole.
     */
    synchronized long position(SourcePartition sp) {
      return Math.max(committed.getOrDefault(sp, 0L), pending.getOrDefault(sp, 0L));
    }

    synchronized void write(List<ViewRow> rows, Map<SourcePartition, Long> positions)
        throws IOException {
      // Checked again under the lock: a commit may have failed since the sink's check, and this
      // may be a fresh instance recovered from disk that must not take rows leaving a gap.
      if (abandoned || stale.contains(view)) {
        throw new IOException(
            "the uncommitted rows of " + view + " were dropped after a failed commit");
      }
      for (ViewRow row : rows) {
        LocalDate date = OfflineLayout.date(row.order().eventTimeMicros());
        // A file has one schema: rows of a view that gained or lost features go to a new file of
        // the same commit, so a commit never splits the rows of one batch.
        OpenFile f = null;
        for (OpenFile o : open) {
          if (o.date.equals(date) && (o.shape == row.shape() || o.shape.equals(row.shape()))) {
            f = o;
            break;
          }
        }
        if (f == null) {
          f = new OpenFile(dir, date, nextSeq, open.size(), row.shape());
          open.add(f);
        }
        f.write(row);
      }
      if (!rows.isEmpty() || !positions.isEmpty()) {
        pending.putAll(positions);
        if (dirtySince == null) {
          dirtySince = clock.instant();
        }
      }
      if (open.stream().anyMatch(f -> f.writer.getDataSize() >= limits.maxFileBytes())) {
        commit();
      }
    }

    synchronized void commitIfDue() throws IOException {
      if (dirtySince != null
          && Duration.between(dirtySince, clock.instant()).compareTo(limits.maxFileAge()) >= 0) {
        commit();
      }
    }

    synchronized void commit() throws IOException {
      if (dirtySince == null || abandoned) {
        return;
      }
      try {
        commitOpenFiles();
      } catch (IOException | RuntimeException failure) {
        // Within the lock, so no write lands in files that are about to be dropped.
        abandon();
        throw failure;
      }
    }

    private void commitOpenFiles() throws IOException {
      Map<SourcePartition, Long> positions = new HashMap<>(committed);
      positions.putAll(pending);
      List<OpenFile> files = new ArrayList<>(open);
      for (OpenFile f : files) {
        f.finish();
      }
      hook.reached(Step.FILES_WRITTEN);
      // The commit point: the record appears atomically, naming the files and their positions.
      ObjectNode record = JSON.createObjectNode();
      record.put("seq", nextSeq);
      record.put("committed_at", clock.instant().toString());
      var names = record.putArray("files");
      for (OpenFile f : files) {
        names.add(dir.relativize(f.target).toString());
      }
      ObjectNode pos = record.putObject("positions");
      new TreeMap<String, Long>(
              positions.entrySet().stream()
                  .collect(
                      java.util.stream.Collectors.toMap(
                          e -> e.getKey().topic() + "/" + e.getKey().partition(),
                          Map.Entry::getValue)))
          .forEach(pos::put);
      Path tmp = commits.resolve(String.format(".%012d.json.tmp", nextSeq));
      Files.write(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(record));
      force(tmp);
      Files.move(
          tmp,
          commits.resolve(String.format("%012d.json", nextSeq)),
          StandardCopyOption.ATOMIC_MOVE);
      forceDirectory(commits);
      hook.reached(Step.RECORD_WRITTEN);
      for (OpenFile f : files) {
        Files.move(f.temp, f.target, StandardCopyOption.ATOMIC_MOVE);
        forceDirectory(f.target.getParent());
      }
      committed.clear();
      committed.putAll(positions);
      pending.clear();
      open.clear();
      dirtySince = null;
      nextSeq++;
    }
  }

  /** A Parquet file being written under its temporary name. */
  private static final class OpenFile {
    final Path temp;
    final Path target;
    final ParquetWriter<Group> writer;
    final SimpleGroupFactory factory;
    final ViewShape shape;
    final LocalDate date;

    OpenFile(Path viewDir, LocalDate date, long seq, int n, ViewShape shape) throws IOException {
      Path dateDir = OfflineLayout.dateDir(viewDir, date);
      Files.createDirectories(dateDir);
      String name = String.format("part-%012d-%03d.parquet", seq, n);
      this.target = dateDir.resolve(name);
      this.temp = dateDir.resolve("." + name + ".tmp");
      Files.deleteIfExists(temp);
      this.shape = shape;
      this.date = date;
      MessageType schema = ParquetSchemas.of(shape);
      this.factory = new SimpleGroupFactory(schema);
      this.writer = ParquetFiles.writer(temp, schema, Map.of("quiver.view", shape.id().toString()));
    }

    void write(ViewRow row) throws IOException {
      writer.write(ParquetSchemas.record(factory, row));
    }

    void abandon() {
      try {
        writer.close();
      } catch (IOException | RuntimeException e) {
        // the temporary file is discarded by recovery anyway
      }
    }

    void finish() throws IOException {
      writer.close();
      force(temp);
    }
  }

  private static void force(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
  }

  private static void forceDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // Not every platform opens directories; the rename itself is atomic.
    }
  }
}
