package dev.quiver.online;

/**
 * The online store was used after it was closed: the server is shutting down. Serving answers it
 * with {@code UNAVAILABLE}, so a client retries elsewhere; any other failure is a bug, answered
 * {@code INTERNAL}, and must not be retried as if it were transient.
 */
public final class StoreClosedException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  public StoreClosedException(String message) {
    super(message);
  }
}
