package dev.quiver.registry.rows;

import dev.quiver.proto.v1.Feature;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.Source;
import dev.quiver.registry.Durations;
import dev.quiver.registry.semantics.OrderKey;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The source archive: every record of a source that ingestion decoded, kept as a row of its
 * declared fields with its order key (event and created time, partition, offset), so that a view
 * added later, or a new version of a view, is filled from it past Kafka's retention
 * (docs/sources.md).
 *
 * <p>To the sinks the archive of a source is one more view version, {@code _sources/<source>@1}:
 * its rows are written with the rows of the source's views, in the same batches and with the same
 * positions, so it is exactly once like them. Only the offline store {@linkplain RowSink#accepts
 * accepts} it; its files are {@code <data>/offline/<project>/_sources/<source>/v1/date=.../}, one
 * column per declared field (a field named like an order-key column is stored as {@code _field_} +
 * its name, see {@link #column}). Its shape follows the source's schema: a field added later is
 * null in older files.
 */
public final class SourceArchive {
  private SourceArchive() {}

  /**
   * The prefix of archive view names; no feature view can have it ('/' is not a name character).
   */
  public static final String PREFIX = "_sources/";

  /** The order-key columns of offline files; a source field with one of these names is renamed. */
  private static final Set<String> ORDER_COLUMNS =
      Set.of("event_ts", "created_ts", "_partition", "_offset");

  /** The archive's view version for {@code source}. */
  public static ViewId id(String source) {
    return new ViewId(PREFIX + source, 1);
  }

  /** Whether {@code view} is a source archive rather than a feature view. */
  public static boolean isArchive(ViewId view) {
    return view.name().startsWith(PREFIX);
  }

  /** Whether {@code source} is archived (it is unless its {@code archive} says otherwise). */
  public static boolean enabled(Source source) {
    return !source.getArchive().getDisabled();
  }

  /** How long archived days are kept; zero: forever. */
  public static Duration retention(Source source) {
    return source.getArchive().hasRetention()
        ? Durations.fromProto(source.getArchive().getRetention())
        : Duration.ZERO;
  }

  /** The column of a declared field in the archive's files. */
  public static String column(String field) {
    return ORDER_COLUMNS.contains(field) ? "_field_" + field : field;
  }

  /** The shape of the archive's rows: one value per declared field, no join keys. */
  public static ViewShape shape(Source source) {
    FeatureView.Builder v =
        FeatureView.newBuilder().setName(PREFIX + source.getName()).setVersion(1);
    for (Field f : source.getSchemaList()) {
      v.addFeatures(Feature.newBuilder().setName(column(f.getName())).setType(f.getType()));
    }
    return ViewShape.of(v.build(), List.of());
  }

  /**
   * The archive row of a decoded record.
   *
   * @param shape {@link #shape} of the source
   * @param fields the record's declared fields in their decoded Java forms; absent for null
   */
  public static ViewRow row(
      Source source, ViewShape shape, Map<String, Object> fields, OrderKey o) {
    Object[] values = new Object[source.getSchemaCount()];
    for (int i = 0; i < values.length; i++) {
      values[i] = fields.get(source.getSchema(i).getName());
    }
    return new ViewRow(shape, List.of(), o, values, new Object[0]);
  }

  /** One archived record: its declared fields (null ones absent) and its order key. */
  public record Record(Map<String, Object> fields, OrderKey order) {}

  /** Reads a source's archive back, as the offline store committed it. Thread-safe. */
  public interface Reader {
    /**
     * The partitions archived, with the offset of the next record to archive of each: a snapshot,
     * unchanged by later commits.
     */
    Map<SourcePartition, Long> committed(String source) throws IOException;

    /**
     * The archived records of one partition with offsets in {@code [from, to)}, in offset order.
     * The iterator must be closed.
     */
    Records read(Source source, SourcePartition partition, long from, long to) throws IOException;
  }

  /** Archived records in offset order; close it to release its files. */
  public interface Records extends Iterator<Record>, AutoCloseable {
    @Override
    void close() throws IOException;

    /** All of {@code records}, for tests and small reads. */
    static List<Record> drain(Records records) throws IOException {
      try (records) {
        List<Record> out = new ArrayList<>();
        records.forEachRemaining(out::add);
        return out;
      }
    }
  }
}
