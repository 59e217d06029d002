package dev.quiver.client;

import com.google.protobuf.ByteString;
import dev.quiver.proto.v1.FeatureList;
import dev.quiver.proto.v1.GetOnlineFeaturesRequest;
import dev.quiver.proto.v1.RepeatedValue;
import dev.quiver.proto.v1.Value;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A request for online features: a feature service or feature references, and entity keys given
 * column by column. Keys are Java values: String, Integer (int32), Long (int64), byte[] or
 * ByteString (bytes).
 *
 * <pre>{@code
 * OnlineRequest.forService("fraud_model_v1").entity("card_id", "c1", "c2")
 * OnlineRequest.forFeatures("card_activity:last_amount").entity("card_id", "c1").fullFeatureNames()
 * }</pre>
 *
 * <p>Builders are not thread-safe; {@link #toProto()} gives an immutable message.
 */
public final class OnlineRequest {
  private final GetOnlineFeaturesRequest.Builder proto = GetOnlineFeaturesRequest.newBuilder();

  private OnlineRequest() {}

  /** Requests the features of a feature service. */
  public static OnlineRequest forService(String featureService) {
    OnlineRequest r = new OnlineRequest();
    r.proto.setFeatureService(Objects.requireNonNull(featureService, "featureService"));
    return r;
  }

  /** Requests features by reference, {@code view:feature}. */
  public static OnlineRequest forFeatures(String... references) {
    return forFeatures(Arrays.asList(references));
  }

  public static OnlineRequest forFeatures(List<String> references) {
    OnlineRequest r = new OnlineRequest();
    r.proto.setFeatures(FeatureList.newBuilder().addAllFeatures(references));
    return r;
  }

  /** Adds (or replaces) the column of a join key: one value per entity row. */
  public OnlineRequest entity(String joinKey, Object... values) {
    return entity(joinKey, Arrays.asList(values));
  }

  public OnlineRequest entity(String joinKey, List<?> values) {
    RepeatedValue.Builder column = RepeatedValue.newBuilder();
    for (Object v : values) {
      column.addValues(key(joinKey, v));
    }
    proto.putEntities(joinKey, column.build());
    return this;
  }

  /** Names result columns {@code view__feature} instead of {@code feature}. */
  public OnlineRequest fullFeatureNames() {
    proto.setFullFeatureNames(true);
    return this;
  }

  public GetOnlineFeaturesRequest toProto() {
    return proto.build();
  }

  private static Value key(String joinKey, Object v) {
    if (v instanceof String s) {
      return Value.newBuilder().setStringValue(s).build();
    } else if (v instanceof Integer i) {
      return Value.newBuilder().setInt32Value(i).build();
    } else if (v instanceof Long l) {
      return Value.newBuilder().setInt64Value(l).build();
    } else if (v instanceof byte[] b) {
      return Value.newBuilder().setBytesValue(ByteString.copyFrom(b)).build();
    } else if (v instanceof ByteString b) {
      return Value.newBuilder().setBytesValue(b).build();
    }
    throw new IllegalArgumentException(
        "key '"
            + joinKey
            + "': "
            + (v == null ? "null" : v.getClass().getName())
            + " is not a key value; use String, Integer, Long, byte[] or ByteString");
  }
}
