package dev.quiver.online;

import dev.quiver.registry.rows.ViewId;
import java.util.List;

/**
 * Told what each answered lookup contained, so that monitoring can count it without parsing
 * responses. Called by {@link OnlineServingService} once per successful request, after the answer
 * is encoded and before it is sent: {@link #lookedUp} once, then {@link #values} once per view the
 * request read, then {@link #answered} if {@link #wantsAnswers} said so.
 *
 * <p>Threading: called concurrently from the threads serving lookups; implementations are
 * thread-safe and fast (they run on the request path), and must not throw.
 */
public interface LookupListener {
  /** Does nothing. */
  LookupListener NONE = new LookupListener() {};

  /** A request of {@code entityRows} entity rows was answered. */
  default void lookedUp(int entityRows) {}

  /**
   * The values of {@code view} in one answer, by status: one per requested feature of the view and
   * entity row. {@code service} is the feature service asked for, or "" for a list of features.
   */
  default void values(
      String service, ViewId view, int present, int nullValue, int notFound, int outsideMaxAge) {}

  /**
   * Whether {@link #answered} is to be called, asked once per request: false spares the request
   * building its view. May change over time (a registry version turning monitoring on).
   */
  default boolean wantsAnswers() {
    return false;
  }

  /** The whole answer, valid during the call only. */
  default void answered(ServedAnswer answer) {}

  /** One listener telling each of {@code listeners} in turn. */
  static LookupListener all(List<LookupListener> listeners) {
    List<LookupListener> ls = List.copyOf(listeners);
    return new LookupListener() {
      @Override
      public void lookedUp(int entityRows) {
        for (LookupListener l : ls) {
          l.lookedUp(entityRows);
        }
      }

      @Override
      public void values(
          String service,
          ViewId view,
          int present,
          int nullValue,
          int notFound,
          int outsideMaxAge) {
        for (LookupListener l : ls) {
          l.values(service, view, present, nullValue, notFound, outsideMaxAge);
        }
      }

      @Override
      public boolean wantsAnswers() {
        for (LookupListener l : ls) {
          if (l.wantsAnswers()) {
            return true;
          }
        }
        return false;
      }

      @Override
      public void answered(ServedAnswer answer) {
        for (LookupListener l : ls) {
          if (l.wantsAnswers()) {
            l.answered(answer);
          }
        }
      }
    };
  }
}
