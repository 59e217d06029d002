package dev.quiver.online;

import dev.quiver.proto.v1.FeatureStatus;
import dev.quiver.proto.v1.Value;
import java.util.List;
import java.util.Map;

/**
 * One answered lookup as it was sent: the request time, the registry version, the entity keys, and
 * a value, a status and an event time per requested feature and entity row. Handed to {@link
 * LookupListener#answered} for monitoring (live profiles, the feature log); nothing is decoded
 * until asked for, so a listener that samples pays only for the rows it takes.
 *
 * <p>Valid only during the call it is handed to: it refers to the request's buffers. Not
 * thread-safe.
 */
public final class ServedAnswer {
  private final String service;
  private final long registryVersion;
  private final long requestTimeMicros;
  private final int rows;
  private final List<ServingCatalog.ServedFeature> features;
  private final Map<String, List<Object>> keys;
  private final List<ResponseEncoder.Column> columns;
  private final List<List<StoredRow>> stored;
  private final int[] viewOf;
  private final int[][] rowToUnique;

  ServedAnswer(
      String service,
      long registryVersion,
      long requestTimeMicros,
      int rows,
      List<ServingCatalog.ServedFeature> features,
      Map<String, List<Object>> keys,
      List<ResponseEncoder.Column> columns,
      List<List<StoredRow>> stored,
      int[] viewOf,
      int[][] rowToUnique) {
    this.service = service;
    this.registryVersion = registryVersion;
    this.requestTimeMicros = requestTimeMicros;
    this.rows = rows;
    this.features = features;
    this.keys = keys;
    this.columns = columns;
    this.stored = stored;
    this.viewOf = viewOf;
    this.rowToUnique = rowToUnique;
  }

  /** The feature service asked for, or null for a request that listed features. */
  public String service() {
    return service;
  }

  public long registryVersion() {
    return registryVersion;
  }

  /** The instant every value was read as of, epoch microseconds. */
  public long requestTimeMicros() {
    return requestTimeMicros;
  }

  /** Entity rows answered. */
  public int rows() {
    return rows;
  }

  /** The features answered, in response order. */
  public List<ServingCatalog.ServedFeature> features() {
    return features;
  }

  /**
   * The value of join key {@code name} in entity row {@code row}: String, Long or ByteString, as
   * {@link dev.quiver.registry.rows.ViewRow#entityKey()} holds them.
   */
  public Object key(String name, int row) {
    return keys.get(name).get(row);
  }

  public FeatureStatus status(int feature, int row) {
    return columns.get(feature).status(row);
  }

  /** The value sent; a {@code Value} with no kind for NOT_FOUND and OUTSIDE_MAX_AGE. */
  public Value value(int feature, int row) {
    return columns.get(feature).value(row);
  }

  /**
   * The event time of the stored row the value came from, epoch microseconds, or {@link
   * Long#MIN_VALUE} when no row was found.
   */
  public long eventTimeMicros(int feature, int row) {
    StoredRow r = stored.get(viewOf[feature]).get(rowToUnique[viewOf[feature]][row]);
    return r == null ? Long.MIN_VALUE : r.order().eventTimeMicros();
  }
}
