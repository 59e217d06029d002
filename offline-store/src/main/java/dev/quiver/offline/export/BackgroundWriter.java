package dev.quiver.offline.export;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Hands rows to an {@link ExportWriter} running on a thread of its own, in order, a few batches at
 * a time: encoding the output file and joining the next rows then use two cores. A failure of the
 * writer surfaces on the next {@link #row} or at {@link #finish}.
 */
final class BackgroundWriter implements AutoCloseable {
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(BackgroundWriter.class);
  private static final int BATCH = 2048;
  private static final List<Object[]> END = List.of();

  private final ExportWriter writer;
  private final BlockingQueue<List<Object[]>> queue = new ArrayBlockingQueue<>(8);
  private final Thread thread;
  private volatile Throwable failure;
  private List<Object[]> batch = new ArrayList<>(BATCH);

  BackgroundWriter(ExportWriter writer) {
    this.writer = writer;
    this.thread = new Thread(this::run, "quiver-export-write");
    thread.setDaemon(true);
    thread.start();
  }

  private void run() {
    long waited = 0;
    long writing = 0;
    try {
      while (true) {
        long t0 = System.nanoTime();
        List<Object[]> rows = queue.take();
        long t1 = System.nanoTime();
        waited += t1 - t0;
        if (rows == END) {
          org.slf4j.LoggerFactory.getLogger(BackgroundWriter.class)
              .debug(
                  "writer: {} ms waiting, {} ms writing", waited / 1_000_000, writing / 1_000_000);
          return;
        }
        for (Object[] r : rows) {
          writer.row(r);
        }
        writing += System.nanoTime() - t1;
      }
    } catch (IOException | RuntimeException | Error e) {
      failure = e;
      queue.clear(); // unblock the producer; it sees the failure on its next row
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  void row(Object[] values) throws IOException {
    batch.add(values);
    if (batch.size() == BATCH) {
      hand(batch);
      batch = new ArrayList<>(BATCH);
    }
  }

  /** Waits until every row is written, then commits the file. */
  void finish() throws IOException {
    if (!batch.isEmpty()) {
      hand(batch);
      batch = new ArrayList<>(0);
    }
    hand(END);
    join();
    rethrow();
    writer.commit();
  }

  private void hand(List<Object[]> rows) throws IOException {
    rethrow();
    try {
      while (!queue.offer(rows, 100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
        rethrow();
        if (!thread.isAlive()) {
          throw new IOException("the export writer stopped");
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while writing the export");
    }
  }

  private void join() throws IOException {
    try {
      thread.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while writing the export");
    }
  }

  private void rethrow() throws IOException {
    Throwable f = failure;
    if (f instanceof IOException io) {
      throw io;
    }
    if (f instanceof RuntimeException r) {
      throw r;
    }
    if (f instanceof Error e) {
      throw e;
    }
  }

  /**
   * Stops the thread if {@link #finish} was not reached; the writer itself is closed by its owner.
   */
  @Override
  public void close() {
    if (thread.isAlive()) {
      thread.interrupt();
      try {
        thread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
