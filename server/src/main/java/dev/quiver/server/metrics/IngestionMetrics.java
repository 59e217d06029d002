package dev.quiver.server.metrics;

import dev.quiver.ingestion.SourceHealth;
import dev.quiver.registry.rows.SourcePartition;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Consumer lag per source partition ({@code quiver.ingest.lag}, records behind the log end), as
 * last measured by ingestion ({@link SourceHealth#lag()}). Updated by {@link #update} from the
 * health check; a partition this process no longer ingests disappears at the next update.
 *
 * <p>Threading: {@link #update} from one thread at a time.
 */
public final class IngestionMetrics {
  public static final String LAG = "quiver.ingest.lag";

  private final MultiGauge lag;

  public IngestionMetrics(MeterRegistry meters) {
    this.lag =
        MultiGauge.builder(LAG)
            .description("Records behind the log end, per source partition this process ingests")
            .register(meters);
  }

  /** Carries the latest health of each source into the gauges. */
  public void update(Map<String, SourceHealth> health) {
    List<MultiGauge.Row<?>> rows = new ArrayList<>();
    health.forEach(
        (source, h) -> {
          for (Map.Entry<SourcePartition, Long> e : h.lag().entrySet()) {
            rows.add(
                MultiGauge.Row.of(
                    Tags.of(
                        "source",
                        source,
                        "topic",
                        e.getKey().topic(),
                        "partition",
                        String.valueOf(e.getKey().partition())),
                    e.getValue()));
          }
        });
    lag.register(rows, true);
  }
}
