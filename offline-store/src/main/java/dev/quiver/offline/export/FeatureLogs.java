package dev.quiver.offline.export;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.quiver.offline.pit.ParquetViewSource;
import dev.quiver.offline.pit.PointInTimeEngine;
import dev.quiver.proto.v1.FeatureStatus;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.LoggedVector;
import dev.quiver.proto.v1.Value;
import dev.quiver.registry.monitor.FeatureLog;
import dev.quiver.registry.semantics.Micros;
import dev.quiver.registry.semantics.OfflineLayout;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Reads a feature service's logged vectors back from the feature-log store ({@link FeatureLog}):
 * the vectors of the service's current layout with {@code from <= request time < to}, in file
 * order.
 */
public final class FeatureLogs {
  private FeatureLogs() {}

  /**
   * One logged entity row.
   *
   * @param key join key values in the layout's key order
   * @param requestMicros the instant the values were read as of
   * @param registryVersion the registry version that served them
   * @param values per column, the served value (a {@code Value} with no kind when none was sent)
   * @param statuses per column, the status sent
   * @param eventMicros per column, the event time of the row served, or {@link Long#MIN_VALUE}
   * @param appliedMicros per view of the layout, the newest event time the online store had applied
   *     then, or {@link Long#MIN_VALUE} when unknown
   */
  public record Vector(
      List<Object> key,
      long requestMicros,
      long registryVersion,
      Value[] values,
      FeatureStatus[] statuses,
      long[] eventMicros,
      long[] appliedMicros) {}

  /** The logged vectors of {@code layout} in [from, to), epoch microseconds. */
  public static PointInTimeEngine.CloseableIterator<Vector> read(
      Path logRoot, FeatureLog.Layout layout, long from, long to) throws IOException {
    List<String> features = layout.storedFeatures().stream().map(Field::getName).toList();
    PointInTimeEngine.CloseableIterator<PointInTimeEngine.ViewRows> rows =
        new ParquetViewSource(
                OfflineLayout.viewDir(logRoot, layout.viewName(), layout.version()),
                layout.keyNames(),
                features)
            .read();
    int columns = layout.columns().size();
    return new PointInTimeEngine.CloseableIterator<>() {
      Vector next = advance();

      private Vector advance() {
        while (rows.hasNext()) {
          PointInTimeEngine.ViewRows r = rows.next();
          if (r.eventMicros() < from || r.eventMicros() >= to) {
            continue;
          }
          Object[] v = r.values();
          LoggedVector logged = vector((ByteString) v[1]);
          if (logged.getValuesCount() != columns
              || logged.getStatusesCount() != columns
              || logged.getEventTimestampsCount() != columns
              || logged.getAppliedTimestampsCount() != layout.viewIds().size()) {
            throw new IllegalArgumentException(
                "a logged vector of "
                    + layout.service()
                    + " does not match its layout "
                    + layout.version()
                    + " ("
                    + logged.getValuesCount()
                    + " values for "
                    + columns
                    + " features)");
          }
          Value[] values = logged.getValuesList().toArray(new Value[0]);
          FeatureStatus[] statuses = logged.getStatusesList().toArray(new FeatureStatus[0]);
          long[] events = new long[columns];
          for (int c = 0; c < columns; c++) {
            events[c] = micros(logged.getEventTimestamps(c));
          }
          long[] applied = new long[layout.viewIds().size()];
          for (int i = 0; i < applied.length; i++) {
            applied[i] = micros(logged.getAppliedTimestamps(i));
          }
          long version = v[0] == null ? 0 : ((Number) v[0]).longValue();
          return new Vector(r.key(), r.eventMicros(), version, values, statuses, events, applied);
        }
        return null;
      }

      @Override
      public boolean hasNext() {
        return next != null;
      }

      @Override
      public Vector next() {
        if (next == null) {
          throw new NoSuchElementException();
        }
        Vector out = next;
        next = advance();
        return out;
      }

      @Override
      public void close() throws IOException {
        rows.close();
      }
    };
  }

  private static LoggedVector vector(ByteString bytes) {
    if (bytes == null) {
      throw new IllegalArgumentException("a logged vector has no " + FeatureLog.VECTOR);
    }
    try {
      return LoggedVector.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("a logged vector does not parse: " + e.getMessage(), e);
    }
  }

  /** Epoch microseconds of a logged time; {@link Long#MIN_VALUE} for the empty one (none). */
  private static long micros(com.google.protobuf.Timestamp t) {
    return t.getSeconds() == 0 && t.getNanos() == 0 ? Long.MIN_VALUE : Micros.of(t);
  }
}
