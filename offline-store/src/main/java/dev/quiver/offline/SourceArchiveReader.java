package dev.quiver.offline;

import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.Source;
import dev.quiver.registry.rows.SourceArchive;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.semantics.Micros;
import dev.quiver.registry.semantics.OrderKey;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.PriorityQueue;
import org.apache.parquet.hadoop.ParquetReader;

/**
 * Reads source archives back from the offline store's committed files ({@link SourceArchive}).
 * Commit records are read in sequence; each brings a partition from the previous record's position
 * to its own, so the records of a range come from the commits that cover it, merged across the
 * files of each commit (one per event date) by offset. Files deleted by retention are passed over.
 *
 * <p>Thread-safe; each {@link SourceArchive.Records} is used by one thread.
 */
public final class SourceArchiveReader implements SourceArchive.Reader {
  private final ParquetOfflineSink sink;

  /**
   * @param sink the offline store that writes the archives: their committed positions are its own
   */
  public SourceArchiveReader(ParquetOfflineSink sink) {
    this.sink = sink;
  }

  @Override
  public Map<SourcePartition, Long> committed(String source) throws IOException {
    return sink.committed(SourceArchive.id(source));
  }

  @Override
  public SourceArchive.Records read(Source source, SourcePartition partition, long from, long to)
      throws IOException {
    List<ParquetOfflineSink.Commit> commits =
        ParquetOfflineSink.commits(sink.directory(SourceArchive.id(source.getName())));
    return new Reading(source, commits, partition, from, to);
  }

  /** Records of one partition, commit by commit. */
  private static final class Reading implements SourceArchive.Records {
    private final Source source;
    private final List<ParquetOfflineSink.Commit> commits;
    private final SourcePartition partition;
    private final long from;
    private final long to;
    private final List<String> columns = new ArrayList<>();
    private int nextCommit;
    private long reached;
    private CommitMerge current;
    private SourceArchive.Record next;

    Reading(
        Source source,
        List<ParquetOfflineSink.Commit> commits,
        SourcePartition partition,
        long from,
        long to) {
      this.source = source;
      this.commits = commits;
      this.partition = partition;
      this.from = from;
      this.to = to;
      columns.add(ParquetSchemas.EVENT_TS);
      columns.add(ParquetSchemas.CREATED_TS);
      columns.add(ParquetSchemas.PARTITION);
      columns.add(ParquetSchemas.OFFSET);
      for (Field f : source.getSchemaList()) {
        columns.add(SourceArchive.column(f.getName()));
      }
    }

    @Override
    public boolean hasNext() {
      try {
        while (next == null) {
          if (current != null) {
            next = current.next();
            if (next != null) {
              break;
            }
            current.close();
            current = null;
          }
          if (!openNextCommit()) {
            return false;
          }
        }
        return true;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public SourceArchive.Record next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      SourceArchive.Record r = next;
      next = null;
      return r;
    }

    /** Opens the next commit whose range of the partition meets [from, to); false past the end. */
    private boolean openNextCommit() throws IOException {
      while (nextCommit < commits.size()) {
        ParquetOfflineSink.Commit record = commits.get(nextCommit++);
        long start = reached;
        Long end = record.positions().get(partition);
        if (end == null) {
          continue;
        }
        reached = Math.max(reached, end);
        if (end <= from || end <= start) {
          continue;
        }
        if (start >= to) {
          return false;
        }
        List<Path> files = new ArrayList<>();
        for (Path file : record.files()) {
          if (Files.exists(file)) {
            files.add(file);
          }
        }
        current = new CommitMerge(files);
        return true;
      }
      return false;
    }

    @Override
    public void close() throws IOException {
      if (current != null) {
        current.close();
        current = null;
      }
      nextCommit = commits.size();
    }

    /** The files of one commit merged by offset, keeping the partition's rows in the range. */
    private final class CommitMerge {
      private final List<ParquetReader<Object[]>> readers = new ArrayList<>();
      private final PriorityQueue<Head> heads =
          new PriorityQueue<>((a, b) -> Long.compare(a.offset, b.offset));

      private record Head(long offset, Object[] row, ParquetReader<Object[]> reader) {}

      CommitMerge(List<Path> files) throws IOException {
        try {
          for (Path f : files) {
            ParquetReader<Object[]> r = ParquetFiles.reader(f, columns);
            readers.add(r);
            advance(r);
          }
        } catch (IOException | RuntimeException e) {
          close();
          throw e;
        }
      }

      private void advance(ParquetReader<Object[]> r) throws IOException {
        for (Object[] row = r.read(); row != null; row = r.read()) {
          long offset = (Long) row[3];
          if ((Integer) row[2] == partition.partition() && offset >= from && offset < to) {
            heads.add(new Head(offset, row, r));
            return;
          }
        }
      }

      SourceArchive.Record next() throws IOException {
        Head h = heads.poll();
        if (h == null) {
          return null;
        }
        advance(h.reader());
        Object[] row = h.row();
        Map<String, Object> fields = new HashMap<>();
        for (int i = 0; i < source.getSchemaCount(); i++) {
          Object v = row[4 + i];
          if (v != null) {
            fields.put(source.getSchema(i).getName(), v);
          }
        }
        long created = row[1] == null ? OrderKey.NO_CREATED_TIME : Micros.of((Instant) row[1]);
        return new SourceArchive.Record(
            fields,
            new OrderKey(Micros.of((Instant) row[0]), created, partition.partition(), h.offset()));
      }

      void close() throws IOException {
        IOException failure = null;
        for (ParquetReader<Object[]> r : readers) {
          try {
            r.close();
          } catch (IOException e) {
            failure = e;
          }
        }
        readers.clear();
        if (failure != null) {
          throw failure;
        }
      }
    }
  }
}
