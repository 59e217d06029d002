package dev.quiver.offline.pit;

import dev.quiver.offline.pit.PointInTimeEngine.CloseableIterator;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Reads an iterator on a thread of its own, a few batches ahead of its consumer, so that decoding a
 * file and joining its rows use two cores. Failures of the reader surface on the consumer's thread;
 * closing stops the reader.
 */
final class Prefetch<T> implements CloseableIterator<T> {
  private static final int BATCH = 1024;
  private static final Object END = new Object();

  private final CloseableIterator<T> source;
  private final BlockingQueue<Object> batches = new ArrayBlockingQueue<>(8);
  private final Thread reader;
  private volatile boolean closed;
  private List<T> current = List.of();
  private int position;
  private boolean done;

  private Prefetch(CloseableIterator<T> source, String name) {
    this.source = source;
    this.reader = new Thread(this::read, name);
    reader.setDaemon(true);
    reader.start();
  }

  static <T> Prefetch<T> of(CloseableIterator<T> source, String name) {
    return new Prefetch<>(source, name);
  }

  private void read() {
    try {
      List<T> batch = new ArrayList<>(BATCH);
      while (!closed && source.hasNext()) {
        batch.add(source.next());
        if (batch.size() == BATCH) {
          put(batch);
          batch = new ArrayList<>(BATCH);
        }
      }
      if (!batch.isEmpty()) {
        put(batch);
      }
      put(END);
    } catch (RuntimeException | Error e) {
      offerFailure(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void put(Object item) throws InterruptedException {
    while (!closed) {
      if (batches.offer(item, 100, TimeUnit.MILLISECONDS)) {
        return;
      }
    }
  }

  private void offerFailure(Throwable e) {
    try {
      put(e);
    } catch (InterruptedException ignored) {
      // closed
    }
  }

  @Override
  public boolean hasNext() {
    if (position < current.size()) {
      return true;
    }
    if (done) {
      return false;
    }
    Object next;
    try {
      next = batches.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UncheckedIOException(new InterruptedIOException("interrupted while reading"));
    }
    if (next == END) {
      done = true;
      return false;
    }
    if (next instanceof RuntimeException e) {
      done = true;
      throw e;
    }
    if (next instanceof Error e) {
      done = true;
      throw e;
    }
    @SuppressWarnings("unchecked")
    List<T> batch = (List<T>) next;
    current = batch;
    position = 0;
    return true;
  }

  @Override
  public T next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    return current.get(position++);
  }

  @Override
  public void close() throws IOException {
    closed = true; // the reader stops at its next row or within 100 ms of a full queue
    try {
      reader.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    source.close();
  }
}
