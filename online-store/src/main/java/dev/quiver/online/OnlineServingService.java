package dev.quiver.online;

import dev.quiver.proto.v1.FeatureStatus;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.GetOnlineFeaturesRequest;
import dev.quiver.proto.v1.GetOnlineFeaturesResponse;
import dev.quiver.proto.v1.OnlineServingGrpc;
import dev.quiver.proto.v1.RepeatedValue;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.Value;
import dev.quiver.registry.Types;
import dev.quiver.registry.rows.ViewId;
import io.grpc.BindableService;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code OnlineServing.GetOnlineFeatures}: resolves the request against the current registry
 * version, reads every view it needs in one multi-get, and answers with a value, a status and an
 * event timestamp per requested feature and entity row.
 *
 * <p>Bad requests fail with {@code INVALID_ARGUMENT} (or {@code NOT_FOUND} for an unknown feature
 * service or feature) and a message that names the field at fault; a store that is shutting down
 * answers {@code UNAVAILABLE}. Thread-safe.
 *
 * <p>Responses are written straight from the stored bytes by {@link ResponseEncoder}: the method is
 * bound with a response marshaller that sends those bytes, so values are never parsed on the way.
 */
public final class OnlineServingService implements BindableService {
  private static final Logger LOG = LoggerFactory.getLogger(OnlineServingService.class);

  /** Default for {@link #maxEntities()}. */
  public static final int DEFAULT_MAX_ENTITIES = 10_000;

  private final RocksOnlineStore store;
  private final Supplier<ServingCatalog> catalog;
  private final Clock clock;
  private final int maxEntities;

  /**
   * @param store the online store
   * @param catalog the catalog of the registry version to serve; called once per request
   * @param clock the request time, against which TTLs are checked
   * @param maxEntities the most entity rows one request may carry
   */
  public OnlineServingService(
      RocksOnlineStore store, Supplier<ServingCatalog> catalog, Clock clock, int maxEntities) {
    this.store = Objects.requireNonNull(store, "store");
    this.catalog = Objects.requireNonNull(catalog, "catalog");
    this.clock = Objects.requireNonNull(clock, "clock");
    if (maxEntities < 1) {
      throw new IllegalArgumentException("maxEntities must be positive: " + maxEntities);
    }
    this.maxEntities = maxEntities;
  }

  public int maxEntities() {
    return maxEntities;
  }

  /** A request that cannot be served as sent; carries the status to answer with. */
  static final class BadRequest extends Exception {
    final Status status;

    BadRequest(Status status) {
      super(status.getDescription(), null, false, false);
      this.status = status;
    }
  }

  private static BadRequest invalid(String message) {
    return new BadRequest(Status.INVALID_ARGUMENT.withDescription(message));
  }

  @Override
  public ServerServiceDefinition bindService() {
    MethodDescriptor<GetOnlineFeaturesRequest, GetOnlineFeaturesResponse> proto =
        OnlineServingGrpc.getGetOnlineFeaturesMethod();
    MethodDescriptor<GetOnlineFeaturesRequest, EncodedResponse> method =
        proto.toBuilder(proto.getRequestMarshaller(), EncodedResponse.MARSHALLER).build();
    ServiceDescriptor service =
        ServiceDescriptor.newBuilder(OnlineServingGrpc.SERVICE_NAME)
            .setSchemaDescriptor(OnlineServingGrpc.getServiceDescriptor().getSchemaDescriptor())
            .addMethod(method)
            .build();
    return ServerServiceDefinition.builder(service)
        .addMethod(method, ServerCalls.asyncUnaryCall(this::getOnlineFeatures))
        .build();
  }

