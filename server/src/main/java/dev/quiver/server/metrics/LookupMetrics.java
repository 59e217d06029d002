package dev.quiver.server.metrics;

import dev.quiver.online.LookupListener;
import dev.quiver.proto.v1.FeatureStatus;
import dev.quiver.registry.rows.ViewId;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What answered lookups contained: entity rows per request ({@code quiver.lookup.entities}, a
 * distribution summary) and values by feature service, view version and status ({@code
 * quiver.lookup.values}).
 *
 * <p>Counters are created once per service and view version and then looked up without allocating.
 *
 * <p>Threading: thread-safe.
 */
public final class LookupMetrics implements LookupListener {
  public static final String ENTITIES = "quiver.lookup.entities";
  public static final String VALUES = "quiver.lookup.values";

  private static final FeatureStatus[] STATUSES = {
    FeatureStatus.PRESENT,
    FeatureStatus.NULL_VALUE,
    FeatureStatus.NOT_FOUND,
    FeatureStatus.OUTSIDE_MAX_AGE
  };

  private final MeterRegistry meters;
  private final DistributionSummary entities;
  private final Map<ServiceView, Counter[]> byView = new ConcurrentHashMap<>();

  private record ServiceView(String service, ViewId view) {}

  public LookupMetrics(MeterRegistry meters) {
    this.meters = Objects.requireNonNull(meters, "meters");
    this.entities =
        DistributionSummary.builder(ENTITIES)
            .description("Entity rows per answered GetOnlineFeatures request")
            .publishPercentileHistogram()
            .minimumExpectedValue(1.0)
            .maximumExpectedValue(100_000.0)
            .register(meters);
  }

  @Override
  public void lookedUp(int entityRows) {
    entities.record(entityRows);
  }

  @Override
  public void values(
      String service, ViewId view, int present, int nullValue, int notFound, int outsideMaxAge) {
    Counter[] c = byView.computeIfAbsent(new ServiceView(service, view), this::counters);
    add(c[0], present);
    add(c[1], nullValue);
    add(c[2], notFound);
    add(c[3], outsideMaxAge);
  }

  private static void add(Counter c, int n) {
    if (n > 0) {
      c.increment(n);
    }
  }

  private Counter[] counters(ServiceView sv) {
    ViewId view = sv.view();
    Counter[] out = new Counter[STATUSES.length];
    for (int i = 0; i < out.length; i++) {
      out[i] =
          Counter.builder(VALUES)
              .description(
                  "Feature values answered, by feature service (\"\" for lists of features),"
                      + " view version and status")
              .tag("service", sv.service())
              .tag("view", view.name())
              .tag("version", String.valueOf(view.version()))
              .tag("status", STATUSES[i].name())
              .register(meters);
    }
    return out;
  }
}
