package dev.quiver.registry.semantics;

import dev.quiver.proto.v1.Aggregation;
import dev.quiver.registry.Durations;

/**
 * A sawtooth window of length W with hop h, in microseconds: at time t it covers the rows with
 * {@code start(t) <= event_ts <= t}, where {@code start(t) = floor((t - W) / h) * h}. The head is
 * exact: no row after t counts ({@link AsOf#visible}); the tail moves in hops, so the online store
 * can keep one tile of state per hop, starting at {@link #tileStart}. The one definition of window
 * membership, for online lookups and offline exports alike.
 *
 * @param lengthMicros W
 * @param hopMicros h
 */
public record Window(long lengthMicros, long hopMicros) {
  public Window {
    if (lengthMicros <= 0 || hopMicros <= 0) {
      throw new IllegalArgumentException("a window needs a positive length and hop");
    }
  }

  /** The window of an aggregation. */
  public static Window of(Aggregation spec) {
    long length = Micros.of(Durations.fromProto(spec.getWindow()));
    long hop = Micros.of(Durations.fromProto(spec.getHop()));
    if (length <= 0 || hop <= 0) {
      throw new IllegalArgumentException(
          "aggregation " + spec.getName() + " needs a window and a hop");
    }
    return new Window(length, hop);
  }

  /** The earliest event time the window at {@code tMicros} covers. */
  public long start(long tMicros) {
    return Math.floorDiv(tMicros - lengthMicros, hopMicros) * hopMicros;
  }

  /** The start of the hop-long tile that holds rows stamped {@code eventMicros}. */
  public long tileStart(long eventMicros) {
    return Math.floorDiv(eventMicros, hopMicros) * hopMicros;
  }

  /** Whether a row stamped {@code eventMicros} counts in the window at {@code tMicros}. */
  public boolean contains(long eventMicros, long tMicros) {
    return eventMicros >= start(tMicros) && AsOf.visible(eventMicros, tMicros);
  }
}