  private void getOnlineFeatures(
      GetOnlineFeaturesRequest request, StreamObserver<EncodedResponse> response) {
    EncodedResponse result;
    try {
      result = encode(request);
    } catch (BadRequest e) {
      response.onError(e.status.asRuntimeException());
      return;
    } catch (IllegalStateException e) {
      response.onError(Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException());
      return;
    } catch (IOException | RuntimeException e) {
      LOG.error("GetOnlineFeatures failed", e);
      response.onError(
          Status.INTERNAL
              .withDescription("reading the online store failed: " + e.getMessage())
              .asRuntimeException());
      return;
    }
    response.onNext(result);
    response.onCompleted();
  }

  /** Serves one request into the response's wire form. */
  EncodedResponse encode(GetOnlineFeaturesRequest request) throws BadRequest, IOException {
    ServingCatalog cat = catalog.get();
    List<ServingCatalog.ServedFeature> features = resolve(request, cat);
    int rows = checkEntities(request);

    // Views to read and the join key columns each needs, in first-use order.
    Map<ViewId, List<Field>> views = new LinkedHashMap<>();
    for (ServingCatalog.ServedFeature f : features) {
      views.putIfAbsent(f.view(), f.joinKeys());
    }
    Set<String> needed = new LinkedHashSet<>();
    views.values().forEach(keys -> keys.forEach(k -> needed.add(k.getName())));
    for (String column : request.getEntitiesMap().keySet()) {
      if (!needed.contains(column)) {
        throw invalid(
            "entities['"
                + column
                + "']: not a join key of the requested features; they need "
                + String.join(", ", needed));
      }
    }
    Map<String, List<Object>> keyValues = new HashMap<>();
    for (List<Field> keys : views.values()) {
      for (Field k : keys) {
        if (!keyValues.containsKey(k.getName())) {
          keyValues.put(k.getName(), keyColumn(request, k, rows, views));
        }
      }
    }
    Set<String> names = new LinkedHashSet<>();
    for (ServingCatalog.ServedFeature f : features) {
      String name = request.getFullFeatureNames() ? f.fullName() : f.feature();
      if (!names.add(name)) {
        throw invalid(
            "two requested features are both named '"
                + name
                + "'; set full_feature_names to name columns view__feature");
      }
    }
    List<ViewId> viewIds = new ArrayList<>(views.keySet());
    List<List<byte[]>> encoded = new ArrayList<>();
    Map<List<Field>, List<byte[]>> byKeys = new HashMap<>();
    for (ViewId v : viewIds) {
      encoded.add(byKeys.computeIfAbsent(views.get(v), keys -> encodeKeys(keys, keyValues, rows)));
    }
    List<List<StoredRow>> stored = store.read(viewIds, encoded);
    Map<ViewId, Integer> viewIndex = new HashMap<>();
    List<byte[][]> timesByView = new ArrayList<>(viewIds.size());
    for (int i = 0; i < viewIds.size(); i++) {
      viewIndex.put(viewIds.get(i), i);
      List<StoredRow> viewRows = stored.get(i);
      byte[][] times = new byte[rows][];
      for (int r = 0; r < rows; r++) {
        StoredRow row = viewRows.get(r);
        times[r] =
            row == null
                ? ResponseEncoder.NO_TIMESTAMP
                : ResponseEncoder.timestamp(row.order().eventTimeMillis());
      }
      timesByView.add(times);
    }

    long nowMillis = clock.instant().toEpochMilli();
    ResponseEncoder out = new ResponseEncoder(rows);
    Iterator<String> columnNames = names.iterator();
    for (ServingCatalog.ServedFeature f : features) {
      ResponseEncoder.Column column = out.column(columnNames.next());
      int view = viewIndex.get(f.view());
      List<StoredRow> viewRows = stored.get(view);
      byte[][] times = timesByView.get(view);
      boolean aggregate = f.aggregation() != null;
      int id = aggregate ? -1 : store.featureId(f.view(), f.feature());
      List<Value> aggregates =
          aggregate
              ? store.aggregate(f.view(), f.aggregation(), encoded.get(view), nowMillis)
              : null;
      long ttl = f.ttl().toMillis();
      for (int r = 0; r < rows; r++) {
        StoredRow row = viewRows.get(r);
        if (row == null) {
          column.set(
              r,
              ResponseEncoder.UNSET_VALUE,
              FeatureStatus.NOT_FOUND,
              ResponseEncoder.NO_TIMESTAMP);
          continue;
        }
        byte[] eventTime = times[r];
        if (aggregate) {
          // Aggregations are bounded by their window, not by the view's TTL.
          Value v = aggregates.get(r);
          boolean isNull = v.getKindCase() == Value.KindCase.NULL_VALUE;
          column.set(
              r,
              v.toByteArray(),
              isNull ? FeatureStatus.NULL_VALUE : FeatureStatus.PRESENT,
              eventTime);
          continue;
        }
        if (ttl > 0 && nowMillis - row.order().eventTimeMillis() > ttl) {
          column.set(r, ResponseEncoder.UNSET_VALUE, FeatureStatus.OUTSIDE_MAX_AGE, eventTime);
          continue;
        }
        int at = id < 0 ? -1 : row.indexOf(id);
        if (at < 0 || isNull(row.bytes(), row.offset(at), row.length(at))) {
          column.set(r, ResponseEncoder.NULL_VALUE, FeatureStatus.NULL_VALUE, eventTime);
        } else {
          column.set(
              r, row.bytes(), row.offset(at), row.length(at), FeatureStatus.PRESENT, eventTime);
        }
      }
    }
    return new EncodedResponse(out.encode(cat.version()));
  }

