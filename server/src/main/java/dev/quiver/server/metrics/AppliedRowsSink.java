package dev.quiver.server.metrics;

import dev.quiver.registry.rows.RowBatch;
import dev.quiver.registry.rows.RowSink;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.semantics.Micros;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.time.Clock;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A sink that measures what another applies: rows written per view version ({@code
 * quiver.ingest.view_rows}) and the view's freshness ({@code quiver.view.freshness}, seconds): the
 * clock minus the newest event time among the rows applied so far, never below 0. Counted after a
 * write succeeds, so a failed batch counts nothing.
 *
 * <p>The cost per batch is one pass over its rows and one map lookup per run of rows of one view.
 * The newest event time is known from the rows applied since the process started: after a restart a
 * view has no freshness until its next row is applied.
 *
 * <p>Threading: thread-safe, as every sink.
 */
public final class AppliedRowsSink implements RowSink {
  public static final String VIEW_ROWS = "quiver.ingest.view_rows";
  public static final String FRESHNESS = "quiver.view.freshness";

  private final RowSink sink;
  private final MeterRegistry meters;
  private final Clock clock;
  private final Map<ViewId, Applied> byView = new ConcurrentHashMap<>();

  private static final class Applied {
    final AtomicLong newestMicros = new AtomicLong(Long.MIN_VALUE);
    Counter rows;
  }

  /**
   * @param sink the sink measured
   * @param clock the clock freshness is measured against
   */
  public AppliedRowsSink(RowSink sink, MeterRegistry meters, Clock clock) {
    this.sink = Objects.requireNonNull(sink, "sink");
    this.meters = Objects.requireNonNull(meters, "meters");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  @Override
  public String name() {
    return sink.name();
  }

  @Override
  public boolean accepts(ViewId view) {
    return sink.accepts(view);
  }

  @Override
  public long position(ViewId view, SourcePartition partition) throws IOException {
    return sink.position(view, partition);
  }

  @Override
  public boolean rewindNeeded(ViewId view) {
    return sink.rewindNeeded(view);
  }

  @Override
  public void prepare(Collection<ViewId> views) throws IOException {
    sink.prepare(views);
  }

  @Override
  public void write(RowBatch batch) throws IOException {
    sink.write(batch);
    List<ViewRow> rows = batch.rows();
    ViewId view = null;
    long count = 0;
    long newest = Long.MIN_VALUE;
    for (ViewRow row : rows) {
      ViewId v = row.view();
      if (!v.equals(view)) {
        record(view, count, newest);
        view = v;
        count = 0;
        newest = Long.MIN_VALUE;
      }
      count++;
      newest = Math.max(newest, row.order().eventTimeMicros());
    }
    record(view, count, newest);
  }

  private void record(ViewId view, long count, long newest) {
    if (view == null || count == 0) {
      return;
    }
    Applied a = byView.computeIfAbsent(view, this::register);
    a.rows.increment(count);
    a.newestMicros.accumulateAndGet(newest, Math::max);
  }

  private Applied register(ViewId view) {
    Applied a = new Applied();
    String version = String.valueOf(view.version());
    a.rows =
        Counter.builder(VIEW_ROWS)
            .description("Rows applied to the " + sink.name() + " store, by view version")
            .tag("view", view.name())
            .tag("version", version)
            .register(meters);
    Gauge.builder(FRESHNESS, a, this::freshnessSeconds)
        .description(
            "Seconds from the newest event time applied to the view version to now (never below"
                + " 0)")
        .tag("view", view.name())
        .tag("version", version)
        .baseUnit("seconds")
        .strongReference(true)
        .register(meters);
    return a;
  }

  /**
   * The newest event time applied to {@code view} since the process started, epoch microseconds;
   * {@link Long#MIN_VALUE} while none is known.
   */
  public long newestAppliedMicros(ViewId view) {
    Applied a = byView.get(view);
    return a == null ? Long.MIN_VALUE : a.newestMicros.get();
  }

  private double freshnessSeconds(Applied a) {
    long newest = a.newestMicros.get();
    if (newest == Long.MIN_VALUE) {
      return Double.NaN;
    }
    long behind = Micros.of(clock.instant()) - newest;
    return Math.max(0, behind) / 1e6;
  }
}
