package dev.quiver.offline.pit;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.PriorityQueue;

/**
 * Sorts more items than fit in memory: items are buffered up to a count, each full buffer is sorted
 * and written to a run file, and {@link #sorted()} merges the runs. Not thread-safe; {@link
 * #close()} deletes the run files.
 */
final class ExternalSorter<T> implements AutoCloseable {
  /** Writes and reads items of a run file. */
  interface Codec<T> {
    void write(DataOutputStream out, T item) throws IOException;

    T read(DataInputStream in) throws IOException;
  }

  private final Comparator<T> order;
  private final Codec<T> codec;
  private final int maxInMemory;
  private final Path spillDir;
  private final List<Path> runs = new ArrayList<>();
  private final List<DataInputStream> open = new ArrayList<>();
  private List<T> buffer = new ArrayList<>();
  private long count;

  ExternalSorter(Comparator<T> order, Codec<T> codec, int maxInMemory, Path spillDir) {
    this.order = order;
    this.codec = codec;
    this.maxInMemory = Math.max(1, maxInMemory);
    this.spillDir = spillDir;
  }

  void add(T item) throws IOException {
    buffer.add(item);
    count++;
    if (buffer.size() >= maxInMemory) {
      spill();
    }
  }

  long count() {
    return count;
  }

  /** How many runs went to disk. */
  int spilledRuns() {
    return runs.size();
  }

  private void spill() throws IOException {
    buffer.sort(order);
    Files.createDirectories(spillDir);
    Path run = Files.createTempFile(spillDir, "run-", ".bin");
    try (DataOutputStream out =
        new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(run), 1 << 16))) {
      for (T t : buffer) {
        codec.write(out, t);
      }
    }
    runs.add(run);
    buffer = new ArrayList<>();
  }

  /** Every item added, in order. Call once, after the last {@link #add}. */
  Iterator<T> sorted() throws IOException {
    buffer.sort(order);
    if (runs.isEmpty()) {
      return buffer.iterator();
    }
    record Head<T>(T item, Iterator<T> source) {}
    PriorityQueue<Head<T>> heads = new PriorityQueue<>((a, b) -> order.compare(a.item(), b.item()));
    List<Iterator<T>> sources = new ArrayList<>();
    sources.add(buffer.iterator());
    for (Path run : runs) {
      DataInputStream in =
          new DataInputStream(new BufferedInputStream(Files.newInputStream(run), 1 << 16));
      open.add(in);
      sources.add(runIterator(in));
    }
    for (Iterator<T> s : sources) {
      if (s.hasNext()) {
        heads.add(new Head<>(s.next(), s));
      }
    }
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        return !heads.isEmpty();
      }

      @Override
      public T next() {
        Head<T> h = heads.poll();
        if (h == null) {
          throw new NoSuchElementException();
        }
        if (h.source().hasNext()) {
          heads.add(new Head<>(h.source().next(), h.source()));
        }
        return h.item();
      }
    };
  }

  private Iterator<T> runIterator(DataInputStream in) {
    return new Iterator<>() {
      T next = read();

      private T read() {
        try {
          return codec.read(in);
        } catch (EOFException e) {
          return null;
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }

      @Override
      public boolean hasNext() {
        return next != null;
      }

      @Override
      public T next() {
        if (next == null) {
          throw new NoSuchElementException();
        }
        T t = next;
        next = read();
        return t;
      }
    };
  }

  @Override
  public void close() throws IOException {
    for (DataInputStream in : open) {
      in.close();
    }
    for (Path run : runs) {
      Files.deleteIfExists(run);
    }
  }
}