  /**
   * Whether a serialized {@code Value} holds an explicit null (or nothing): its only field is
   * {@code null_value}, which no other kind shares.
   */
  private static boolean isNull(byte[] bytes, int offset, int length) {
    if (length == 0) {
      return true;
    }
    byte[] nul = ResponseEncoder.NULL_VALUE;
    // null_value is field 30: its tag takes two bytes, unlike every other kind of value.
    return length >= 2 && bytes[offset] == nul[0] && bytes[offset + 1] == nul[1];
  }

  private static List<ServingCatalog.ServedFeature> resolve(
      GetOnlineFeaturesRequest request, ServingCatalog cat) throws BadRequest {
    switch (request.getKindCase()) {
      case FEATURE_SERVICE -> {
        String name = request.getFeatureService();
        if (name.isEmpty()) {
          throw invalid("feature_service: empty name");
        }
        return cat.service(name)
            .orElseThrow(
                () ->
                    new BadRequest(
                        Status.NOT_FOUND.withDescription(
                            "feature_service: '"
                                + name
                                + "' does not exist in registry version "
                                + cat.version()
                                + "; feature services: "
                                + String.join(", ", cat.serviceNames()))));
      }
      case FEATURES -> {
        List<String> refs = request.getFeatures().getFeaturesList();
        if (refs.isEmpty()) {
          throw invalid("features: no feature references; give view:feature references");
        }
        List<ServingCatalog.ServedFeature> out = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (int i = 0; i < refs.size(); i++) {
          String ref = refs.get(i);
          if (!ref.matches("[A-Za-z_][A-Za-z0-9_]*(@[0-9]+)?:[A-Za-z_][A-Za-z0-9_]*")) {
            throw invalid(
                "features["
                    + i
                    + "]: '"
                    + ref
                    + "' is not a feature reference; expected view:feature");
          }
          if (!seen.add(ref)) {
            throw invalid("features[" + i + "]: '" + ref + "' is requested twice");
          }
          int index = i;
          out.add(
              cat.feature(ref)
                  .orElseThrow(
                      () ->
                          new BadRequest(
                              Status.NOT_FOUND.withDescription(
                                  "features["
                                      + index
                                      + "]: '"
                                      + ref
                                      + "' does not exist in registry version "
                                      + cat.version()))));
        }
        return out;
      }
      default ->
          throw invalid(
              "set either feature_service or features (a list of view:feature references)");
    }
  }

