package dev.quiver.online.kv;

import dev.quiver.online.StoreClosedException;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The open/closed state of a key-value store: operations and open cursors hold the read lock, so
 * closing (and what else takes the write lock) waits for them; after closing, every operation
 * throws {@link StoreClosedException}.
 */
final class Lifecycle {
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final String closedMessage;
  private volatile boolean closed;

  Lifecycle(String closedMessage) {
    this.closedMessage = closedMessage;
  }

  /** Takes the read lock, or throws if the store is closed. */
  void enter() {
    lock.readLock().lock();
    if (closed) {
      lock.readLock().unlock();
      throw closedException();
    }
  }

  /** Takes the read lock and returns true, or returns false if the store is closed. */
  boolean tryEnter() {
    lock.readLock().lock();
    if (closed) {
      lock.readLock().unlock();
      return false;
    }
    return true;
  }

  void exit() {
    lock.readLock().unlock();
  }

  /** Refuses what would wait forever for this thread's own open cursor. */
  void checkNoCursor(String what) {
    if (lock.getReadHoldCount() > 0) {
      throw new IllegalStateException("cannot " + what + " while this thread holds an open cursor");
    }
  }

  ReentrantReadWriteLock.WriteLock writeLock() {
    return lock.writeLock();
  }

  /** With the write lock held: throws if the store is closed. */
  void checkOpenLocked() {
    if (closed) {
      throw closedException();
    }
  }

  /** With the write lock held: whether the store was open, marking it closed. */
  boolean markClosed() {
    boolean was = !closed;
    closed = true;
    return was;
  }

  boolean isClosed() {
    return closed;
  }

  StoreClosedException closedException() {
    return new StoreClosedException(closedMessage);
  }
}
