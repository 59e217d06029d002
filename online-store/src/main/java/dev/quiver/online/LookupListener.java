package dev.quiver.online;

import dev.quiver.registry.rows.ViewId;

/**
 * Told what each answered lookup contained, so that monitoring can count it without parsing
 * responses. Called by {@link OnlineServingService} once per successful request, after the answer
 * is encoded and before it is sent: {@link #lookedUp} once, then {@link #values} once per view the
 * request read.
 *
 * <p>Threading: called concurrently from the threads serving lookups; implementations are
 * thread-safe and fast (they run on the request path), and must not throw.
 */
public interface LookupListener {
  /** Does nothing. */
  LookupListener NONE =
      new LookupListener() {
        @Override
        public void lookedUp(int entityRows) {}

        @Override
        public void values(
            ViewId view, int present, int nullValue, int notFound, int outsideMaxAge) {}
      };

  /** A request of {@code entityRows} entity rows was answered. */
  void lookedUp(int entityRows);

  /**
   * The values of {@code view} in one answer, by status: one per requested feature of the view and
   * entity row.
   */
  void values(ViewId view, int present, int nullValue, int notFound, int outsideMaxAge);
}
