package dev.quiver.registry.semantics;

/**
 * A store's watermark of a view version: the greatest event time among the rows of the view that
 * the store holds — for the online store, the rows it has applied; for the offline store, the rows
 * in its committed files. A time {@code t} is <em>past</em> the watermark when {@code t >
 * watermark}: the view may have rows stamped in {@code (watermark, t]} that the store does not hold
 * yet (still in Kafka, or read but not committed), so a lookup or a training-set row at {@code t}
 * may lack them. At or before the watermark the store has caught up with the view's newest row it
 * holds; events that arrive later with older times can still change those answers, which no store
 * can know in advance.
 *
 * <p>This is the one definition: the consistency check (lag of the online store at a served
 * vector's request time) and training-set export (rows later than the offline store's committed
 * rows) both call it.
 */
public final class Watermark {
  private Watermark() {}

  /** The watermark of a store that holds no row of the view: every time is past it. */
  public static final long NONE = Long.MIN_VALUE;

  /** Whether time {@code tMicros} is past {@code watermarkMicros} (both epoch microseconds). */
  public static boolean isPast(long tMicros, long watermarkMicros) {
    return tMicros > watermarkMicros;
  }
}
