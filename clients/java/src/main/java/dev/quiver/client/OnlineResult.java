package dev.quiver.client;

import com.google.protobuf.ByteString;
import dev.quiver.proto.JavaValues;
import dev.quiver.proto.v1.FeatureColumn;
import dev.quiver.proto.v1.FeatureStatus;
import dev.quiver.proto.v1.GetOnlineFeaturesResponse;
import dev.quiver.proto.v1.Value;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * The answer to an {@link OnlineRequest}: for each requested feature and entity row, a value, a
 * status and an event timestamp. Typed accessors return null when the value is absent (any status
 * but {@code PRESENT}); asking a feature by the wrong type throws {@link ClassCastException}.
 * Immutable and thread-safe.
 */
public final class OnlineResult {
  private final GetOnlineFeaturesResponse response;
  private final Map<String, FeatureColumn> columns = new LinkedHashMap<>();

  OnlineResult(GetOnlineFeaturesResponse response) {
    this.response = response;
    for (FeatureColumn c : response.getFeaturesList()) {
      columns.put(c.getName(), c);
    }
  }

  /** The response as received. */
  public GetOnlineFeaturesResponse toProto() {
    return response;
  }

  public int rowCount() {
    return response.getRowCount();
  }

  /** Feature column names in request order. */
  public List<String> featureNames() {
    return new ArrayList<>(columns.keySet());
  }

  /** The registry version the server resolved the request against. */
  public long registryVersion() {
    return response.getRegistryVersion();
  }

  public FeatureStatus status(String feature, int row) {
    return column(feature).getStatuses(checkRow(row));
  }

  /** The event time of the row the value came from; null when no row was found. */
  public Instant eventTime(String feature, int row) {
    var t = column(feature).getEventTimestamps(checkRow(row));
    return t.getSeconds() == 0 && t.getNanos() == 0 ? null : JavaValues.instant(t);
  }

  /** The raw value. */
  public Value value(String feature, int row) {
    return column(feature).getValues(checkRow(row));
  }

  /**
   * The value in Java form: Boolean, Integer, Long, Float, Double, String, ByteString, Instant or a
   * List; null unless the status is {@code PRESENT}.
   */
  public Object get(String feature, int row) {
    if (status(feature, row) != FeatureStatus.PRESENT) {
      return null;
    }
    return JavaValues.toJava(value(feature, row));
  }

  public Double getDouble(String feature, int row) {
    return (Double) get(feature, row);
  }

  public Float getFloat(String feature, int row) {
    return (Float) get(feature, row);
  }

  public Long getLong(String feature, int row) {
    return (Long) get(feature, row);
  }

  public Integer getInt(String feature, int row) {
    return (Integer) get(feature, row);
  }

  public Boolean getBool(String feature, int row) {
    return (Boolean) get(feature, row);
  }

  public String getString(String feature, int row) {
    return (String) get(feature, row);
  }

  public ByteString getBytes(String feature, int row) {
    return (ByteString) get(feature, row);
  }

  public Instant getTimestamp(String feature, int row) {
    return (Instant) get(feature, row);
  }

  @SuppressWarnings("unchecked")
  public List<Float> getFloatList(String feature, int row) {
    return (List<Float>) get(feature, row);
  }

  private FeatureColumn column(String feature) {
    FeatureColumn c = columns.get(feature);
    if (c == null) {
      throw new NoSuchElementException(
          "no feature '"
              + feature
              + "' in the result; features: "
              + String.join(", ", columns.keySet()));
    }
    return c;
  }

  private int checkRow(int row) {
    if (row < 0 || row >= rowCount()) {
      throw new IndexOutOfBoundsException("row " + row + " of " + rowCount());
    }
    return row;
  }
}