  private int checkEntities(GetOnlineFeaturesRequest request) throws BadRequest {
    Map<String, RepeatedValue> entities = request.getEntitiesMap();
    if (entities.isEmpty()) {
      throw invalid("entities: no entity key columns; give one column per join key");
    }
    int rows = -1;
    String first = null;
    for (Map.Entry<String, RepeatedValue> e :
        (entities.size() == 1 ? entities : new java.util.TreeMap<>(entities)).entrySet()) {
      int n = e.getValue().getValuesCount();
      if (rows < 0) {
        rows = n;
        first = e.getKey();
      } else if (n != rows) {
        throw invalid(
            "entities['"
                + e.getKey()
                + "']: has "
                + n
                + " values but entities['"
                + first
                + "'] has "
                + rows
                + "; every key column needs one value per entity row");
      }
    }
    if (rows == 0) {
      throw invalid("entities['" + first + "']: no values; give at least one entity row");
    }
    if (rows > maxEntities) {
      throw invalid(
          "entities: "
              + rows
              + " entity rows exceed the limit of "
              + maxEntities
              + " per request (quiver serve --max-entities)");
    }
    return rows;
  }

  private static List<Object> keyColumn(
      GetOnlineFeaturesRequest request, Field key, int rows, Map<ViewId, List<Field>> views)
      throws BadRequest {
    RepeatedValue column = request.getEntitiesMap().get(key.getName());
    if (column == null) {
      String users =
          views.entrySet().stream()
              .filter(e -> e.getValue().contains(key))
              .map(e -> e.getKey().name())
              .distinct()
              .reduce((a, b) -> a + ", " + b)
              .orElse("");
      throw invalid(
          "entities: missing join key column '"
              + key.getName()
              + "' (needed by feature view "
              + users
              + ")");
    }
    List<Object> out = new ArrayList<>(rows);
    ScalarType type = key.getType().getScalar();
    for (int i = 0; i < rows; i++) {
      Value v = column.getValues(i);
      String at = "entities['" + key.getName() + "'][" + i + "]";
      Object k =
          switch (type) {
            case SCALAR_TYPE_STRING -> v.hasStringValue() ? v.getStringValue() : null;
            case SCALAR_TYPE_BYTES -> v.hasBytesValue() ? v.getBytesValue() : null;
            case SCALAR_TYPE_INT32, SCALAR_TYPE_INT64 -> {
              if (v.hasInt32Value()) {
                yield (long) v.getInt32Value();
              }
              if (v.hasInt64Value()) {
                long l = v.getInt64Value();
                if (type == ScalarType.SCALAR_TYPE_INT32
                    && (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE)) {
                  throw invalid(
                      at
                          + ": "
                          + l
                          + " is out of range for int32 join key '"
                          + key.getName()
                          + "'");
                }
                yield l;
              }
              yield null;
            }
            default -> null;
          };
      if (k == null) {
        throw invalid(at + ": expected " + Types.format(key.getType()) + ", got " + describe(v));
      }
      out.add(k);
    }
    return out;
  }

  private static List<byte[]> encodeKeys(
      List<Field> keys, Map<String, List<Object>> values, int rows) {
    List<byte[]> out = new ArrayList<>(rows);
    for (int r = 0; r < rows; r++) {
      List<Object> key = new ArrayList<>(keys.size());
      for (Field k : keys) {
        key.add(values.get(k.getName()).get(r));
      }
      out.add(EntityKeyCodec.encode(key));
    }
    return out;
  }

  private static String describe(Value v) {
    return switch (v.getKindCase()) {
      case KIND_NOT_SET -> "no value";
      case NULL_VALUE -> "null";
      default -> v.getKindCase().name().toLowerCase(java.util.Locale.ROOT).replace("_value", "");
    };
  }
}
