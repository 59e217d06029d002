package dev.quiver.offline.pit;

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
        new DataOutputStream(new Unsynchronized.Out(Files.newOutputStream(run)))) {
      for (T t : buffer) {
        codec.write(out, t);
      }
    }
    runs.add(run);
    buffer.clear(); // keeps its capacity for the next run
  }

  /** Every item added, in order. Call once, after the last {@link #add}. */
  Iterator<T> sorted() throws IOException {
    if (runs.isEmpty()) {
      buffer.sort(order);
      return buffer.iterator();
    }
    // Once anything went to disk, the rest goes too: several sorted sequences are read at once
    // (one per view), and each then holds only its read buffers.
    if (!buffer.isEmpty()) {
      spill();
    }
    buffer = new ArrayList<>(0);
    record Head<T>(T item, Iterator<T> source) {}
    PriorityQueue<Head<T>> heads = new PriorityQueue<>((a, b) -> order.compare(a.item(), b.item()));
    List<Iterator<T>> sources = new ArrayList<>();
    sources.add(buffer.iterator());
    for (Path run : runs) {
      DataInputStream in = new DataInputStream(new Unsynchronized.In(Files.newInputStream(run)));
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

  /**
   * Buffered streams without the per-call locking of {@code java.io}'s (JDK 17 locks on every
   * byte), which dominated writing and reading runs value by value.
   */
  static final class Unsynchronized {
    private Unsynchronized() {}

    static final class Out extends java.io.OutputStream {
      private final java.io.OutputStream out;
      private final byte[] buf = new byte[1 << 16];
      private int n;

      Out(java.io.OutputStream out) {
        this.out = out;
      }

      @Override
      public void write(int b) throws IOException {
        if (n == buf.length) {
          flushBuffer();
        }
        buf[n++] = (byte) b;
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        if (len > buf.length - n) {
          flushBuffer();
          if (len > buf.length) {
            out.write(b, off, len);
            return;
          }
        }
        System.arraycopy(b, off, buf, n, len);
        n += len;
      }

      private void flushBuffer() throws IOException {
        out.write(buf, 0, n);
        n = 0;
      }

      @Override
      public void flush() throws IOException {
        flushBuffer();
        out.flush();
      }

      @Override
      public void close() throws IOException {
        try {
          flushBuffer();
        } finally {
          out.close();
        }
      }
    }

    static final class In extends java.io.InputStream {
      private final java.io.InputStream in;
      private final byte[] buf = new byte[1 << 16];
      private int pos;
      private int end;

      In(java.io.InputStream in) {
        this.in = in;
      }

      private boolean fill() throws IOException {
        int r = in.read(buf, 0, buf.length);
        if (r <= 0) {
          return false;
        }
        pos = 0;
        end = r;
        return true;
      }

      @Override
      public int read() throws IOException {
        if (pos == end && !fill()) {
          return -1;
        }
        return buf[pos++] & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
          return 0;
        }
        if (pos == end && !fill()) {
          return -1;
        }
        int k = Math.min(len, end - pos);
        System.arraycopy(buf, pos, b, off, k);
        pos += k;
        return k;
      }

      @Override
      public void close() throws IOException {
        in.close();
      }
    }
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
